/** base64url (RFC 4648 §5) without padding, for the opaque tokens the API hands out. ASCII text only. */
export const toBase64url = (text: string): string =>
  btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '')

/** The text, or a thrown DOMException when `encoded` is not base64url. */
export const fromBase64url = (encoded: string): string => atob(encoded.replace(/-/g, '+').replace(/_/g, '/'))
