// A tiny static file server for the demo: www/ at "/", the package's built
// dist/ at "/dist/" (an import map in www/index.html maps the bare specifier
// "pkce-wasm" to /dist/pkce-wasm.js, the module the package ships), and the
// demo's /config.json.
import http from 'node:http';
import fs from 'node:fs/promises';
import path from 'node:path';
import { listen, close } from './net.mjs';

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.svg': 'image/svg+xml',
  '.ico': 'image/x-icon',
};

/**
 * @param {object} o
 * @param {Record<string,string>} o.mounts URL prefix → directory
 * @param {() => object} [o.config] served as /config.json
 * @param {number} [o.port]
 * @param {(pathname: string) => Record<string, string>} [o.headers] extra response headers (tests: a CSP)
 * @param {Record<string, (req, res) => Promise<void>>} [o.routes] exact paths answered by a handler (the demo API)
 */
export async function startStatic({ mounts, config, port = 0, headers = () => ({}), routes = {} }) {
  const prefixes = Object.entries(mounts).sort((a, b) => b[0].length - a[0].length);
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url, 'http://x');
    res.setHeader('Cache-Control', 'no-store');
    if (url.pathname === '/config.json' && config) {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      return res.end(JSON.stringify(config()));
    }
    if (Object.hasOwn(routes, url.pathname)) return routes[url.pathname](req, res);
    let pathname = decodeURIComponent(url.pathname);
    if (pathname.endsWith('/')) pathname += 'index.html';
    const mount = prefixes.find(([prefix]) => pathname.startsWith(prefix));
    if (!mount) return notFound(res);
    const [prefix, dir] = mount;
    const file = path.resolve(dir, '.' + path.posix.normalize('/' + pathname.slice(prefix.length)));
    if (!file.startsWith(path.resolve(dir) + path.sep)) return notFound(res);
    try {
      const body = await fs.readFile(file);
      res.writeHead(200, { 'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream', ...headers(pathname) });
      res.end(body);
    } catch {
      notFound(res);
    }
  });
  const actualPort = await listen(server, port);
  return { origin: `http://127.0.0.1:${actualPort}`, server, close: () => close(server) };
}

function notFound(res) {
  res.writeHead(404, { 'Content-Type': 'text/plain' });
  res.end('not found');
}
