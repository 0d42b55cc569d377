// Serves the browser example on http://127.0.0.1:8080 (Node 20+, no
// dependencies): index.html, the official Socket.IO client from
// test/js/node_modules, and /v1/* passed through to the gateway, so the
// page's HTTP calls are same-origin (the page connects Socket.IO to the
// gateway itself; make run allows any origin there).
//
//   node examples/browser/serve.mjs           # gateway http://127.0.0.1:3000
//   GATEWAY=http://127.0.0.1:3001 PORT=8081 node examples/browser/serve.mjs
import http from 'node:http';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const here = path.dirname(fileURLToPath(import.meta.url));
const gateway = (process.env.GATEWAY || 'http://127.0.0.1:3000').replace(/\/$/, '');
const port = Number(process.env.PORT || 8080);
const client = [
  path.join(here, 'socket.io.min.js'),
  path.join(here, '../../test/js/node_modules/socket.io-client/dist/socket.io.min.js'),
];

async function firstFile(files) {
  for (const f of files) {
    try { return await readFile(f); } catch { /* next */ }
  }
  return null;
}

http.createServer(async (req, res) => {
  const url = new URL(req.url, 'http://x');
  try {
    if (url.pathname === '/' || url.pathname === '/index.html') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(await readFile(path.join(here, 'index.html')));
    } else if (url.pathname === '/gateway.json') {
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ url: gateway }));
    } else if (url.pathname === '/socket.io.min.js') {
      const js = await firstFile(client);
      if (!js) return res.writeHead(404).end('no local client: run `make js-deps`; the page falls back to the CDN');
      res.writeHead(200, { 'Content-Type': 'text/javascript' }).end(js);
    } else if (url.pathname.startsWith('/v1/')) {
      const body = await new Promise((resolve) => { const c = []; req.on('data', (d) => c.push(d)); req.on('end', () => resolve(Buffer.concat(c))); });
      const headers = {};
      for (const h of ['content-type', 'authorization', 'x-session-token']) if (req.headers[h]) headers[h] = req.headers[h];
      const up = await fetch(gateway + url.pathname + url.search, {
        method: req.method, headers, body: ['GET', 'HEAD'].includes(req.method) ? undefined : body,
        signal: AbortSignal.timeout(10000),
      });
      res.writeHead(up.status, { 'Content-Type': up.headers.get('content-type') || 'application/json' }).end(Buffer.from(await up.arrayBuffer()));
    } else {
      res.writeHead(404).end();
    }
  } catch (err) {
    res.writeHead(502, { 'Content-Type': 'application/json' })
      .end(JSON.stringify({ error: { code: 'GATEWAY_UNREACHABLE', message: `${gateway}: ${err.cause?.code || err.message}` } }));
  }
}).listen(port, '127.0.0.1', () => console.log(`browser example on http://127.0.0.1:${port}/ (gateway ${gateway})`));
