// Prints a fresh VAPID key pair (RFC 8292): the public key as browsers take it for
// pushManager.subscribe({ applicationServerKey }), and the private key as the JWK the worker reads
// from its VAPID_PRIVATE_KEY secret. Nothing is written anywhere.
const { publicKey, privateKey } = await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
  'sign',
  'verify',
])
const raw = new Uint8Array(await crypto.subtle.exportKey('raw', publicKey))
const { kty, crv, x, y, d } = await crypto.subtle.exportKey('jwk', privateKey)

console.log(`Public key (applicationServerKey; GET /push/public-key serves it from the private key):
${Buffer.from(raw).toString('base64url')}

Private key: a secret. Deploy it with \`npx wrangler secret put VAPID_PRIVATE_KEY\` and paste this line,
or put it in .dev.vars as VAPID_PRIVATE_KEY='…' for npm run dev:
${JSON.stringify({ kty, crv, x, y, d })}

Also set VAPID_SUBJECT (a var) to a contact URI, e.g. mailto:ops@example.com.`)
