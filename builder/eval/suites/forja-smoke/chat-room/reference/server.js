const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');

const PORT = Number(process.env.PORT) || 3000;
const HOST = process.env.HOST || '127.0.0.1';
const DATA_DIR = process.env.DATA_DIR || '.';
const FILE = path.join(DATA_DIR, 'chat.json');
const PUBLIC = path.join(__dirname, 'public');
const TYPES = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8' };
const KEEP = 500; // the newest messages kept

function load() {
  try {
    return JSON.parse(fs.readFileSync(FILE, 'utf8'));
  } catch {
    return [];
  }
}

function save(messages) {
  fs.mkdirSync(DATA_DIR, { recursive: true });
  fs.writeFileSync(FILE + '.tmp', JSON.stringify(messages.slice(-KEEP), null, 2));
  fs.renameSync(FILE + '.tmp', FILE);
}

function json(res, status, value) {
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(JSON.stringify(value));
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
      if (body.length > 10000) req.destroy();
    });
    req.on('end', () => resolve(body));
    req.on('error', reject);
  });
}

const server = http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://localhost');
  if (url.pathname === '/api/messages' && req.method === 'GET') {
    const after = Number(url.searchParams.get('after')) || 0;
    return json(res, 200, load().filter((m) => m.id > after));
  }
  if (url.pathname === '/api/messages' && req.method === 'POST') {
    let data;
    try {
      data = JSON.parse(await readBody(req));
    } catch {
      return json(res, 400, { error: 'Send JSON: {"name": "...", "text": "..."}' });
    }
    const name = String(data.name || '').trim().slice(0, 40);
    const text = String(data.text || '').trim().slice(0, 1000);
    if (!name || !text) return json(res, 400, { error: 'A name and a message are needed.' });
    const messages = load();
    const message = { id: (messages.at(-1)?.id || 0) + 1, name, text, sentAt: new Date().toISOString() };
    messages.push(message);
    save(messages);
    return json(res, 201, message);
  }
  if (req.method === 'GET') {
    const file = url.pathname === '/' ? 'index.html' : url.pathname.slice(1);
    if (Object.hasOwn(TYPES, path.extname(file)) && !file.includes('..') && !file.includes('/')) {
      try {
        const body = fs.readFileSync(path.join(PUBLIC, file));
        res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] });
        return res.end(body);
      } catch {
        // not found below
      }
    }
  }
  if (url.pathname === '/favicon.ico') {
    res.writeHead(204);
    return res.end();
  }
  res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
  res.end('Not found');
});

server.listen(PORT, HOST, () => console.log(`Chat room on http://${HOST}:${PORT}`));
