const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const PORT = Number(process.env.PORT) || 3000;
const HOST = process.env.HOST || '127.0.0.1';
const DATA_DIR = process.env.DATA_DIR || '.';
const FILE = path.join(DATA_DIR, 'inventory.json');

function load() {
  try {
    return JSON.parse(fs.readFileSync(FILE, 'utf8'));
  } catch {
    return { nextId: 1, items: [] };
  }
}

function save(data) {
  fs.mkdirSync(DATA_DIR, { recursive: true });
  fs.writeFileSync(FILE + '.tmp', JSON.stringify(data, null, 2));
  fs.renameSync(FILE + '.tmp', FILE);
}

function escape(text) {
  return String(text).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
}

function page({ error = '', notice = '' } = {}) {
  const { items } = load();
  const rows = items.map((item) => `<tr${item.stock === 0 ? ' class="out"' : ''}>
  <td>${escape(item.name)}</td>
  <td class="stock">${item.stock}</td>
  <td><form method="post" action="/items/${item.id}/sell"><button type="submit">Sell</button></form></td>
</tr>`).join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stockroom inventory</title>
<style>
  body { font-family: system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; padding: 0 1rem; color: #212121; }
  table { width: 100%; border-collapse: collapse; margin-top: 1rem; }
  th, td { text-align: left; padding: .5rem; border-bottom: 1px solid #eee; }
  td.stock, th.stock { text-align: right; font-variant-numeric: tabular-nums; font-weight: 700; }
  tr.out td { color: #9e9e9e; }
  form.add { display: grid; grid-template-columns: 2fr 1fr auto; gap: .5rem; align-items: end; padding: 1rem; background: #f5f5f5; border-radius: .5rem; }
  label { display: grid; gap: .25rem; font-weight: 600; font-size: .9rem; }
  input { padding: .5rem; font: inherit; }
  button { padding: .45rem 1rem; font: inherit; font-weight: 600; background: #ef6c00; color: #fff; border: 0; border-radius: .4rem; cursor: pointer; }
  form.add button { background: #37474f; }
  td form { margin: 0; }
  .error { color: #b71c1c; background: #ffebee; padding: .6rem; border-radius: .4rem; }
  .notice { color: #1b5e20; background: #e8f5e9; padding: .6rem; border-radius: .4rem; }
</style>
</head>
<body>
<h1>Stockroom inventory</h1>
${error ? `<p class="error" role="alert">${escape(error)}</p>` : ''}
${notice ? `<p class="notice" role="status">${escape(notice)}</p>` : ''}
<form class="add" method="post" action="/items">
  <label>Item name <input name="name" required maxlength="100"></label>
  <label>In stock <input name="stock" type="number" min="0" step="1" required></label>
  <button type="submit">Add item</button>
</form>
${items.length ? `<table>
<thead><tr><th>Item</th><th class="stock">In stock</th><th><span hidden>Actions</span></th></tr></thead>
<tbody>
${rows}
</tbody>
</table>` : '<p>No items yet: add the first one above.</p>'}
</body>
</html>`;
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
      if (body.length > 10000) req.destroy();
    });
    req.on('end', () => resolve(Object.fromEntries(new URLSearchParams(body))));
    req.on('error', reject);
  });
}

function redirect(res, location) {
  res.writeHead(303, { Location: location });
  res.end();
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (req.method === 'GET' && url.pathname === '/') {
    const sold = url.searchParams.get('sold');
    return send(res, 200, page({ notice: sold ? `Sold one ${sold}.` : '' }));
  }
  if (req.method === 'POST' && url.pathname === '/items') {
    const form = await readForm(req);
    const name = (form.name || '').trim();
    const stock = Number(form.stock);
    if (!name || !Number.isInteger(stock) || stock < 0) {
      return send(res, 400, page({ error: 'Give the item a name and a stock count of 0 or more.' }));
    }
    const data = load();
    data.items.push({ id: data.nextId++, name, stock });
    save(data);
    return redirect(res, '/');
  }
  const sell = url.pathname.match(/^\/items\/(\d+)\/sell$/);
  if (req.method === 'POST' && sell) {
    const data = load();
    const item = data.items.find((i) => i.id === Number(sell[1]));
    if (!item) return send(res, 404, page({ error: 'That item is no longer in the inventory.' }));
    if (item.stock <= 0) return send(res, 409, page({ error: `${item.name} is out of stock: nothing left to sell.` }));
    item.stock -= 1;
    save(data);
    return redirect(res, `/?sold=${encodeURIComponent(item.name)}`);
  }
  if (url.pathname === '/favicon.ico') {
    res.writeHead(204);
    return res.end();
  }
  send(res, 404, '<!doctype html><title>Not found</title><p>Not found. <a href="/">Inventory</a></p>');
});

server.listen(PORT, HOST, () => console.log(`Inventory on http://${HOST}:${PORT}`));
