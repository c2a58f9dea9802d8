// Size report (`npm run size`): what the SDK ships to a browser, raw / gzip -9 /
// brotli. It reports; it does not assert (the budget is tracked in the README).
import fs from 'node:fs';
import zlib from 'node:zlib';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const files = [
  ['wasm', 'pkg/pkce_wasm_bg.wasm'],
  ['wasm-bindgen glue', 'pkg/pkce_wasm.js'],
  ['wrapper', 'js/index.js'],
];

// The JS is measured minified the way a bundler would ship it, when esbuild is
// installed, and as shipped otherwise.
let minify = null;
try {
  const { transformSync } = await import('esbuild');
  minify = (code) => transformSync(code, { minify: true, format: 'esm' }).code;
} catch {}

const row = (name, buf) => ({
  name,
  raw: buf.length,
  gzip: zlib.gzipSync(buf, { level: 9 }).length,
  brotli: zlib.brotliCompressSync(buf, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
});

const rows = [];
for (const [name, rel] of files) {
  const file = path.join(root, rel);
  if (!fs.existsSync(file)) {
    console.error(`missing ${rel}: run npm run build first`);
    process.exit(1);
  }
  let buf = fs.readFileSync(file);
  if (minify && rel.endsWith('.js')) buf = Buffer.from(minify(buf.toString()));
  rows.push(row(name + (minify && rel.endsWith('.js') ? ' (minified)' : ''), buf));
}
const jsBuf = Buffer.concat(files.filter(([, r]) => r.endsWith('.js')).map(([, r]) => {
  const b = fs.readFileSync(path.join(root, r));
  return minify ? Buffer.from(minify(b.toString())) : b;
}));
const js = row('JS total', jsBuf);
const total = { name: 'SDK total (wasm + JS)', raw: rows[0].raw + js.raw, gzip: rows[0].gzip + js.gzip, brotli: rows[0].brotli + js.brotli };

const kb = (n) => (n / 1024).toFixed(2).padStart(8) + ' kB';
console.log(`${'file'.padEnd(34)}${'raw'.padStart(11)}${'gzip -9'.padStart(11)}${'brotli'.padStart(11)}`);
for (const r of [...rows, js, total]) console.log(`${r.name.padEnd(34)}${kb(r.raw)}${kb(r.gzip)}${kb(r.brotli)}`);
console.log(`\nbudget: SDK total ≤ 16 kB gzip → ${total.gzip <= 16384 ? 'within' : 'OVER by ' + kb(total.gzip - 16384).trim()}`);
