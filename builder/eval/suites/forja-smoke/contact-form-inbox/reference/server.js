const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const PORT = Number(process.env.PORT) || 3000;
const HOST = process.env.HOST || '127.0.0.1';
const DATA_DIR = process.env.DATA_DIR || '.';
const FILE = path.join(DATA_DIR, 'messages.json');

function load() {
  try {
    return JSON.parse(fs.readFileSync(FILE, 'utf8'));
  } catch {
    return [];
  }
}

function save(messages) {
  fs.mkdirSync(DATA_DIR, { recursive: true });
  fs.writeFileSync(FILE + '.tmp', JSON.stringify(messages, null, 2));
  fs.renameSync(FILE + '.tmp', FILE);
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

const STYLE = `
  body { font-family: system-ui, sans-serif; max-width: 36rem; margin: 2rem auto; padding: 0 1rem; color: #3e2723; background: #fffaf3; }
  nav a { margin-right: 1rem; color: #8d6e63; }
  form { display: grid; gap: .75rem; }
  label { display: grid; gap: .25rem; font-weight: 600; }
  input, textarea { padding: .5rem; font: inherit; border: 1px solid #d7ccc8; border-radius: .3rem; }
  textarea { min-height: 7rem; }
  button { justify-self: start; padding: .6rem 1.6rem; font: inherit; font-weight: 600; background: #8d6e63; color: #fff; border: 0; border-radius: .4rem; cursor: pointer; }
  .error { color: #b71c1c; }
  .thanks { font-size: 1.2rem; background: #f1f8e9; padding: 1rem; border-radius: .5rem; }
  article { border-bottom: 1px solid #e0d6cc; padding: .75rem 0; }
  article p { white-space: pre-wrap; margin: .25rem 0; }
  .meta { color: #8d6e63; font-size: .9rem; }
`;

function layout(title, body) {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(title)} | Crumb &amp; Crust Bakery</title>
<style>${STYLE}</style>
</head>
<body>
<nav><a href="/">Contact</a><a href="/messages">Messages</a></nav>
${body}
</body>
</html>`;
}

function contactPage(error = '', form = {}) {
  return layout('Contact us', `
<h1>Contact Crumb &amp; Crust</h1>
<p>Questions about an order, a cake for a party, or our opening hours? Write to us and we will answer by email.</p>
${error ? `<p class="error" role="alert">${escape(error)}</p>` : ''}
<form method="post" action="/contact">
  <label>Your name <input name="name" required autocomplete="name" value="${escape(form.name || '')}"></label>
  <label>Email <input type="email" name="email" required autocomplete="email" value="${escape(form.email || '')}"></label>
  <label>Message <textarea name="message" required>${escape(form.message || '')}</textarea></label>
  <button type="submit">Send</button>
</form>`);
}

function thanksPage() {
  return layout('Thank you', `
<h1>Message sent</h1>
<p class="thanks" role="status">Thank you for your message! We will get back to you by email soon.</p>
<p><a href="/">Send another message</a></p>`);
}

function inboxPage() {
  const messages = load().slice().reverse();
  const items = messages.length
    ? messages.map((m) => `<article>
  <div class="meta"><strong>${escape(m.name)}</strong> &lt;<a href="mailto:${escape(m.email)}">${escape(m.email)}</a>&gt; · ${escape(new Date(m.sentAt).toLocaleString('en-GB', { timeZone: 'UTC' }))} UTC</div>
  <p>${escape(m.message)}</p>
</article>`).join('\n')
    : '<p>No messages yet.</p>';
  return layout('Messages', `<h1>Messages (${messages.length})</h1>\n${items}`);
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
  if (req.method === 'GET' && url.pathname === '/') return send(res, 200, contactPage());
  if (req.method === 'GET' && url.pathname === '/thanks') return send(res, 200, thanksPage());
  if (req.method === 'GET' && url.pathname === '/messages') return send(res, 200, inboxPage());
  if (req.method === 'POST' && url.pathname === '/contact') {
    const form = await readForm(req);
    const name = (form.name || '').trim();
    const email = (form.email || '').trim();
    const message = (form.message || '').trim();
    if (!name || !/^[^\s@]+@[^\s@]+$/.test(email) || !message) {
      return send(res, 400, contactPage('Please give your name, a valid email address and a message.', form));
    }
    const messages = load();
    messages.push({ name, email, message, sentAt: new Date().toISOString() });
    save(messages);
    res.writeHead(303, { Location: '/thanks' });
    return res.end();
  }
  if (url.pathname === '/favicon.ico') {
    res.writeHead(204);
    return res.end();
  }
  send(res, 404, layout('Not found', '<h1>Page not found</h1>'));
});

server.listen(PORT, HOST, () => console.log(`Contact page on http://${HOST}:${PORT}`));
