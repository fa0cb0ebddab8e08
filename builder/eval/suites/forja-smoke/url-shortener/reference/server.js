const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const PORT = Number(process.env.PORT) || 3000;
const HOST = process.env.HOST || '127.0.0.1';
const DATA_DIR = process.env.DATA_DIR || '.';
const FILE = path.join(DATA_DIR, 'links.json');
const RESERVED = new Set(['about', 'shorten', 'favicon.ico']);

function load() {
  try {
    return JSON.parse(fs.readFileSync(FILE, 'utf8'));
  } catch {
    return [];
  }
}

function save(links) {
  fs.mkdirSync(DATA_DIR, { recursive: true });
  fs.writeFileSync(FILE + '.tmp', JSON.stringify(links, null, 2));
  fs.renameSync(FILE + '.tmp', FILE);
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

function layout(title, body) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)}</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 44rem; margin: 2rem auto; padding: 0 1rem; color: #1a1a2e; }
  form { display: grid; grid-template-columns: 2fr 1fr auto; gap: .5rem; align-items: end; }
  label { display: grid; gap: .25rem; font-weight: 600; font-size: .9rem; }
  input { padding: .5rem; font: inherit; }
  button { padding: .55rem 1.2rem; font: inherit; font-weight: 600; background: #3f51b5; color: #fff; border: 0; border-radius: .4rem; cursor: pointer; }
  .error { color: #b71c1c; }
  .made { background: #e8eaf6; padding: .75rem; border-radius: .4rem; }
  table { width: 100%; border-collapse: collapse; margin-top: 1rem; }
  th, td { text-align: left; padding: .5rem; border-bottom: 1px solid #eee; word-break: break-all; }
</style>
</head>
<body>
${body}
</body>
</html>`;
}

function homePage(host, { error = '', made = '', form = {} } = {}) {
  const links = load().slice().reverse();
  const short = (name) => `http://${host}/${name}`;
  const rows = links.map((l) => `<tr><td><a href="/${escape(l.name)}">${escape(short(l.name))}</a></td><td>${escape(l.target)}</td></tr>`).join('\n');
  return layout('Link shortener', `
<h1>Link shortener</h1>
<p>Paste a long address, choose a short name, and share the short link. <a href="/about">About</a></p>
${error ? `<p class="error" role="alert">${escape(error)}</p>` : ''}
${made ? `<p class="made" role="status">Your short link: <a href="/${escape(made)}">${escape(short(made))}</a></p>` : ''}
<form method="post" action="/shorten">
  <label>Long address <input name="target" required placeholder="https://example.com/a/very/long/page" value="${escape(form.target || '')}"></label>
  <label>Short name <input name="name" required pattern="[A-Za-z0-9_\\-]+" placeholder="menu" value="${escape(form.name || '')}"></label>
  <button type="submit">Shorten</button>
</form>
<h2>Short links</h2>
${links.length ? `<table><thead><tr><th>Short link</th><th>Goes to</th></tr></thead><tbody>\n${rows}\n</tbody></table>` : '<p>No short links yet.</p>'}
`);
}

function aboutPage() {
  return layout('About', `<h1>About</h1><p>A small link shortener: short names for long addresses.</p><p><a href="/">Back to the links</a></p>`);
}

function send(res, status, body) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8' });
  res.end(body);
}

function readForm(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
      if (body.length > 20000) req.destroy();
    });
    req.on('end', () => resolve(Object.fromEntries(new URLSearchParams(body))));
    req.on('error', reject);
  });
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  const host = req.headers.host || `localhost:${PORT}`;
  if (req.method === 'GET' && url.pathname === '/') {
    return send(res, 200, homePage(host, { made: url.searchParams.get('made') || '' }));
  }
  if (req.method === 'GET' && url.pathname === '/about') return send(res, 200, aboutPage());
  if (req.method === 'POST' && url.pathname === '/shorten') {
    const form = await readForm(req);
    const target = (form.target || '').trim();
    const name = (form.name || '').trim();
    if (!/^(https?:\/\/[^\s]+|\/[^\s]*)$/i.test(target)) {
      return send(res, 400, homePage(host, { error: 'The long address must start with http://, https:// or / (a page of this site).', form }));
    }
    if (!/^[A-Za-z0-9_-]{1,40}$/.test(name) || RESERVED.has(name.toLowerCase())) {
      return send(res, 400, homePage(host, { error: 'Choose a short name of letters, digits, - or _ (not "about").', form }));
    }
    const links = load();
    if (links.some((l) => l.name.toLowerCase() === name.toLowerCase())) {
      return send(res, 409, homePage(host, { error: `The short name "${name}" is already used; choose another.`, form }));
    }
    links.push({ name, target, createdAt: new Date().toISOString() });
    save(links);
    res.writeHead(303, { Location: `/?made=${encodeURIComponent(name)}` });
    return res.end();
  }
  if (url.pathname === '/favicon.ico') {
    res.writeHead(204);
    return res.end();
  }
  if (req.method === 'GET') {
    const name = decodeURIComponent(url.pathname.slice(1));
    const link = load().find((l) => l.name.toLowerCase() === name.toLowerCase());
    if (link) {
      res.writeHead(302, { Location: link.target });
      return res.end();
    }
  }
  send(res, 404, layout('Not found', '<h1>No such short link</h1><p><a href="/">Back to the links</a></p>'));
});

server.listen(PORT, HOST, () => console.log(`Link shortener on http://${HOST}:${PORT}`));
