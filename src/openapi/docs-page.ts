/**
 * GET /docs: a small reference that renders /openapi.json (operations, parameters, schemas,
 * problem types) and sends requests with a bearer token ("Try it"). Everything it loads comes from
 * this worker, and its Content-Security-Policy allows nothing else. The script builds the page with
 * DOM calls and textContent only (no innerHTML), so a response body can never become markup, and
 * Trusted Types are enforced to keep it that way.
 */

export const DOCS_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join('; ')

export const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>Tasks API reference</title>
<link rel="stylesheet" href="/docs/app.css">
<script src="/docs/app.js" defer></script>
</head>
<body>
<header>
  <h1>Tasks API <span id="version"></span></h1>
  <label>Bearer token <input id="token" type="password" autocomplete="off" spellcheck="false" placeholder="eyJhbGciOi…"></label>
  <span class="hint">Kept in this tab only. Sent only by "Send" on routes that need it.</span>
</header>
<div id="layout">
  <nav id="nav" aria-label="Operations"></nav>
  <main id="main"><p id="status">Loading /openapi.json…</p><noscript>This reference needs JavaScript. The document itself is at <a href="/openapi.json">/openapi.json</a>.</noscript></main>
</div>
</body>
</html>
`

export const DOCS_CSS = `
:root { color-scheme: light dark; --line: #8884; --muted: #888; --accent: #2563eb; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, sans-serif; }
header { position: sticky; top: 0; z-index: 1; display: flex; flex-wrap: wrap; gap: .5rem 1.5rem; align-items: center;
  padding: .6rem 1rem; border-bottom: 1px solid var(--line); background: Canvas; }
header h1 { font-size: 1.15rem; margin: 0; }
header input { width: min(28rem, 60vw); font: inherit; padding: .2rem .4rem; }
.hint, .muted { color: var(--muted); font-size: .85rem; }
#layout { display: grid; grid-template-columns: 17rem 1fr; }
nav { position: sticky; top: 3.2rem; align-self: start; max-height: calc(100vh - 3.2rem); overflow: auto; padding: 1rem;
  border-right: 1px solid var(--line); font-size: .9rem; }
nav h2 { font-size: .8rem; text-transform: uppercase; letter-spacing: .05em; color: var(--muted); margin: 1rem 0 .3rem; }
nav a { display: block; padding: .1rem 0; text-decoration: none; color: inherit; white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
nav a:hover { color: var(--accent); }
main { padding: 1rem 2rem 4rem; min-width: 0; }
section.op { scroll-margin-top: 3.5rem; border-top: 1px solid var(--line); padding: 1rem 0 1.5rem; }
section.op h2 { font-size: 1.1rem; margin: 0 0 .3rem; font-family: ui-monospace, monospace; }
.method { display: inline-block; min-width: 4.2rem; font: 600 .75rem ui-monospace, monospace; text-transform: uppercase;
  padding: .1rem .35rem; border-radius: .25rem; margin-right: .4rem; text-align: center; color: #fff; background: #6b7280; }
.method.get { background: #2563eb; } .method.post { background: #16a34a; } .method.put { background: #b45309; }
.method.patch { background: #7c3aed; } .method.delete { background: #dc2626; }
.lock { font-size: .8rem; padding: .05rem .4rem; border: 1px solid var(--line); border-radius: 1rem; margin-left: .4rem; }
h3 { font-size: .95rem; margin: 1rem 0 .3rem; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; vertical-align: top; padding: .25rem .5rem; border-bottom: 1px solid var(--line); }
code, pre, .mono { font-family: ui-monospace, monospace; font-size: .85rem; }
pre { background: #8881; padding: .6rem; overflow: auto; max-height: 28rem; white-space: pre-wrap; word-break: break-word; }
ul.schema { list-style: none; margin: .2rem 0; padding-left: 1rem; border-left: 1px solid var(--line); }
ul.schema li { margin: .15rem 0; }
.name { font-weight: 600; font-family: ui-monospace, monospace; }
.type { color: var(--accent); font-family: ui-monospace, monospace; font-size: .85rem; }
.req { color: #dc2626; font-size: .75rem; margin-left: .3rem; }
details { margin: .3rem 0; } summary { cursor: pointer; }
form.try { display: grid; gap: .4rem; max-width: 48rem; }
form.try label { display: grid; grid-template-columns: 12rem 1fr; gap: .5rem; align-items: center; }
form.try input, form.try textarea { font: inherit; font-family: ui-monospace, monospace; padding: .2rem .4rem; width: 100%; }
form.try textarea { min-height: 9rem; }
button { font: inherit; padding: .25rem .9rem; cursor: pointer; }
.status-ok { color: #16a34a; font-weight: 600; } .status-err { color: #dc2626; font-weight: 600; }
@media (max-width: 800px) { #layout { grid-template-columns: 1fr; } nav { position: static; max-height: none; border-right: 0; } }
`

// Plain ES2020 for any current browser. No template literals: this file is itself one.
export const DOCS_JS = `
'use strict';
(function () {
  var doc;
  var tokenInput = document.getElementById('token');
  tokenInput.value = sessionStorage.getItem('tasks-api-token') || '';
  tokenInput.addEventListener('input', function () { sessionStorage.setItem('tasks-api-token', tokenInput.value.trim()); });

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === 'text') node.textContent = attrs[k];
      else if (k === 'class') node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c != null) node.append(c); });
    return node;
  }

  // Descriptions use Markdown's code spans and nothing else: shown as text, with <code> around those.
  function prose(tag, text, cls) {
    var node = el(tag, cls ? { class: cls } : {});
    String(text).split('\x60').forEach(function (part, i) { node.append(i % 2 ? el('code', { text: part }) : part); });
    return node;
  }

  function resolve(schema) {
    var seen = 0;
    while (schema && schema.$ref && seen++ < 20) {
      var name = schema.$ref.replace('#/components/schemas/', '');
      schema = doc.components.schemas[name];
    }
    return schema || {};
  }

  function refName(schema) { return schema && schema.$ref ? schema.$ref.split('/').pop() : null; }

  function typeLabel(schema) {
    if (!schema) return 'any';
    if (schema.$ref) return refName(schema);
    if (schema.enum) return schema.enum.map(function (v) { return JSON.stringify(v); }).join(' | ');
    if (schema.const !== undefined) return JSON.stringify(schema.const);
    var alts = schema.anyOf || schema.oneOf;
    if (alts) return alts.map(typeLabel).join(' | ');
    var type = Array.isArray(schema.type) ? schema.type.join(' | ') : schema.type || 'any';
    if (type === 'array') return typeLabel(schema.items) + '[]';
    return type + (schema.format ? ' (' + schema.format + ')' : '');
  }

  function constraints(schema) {
    var parts = [];
    if (schema.minLength !== undefined || schema.maxLength !== undefined) {
      parts.push((schema.minLength || 0) + ' to ' + (schema.maxLength !== undefined ? schema.maxLength : '∞') + ' characters');
    }
    if (schema.maxItems !== undefined) parts.push('at most ' + schema.maxItems + ' items');
    if (schema.minimum !== undefined) parts.push('≥ ' + schema.minimum);
    if (schema.maximum !== undefined) parts.push('≤ ' + schema.maximum);
    if (schema.pattern) parts.push('pattern ' + schema.pattern);
    if (schema.default !== undefined) parts.push('default ' + JSON.stringify(schema.default));
    if (schema.additionalProperties === false) parts.push('no other fields');
    return parts.join('; ');
  }

  function renderSchema(schema, depth) {
    var named = refName(schema);
    var s = resolve(schema);
    var wrap = el('div');
    if (named && depth > 0) {
      wrap.append(el('a', { href: '#schema-' + named, class: 'type', text: named }));
      return wrap;
    }
    if (s.description) wrap.append(prose('div', s.description, 'muted'));
    var c = constraints(s);
    if (s.type === 'object' || s.properties) {
      var required = s.required || [];
      var list = el('ul', { class: 'schema' });
      Object.keys(s.properties || {}).forEach(function (name) {
        var p = s.properties[name];
        var rp = resolve(p);
        var item = el('li', {}, [
          el('span', { class: 'name', text: name }), ' ',
          el('span', { class: 'type', text: typeLabel(p) }),
          required.indexOf(name) >= 0 ? el('span', { class: 'req', text: 'required' }) : null,
          constraints(rp) ? el('span', { class: 'muted', text: ' — ' + constraints(rp) }) : null,
          rp.description && !refName(p) ? prose('div', rp.description, 'muted') : null,
        ]);
        var nested = rp.type === 'array' ? rp.items : p;
        if (hasFields(nested) && depth < 4) item.append(renderSchema(nested, depth + 1));
        list.append(item);
      });
      if (c) wrap.append(el('div', { class: 'muted', text: c }));
      wrap.append(list);
    } else if (s.anyOf || s.oneOf) {
      wrap.append(el('div', { class: 'muted', text: 'one of:' }));
      (s.anyOf || s.oneOf).forEach(function (alt) { wrap.append(renderSchema(alt, depth + 1)); });
    } else {
      wrap.append(el('span', { class: 'type', text: typeLabel(s) }));
      if (c) wrap.append(el('span', { class: 'muted', text: ' — ' + c }));
    }
    return wrap;
  }

  function hasFields(schema) {
    var s = resolve(schema);
    return Boolean(schema && (schema.$ref || s.properties || (s.anyOf || s.oneOf || []).some(hasFields)));
  }

  function example(schema, depth) {
    var s = resolve(schema);
    if (depth > 5) return null;
    if (s.default !== undefined) return s.default;
    if (s.const !== undefined) return s.const;
    if (s.enum) return s.enum[0];
    var alts = s.anyOf || s.oneOf;
    if (alts) return example(alts[0], depth + 1);
    var type = Array.isArray(s.type) ? s.type[0] : s.type;
    if (type === 'object' || s.properties) {
      var out = {};
      Object.keys(s.properties || {}).forEach(function (k) { out[k] = example(s.properties[k], depth + 1); });
      return out;
    }
    if (type === 'array') return [];
    if (type === 'boolean') return false;
    if (type === 'integer' || type === 'number') return 0;
    if (type === 'null') return null;
    if (s.format === 'date-time') return new Date(Date.now() + 86400000).toISOString();
    return 'Example';
  }

  function paramsTable(params) {
    var body = el('tbody');
    params.forEach(function (p) {
      body.append(el('tr', {}, [
        el('td', {}, [el('span', { class: 'name', text: p.name }), p.required ? el('span', { class: 'req', text: 'required' }) : null]),
        el('td', { text: p.in }),
        el('td', {}, [el('span', { class: 'type', text: typeLabel(p.schema) }), constraints(p.schema || {}) ? el('div', { class: 'muted', text: constraints(p.schema) }) : null]),
        prose('td', p.description || ''),
      ]));
    });
    return el('table', {}, [el('thead', {}, [el('tr', {}, ['name', 'in', 'type', 'description'].map(function (h) { return el('th', { text: h }); }))]), body]);
  }

  function responsesBlock(responses) {
    var wrap = el('div');
    Object.keys(responses).forEach(function (status) {
      var r = responses[status];
      var d = el('details', {}, [el('summary', {}, [el('span', { class: 'name', text: status }), ' ', prose('span', r.description)])]);
      var headers = Object.keys(r.headers || {});
      if (headers.length) d.append(el('div', { class: 'muted', text: 'Headers: ' + headers.join(', ') }));
      Object.keys(r.content || {}).forEach(function (type) {
        var media = r.content[type];
        d.append(el('div', { class: 'mono', text: type }));
        if (media.schema) d.append(renderSchema(media.schema, 0));
        Object.keys(media.examples || {}).forEach(function (name) {
          d.append(el('div', { class: 'muted' }, [el('a', { href: '#problem-' + name, text: '/problems/' + name })]));
        });
      });
      wrap.append(d);
    });
    return wrap;
  }

  function shellQuote(s) { return "'" + String(s).replace(/'/g, "'\\\\''") + "'"; }

  function tryIt(path, method, op) {
    var params = op.parameters || [];
    var form = el('form', { class: 'try' });
    var inputs = params.map(function (p) {
      var input = el('input', { name: p.name, placeholder: typeLabel(p.schema), spellcheck: 'false' });
      form.append(el('label', {}, [el('span', {}, [el('span', { class: 'mono', text: p.name }), el('span', { class: 'muted', text: ' (' + p.in + ')' })]), input]));
      return { param: p, input: input };
    });
    var body = null;
    var media = op.requestBody && op.requestBody.content['application/json'];
    if (media) {
      body = el('textarea', { spellcheck: 'false', 'aria-label': 'Request body (JSON)' });
      body.value = JSON.stringify(example(media.schema, 0), null, 2);
      form.append(el('label', {}, [el('span', { class: 'mono', text: 'body (JSON)' }), body]));
    }
    var send = el('button', { type: 'submit', text: 'Send' });
    var curl = el('button', { type: 'button', text: 'Show curl' });
    form.append(el('div', {}, [send, ' ', curl]));
    var out = el('div', { 'aria-live': 'polite' });
    var secured = (op.security || doc.security || []).length > 0;

    function build() {
      var url = path;
      var query = new URLSearchParams();
      var headers = {};
      inputs.forEach(function (i) {
        var v = i.input.value;
        if (i.param.in === 'path') url = url.replace('{' + i.param.name + '}', encodeURIComponent(v));
        else if (v === '') return;
        else if (i.param.in === 'query') query.append(i.param.name, v);
        else if (i.param.in === 'header') headers[i.param.name] = v;
      });
      var qs = query.toString();
      if (qs) url += '?' + qs;
      if (body) headers['Content-Type'] = 'application/json';
      return { url: url, headers: headers, body: body ? body.value : undefined };
    }

    curl.addEventListener('click', function () {
      var r = build();
      var parts = ['curl -i -X ' + method.toUpperCase() + ' ' + shellQuote(location.origin + r.url)];
      if (secured) parts.push('-H "Authorization: Bearer $TOKEN"');
      Object.keys(r.headers).forEach(function (h) { parts.push('-H ' + shellQuote(h + ': ' + r.headers[h])); });
      if (r.body !== undefined) parts.push('--data ' + shellQuote(r.body));
      out.replaceChildren(el('pre', { text: parts.join(' \\\\\\n  ') }));
    });

    form.addEventListener('submit', function (event) {
      event.preventDefault();
      var r = build();
      var headers = new Headers(r.headers);
      var token = tokenInput.value.trim();
      if (secured && token) headers.set('Authorization', 'Bearer ' + token);
      send.disabled = true;
      out.replaceChildren(el('p', { class: 'muted', text: 'Sending…' }));
      var started = performance.now();
      fetch(r.url, { method: method.toUpperCase(), headers: headers, body: r.body, credentials: 'omit', cache: 'no-store' })
        .then(function (res) {
          return res.text().then(function (text) {
            var shown = text;
            try { shown = JSON.stringify(JSON.parse(text), null, 2); } catch (e) { /* not JSON: shown as it is */ }
            var lines = [];
            res.headers.forEach(function (v, k) { lines.push(k + ': ' + v); });
            out.replaceChildren(
              el('p', {}, [el('span', { class: res.ok ? 'status-ok' : 'status-err', text: res.status + ' ' + res.statusText }),
                el('span', { class: 'muted', text: ' in ' + Math.round(performance.now() - started) + ' ms' })]),
              el('details', {}, [el('summary', { text: 'Response headers' }), el('pre', { text: lines.join('\\n') })]),
              shown ? el('pre', { text: shown }) : el('p', { class: 'muted', text: '(no body)' })
            );
          });
        })
        .catch(function (error) { out.replaceChildren(el('p', { class: 'status-err', text: String(error) })); })
        .finally(function () { send.disabled = false; });
    });
    return el('div', {}, [form, out]);
  }

  function render() {
    document.getElementById('version').textContent = doc.info.version;
    document.title = doc.info.title + ' reference';
    var nav = document.getElementById('nav');
    var main = document.getElementById('main');
    main.replaceChildren();
    main.append(el('section', {}, doc.info.description.split('\\n\\n').map(function (p) { return prose('p', p.replace(/\\n/g, ' ')); })));
    var byTag = {};
    Object.keys(doc.paths).forEach(function (path) {
      Object.keys(doc.paths[path]).forEach(function (method) {
        var op = doc.paths[path][method];
        var tag = (op.tags || ['Other'])[0];
        (byTag[tag] = byTag[tag] || []).push({ path: path, method: method, op: op });
      });
    });
    doc.tags.map(function (t) { return t.name; }).forEach(function (tag) {
      var ops = byTag[tag] || [];
      if (!ops.length) return;
      nav.append(el('h2', { text: tag }));
      main.append(el('h2', { text: tag }));
      ops.forEach(function (o) {
        var op = o.op;
        nav.append(el('a', { href: '#' + op.operationId, title: op.summary }, [el('span', { class: 'method ' + o.method, text: o.method }), o.path]));
        var secured = (op.security || []).length > 0;
        var section = el('section', { class: 'op', id: op.operationId }, [
          el('h2', {}, [el('span', { class: 'method ' + o.method, text: o.method }), o.path,
            el('span', { class: 'lock', text: secured ? 'bearer token' : 'public' })]),
          el('p', { text: op.summary }),
          op.description ? prose('p', op.description, 'muted') : null,
        ]);
        if (op.parameters && op.parameters.length) section.append(el('h3', { text: 'Parameters' }), paramsTable(op.parameters));
        var media = op.requestBody && op.requestBody.content['application/json'];
        if (media) section.append(el('h3', { text: 'Request body (application/json)' }), renderSchema(media.schema, 0));
        section.append(el('h3', { text: 'Responses' }), responsesBlock(op.responses));
        section.append(el('details', {}, [el('summary', { text: 'Try it' }), tryIt(o.path, o.method, op)]));
        main.append(section);
      });
    });

    nav.append(el('h2', { text: 'Schemas' }));
    main.append(el('h2', { text: 'Schemas' }));
    Object.keys(doc.components.schemas).forEach(function (name) {
      nav.append(el('a', { href: '#schema-' + name, text: name }));
      main.append(el('section', { class: 'op', id: 'schema-' + name }, [el('h2', { text: name }), renderSchema(doc.components.schemas[name], 0)]));
    });

    nav.append(el('a', { href: '#problem-types', text: 'Problem types' }));
    var rows = el('tbody');
    (doc['x-problem-types'] || []).forEach(function (p) {
      rows.append(el('tr', { id: 'problem-' + p.type.replace('/problems/', '') }, [
        el('td', { class: 'mono', text: String(p.status) }), el('td', { class: 'mono', text: p.type }), el('td', { text: p.title }), prose('td', p.description),
      ]));
    });
    main.append(el('section', { class: 'op', id: 'problem-types' }, [
      el('h2', { text: 'Problem types' }),
      el('p', { class: 'muted', text: 'Every error is application/problem+json (RFC 9457) with one of these types.' }),
      el('table', {}, [el('thead', {}, [el('tr', {}, ['status', 'type', 'title', 'when'].map(function (h) { return el('th', { text: h }); }))]), rows]),
    ]));
    if (location.hash) { var target = document.getElementById(location.hash.slice(1)); if (target) target.scrollIntoView(); }
  }

  fetch('/openapi.json', { credentials: 'omit' })
    .then(function (res) { if (!res.ok) throw new Error('GET /openapi.json answered ' + res.status); return res.json(); })
    .then(function (json) { doc = json; render(); })
    .catch(function (error) { document.getElementById('status').textContent = 'Could not load the API document: ' + error.message; });
})();
`
