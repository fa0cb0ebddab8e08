const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const PORT = Number(process.env.PORT) || 3000;
const HOST = process.env.HOST || '127.0.0.1';
const DATA_DIR = process.env.DATA_DIR || '.';
const FILE = path.join(DATA_DIR, 'bookings.json');

function load() {
  try {
    return JSON.parse(fs.readFileSync(FILE, 'utf8'));
  } catch {
    return [];
  }
}

function save(bookings) {
  fs.mkdirSync(DATA_DIR, { recursive: true });
  fs.writeFileSync(FILE + '.tmp', JSON.stringify(bookings, null, 2));
  fs.renameSync(FILE + '.tmp', FILE);
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

function niceDate(iso) {
  const date = new Date(iso + 'T12:00:00Z');
  if (Number.isNaN(date.getTime())) return iso;
  return date.toLocaleDateString('en-GB', { weekday: 'short', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'UTC' });
}

function page({ error = '', notice = '', form = {} } = {}) {
  const bookings = load().sort((a, b) => (a.date + a.time).localeCompare(b.date + b.time));
  const rows = bookings.length
    ? bookings.map((b) => `<li><strong>${escape(niceDate(b.date))}, ${escape(b.time)}</strong> <span>${escape(b.name)}</span></li>`).join('\n')
    : '<li class="empty">No bookings yet.</li>';
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sharp &amp; Co. Barbers: book a cut</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 36rem; margin: 2rem auto; padding: 0 1rem; color: #222; }
  h1 { margin-bottom: .25rem; }
  .pole { display: inline-block; width: .8rem; height: 1.6rem; border-radius: .4rem; vertical-align: middle; margin-right: .5rem;
          background: repeating-linear-gradient(135deg, #c62828 0 6px, #fff 6px 12px, #1565c0 12px 18px, #fff 18px 24px); border: 1px solid #999; }
  form { display: grid; gap: .75rem; padding: 1rem; border: 1px solid #ddd; border-radius: .5rem; background: #fafafa; }
  label { display: grid; gap: .25rem; font-weight: 600; }
  input { padding: .5rem; font: inherit; }
  button { padding: .6rem; font: inherit; font-weight: 600; background: #1565c0; color: #fff; border: 0; border-radius: .4rem; cursor: pointer; }
  .error { color: #b71c1c; background: #ffebee; padding: .75rem; border-radius: .4rem; }
  .notice { color: #1b5e20; background: #e8f5e9; padding: .75rem; border-radius: .4rem; }
  ul { padding: 0; list-style: none; }
  li { padding: .5rem 0; border-bottom: 1px solid #eee; display: flex; gap: 1rem; }
  li.empty { color: #777; }
</style>
</head>
<body>
<h1><span class="pole" aria-hidden="true"></span>Sharp &amp; Co. Barbers</h1>
<p>Book your haircut: choose a date and a time.</p>
${error ? `<p class="error" role="alert">${escape(error)}</p>` : ''}
${notice ? `<p class="notice" role="status">${escape(notice)}</p>` : ''}
<form method="post" action="/book">
  <label>Your name <input name="name" required autocomplete="name" value="${escape(form.name || '')}"></label>
  <label>Date <input type="date" name="date" required value="${escape(form.date || '')}"></label>
  <label>Time <input type="time" name="time" required value="${escape(form.time || '')}"></label>
  <button type="submit">Book</button>
</form>
<h2>Bookings</h2>
<ul>
${rows}
</ul>
</body>
</html>`;
}

function send(res, status, body, headers = {}) {
  res.writeHead(status, { 'Content-Type': 'text/html; charset=utf-8', ...headers });
  res.end(body);
}

function readForm(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
      if (body.length > 10000) req.destroy();
    });
    req.on('end', () => resolve(Object.fromEntries(new URLSearchParams(body))));
    req.on('error', reject);
  });
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/') {
    const notice = url.searchParams.get('booked') ? 'Thank you, your booking is confirmed.' : '';
    return send(res, 200, page({ notice }));
  }
  if (req.method === 'POST' && url.pathname === '/book') {
    const form = await readForm(req);
    const name = (form.name || '').trim();
    const date = (form.date || '').trim();
    const time = (form.time || '').trim();
    if (!name || !/^\d{4}-\d{2}-\d{2}$/.test(date) || !/^\d{2}:\d{2}$/.test(time)) {
      return send(res, 400, page({ error: 'Please give your name, a date and a time.', form }));
    }
    const bookings = load();
    if (bookings.some((b) => b.date === date && b.time === time)) {
      return send(res, 409, page({ error: `Sorry, ${time} on ${niceDate(date)} is already taken. Please pick another time.`, form }));
    }
    bookings.push({ name, date, time, createdAt: new Date().toISOString() });
    save(bookings);
    res.writeHead(303, { Location: '/?booked=1' });
    return res.end();
  }
  if (url.pathname === '/favicon.ico') {
    res.writeHead(204);
    return res.end();
  }
  send(res, 404, '<!doctype html><title>Not found</title><p>Page not found. <a href="/">Back to bookings</a></p>');
});

server.listen(PORT, HOST, () => console.log(`Booking page on http://${HOST}:${PORT}`));
