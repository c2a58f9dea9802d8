// Shortens the wasm's import and export names and rewrites the wasm-bindgen
// glue to match. wasm-bindgen names every import `__wbg_<name>_<16 hex>`; the
// names travel twice (in the wasm and in the glue) and cost ~3 kB gzip.
// binaryen's --minify-imports-and-exports-and-modules renames them and prints
// the mapping; this applies it to the glue. Usage: node minify-names.mjs <dir>
import fs from 'node:fs';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const dir = path.resolve(process.argv[2] ?? 'pkg');
const wasmFile = path.join(dir, 'pkce_wasm_bg.wasm');
const glueFile = path.join(dir, 'pkce_wasm.js');
const FEATURES = ['--enable-reference-types', '--enable-bulk-memory', '--enable-nontrapping-float-to-int',
  '--enable-sign-ext', '--enable-mutable-globals', '--enable-multivalue'];

const mapping = JSON.parse(execFileSync(path.join(root, 'node_modules/.bin/wasm-opt'),
  ['--minify-imports-and-exports-and-modules', ...FEATURES, wasmFile, '-o', wasmFile], { encoding: 'utf8', maxBuffer: 1 << 26 }));

/** The module names the wasm imports from (read from its import section). */
function importModules(buf) {
  let i = 8;
  const leb = () => {
    let n = 0;
    let shift = 0;
    for (;;) {
      const b = buf[i++];
      n |= (b & 0x7f) << shift;
      if (!(b & 0x80)) return n >>> 0;
      shift += 7;
    }
  };
  while (i < buf.length) {
    const id = buf[i++];
    const size = leb();
    const end = i + size;
    if (id !== 2) {
      i = end;
      continue;
    }
    const count = leb();
    const modules = new Set();
    const name = () => {
      const n = leb();
      const s = buf.subarray(i, i + n).toString('utf8');
      i += n;
      return s;
    };
    for (let k = 0; k < count; k++) {
      modules.add(name());
      name();
      const kind = buf[i++];
      if (kind === 0) leb(); // func: type index
      else if (kind === 1) { i++; const f = leb(); leb(); if (f & 1) leb(); } // table
      else if (kind === 2) { const f = leb(); leb(); if (f & 1) leb(); } // memory
      else if (kind === 3) { i++; i++; } // global: type, mutability
      else if (kind === 4) { i++; leb(); } // tag
    }
    return [...modules];
  }
  return [];
}

const escape = (s) => s.replace(/[$]/g, '\\$&');
const word = (name) => new RegExp(`(?<![\\w$])${escape(name)}(?![\\w$])`, 'g');
let glue = fs.readFileSync(glueFile, 'utf8');
const modules = importModules(fs.readFileSync(wasmFile));
if (modules.length !== 1) throw new Error(`expected one import module, found ${JSON.stringify(modules)}`);
for (const [, from, to] of mapping.imports) glue = glue.replace(word(from), to);
for (const [from, to] of mapping.exports) glue = glue.replace(new RegExp(`\\bwasm\\.${escape(from)}(?![\\w$])`, 'g'), `wasm.${to}`);
const moduleKey = '"./pkce_wasm_bg.js": import0';
if (!glue.includes(moduleKey)) throw new Error('the glue does not name its import module as expected');
glue = glue.replace(moduleKey, `${JSON.stringify(modules[0])}: import0`);
// Nothing of the old names may remain.
const left = [...mapping.imports.map(([, f]) => f), ...mapping.exports.map(([f]) => `wasm.${f}`)].filter((n) => glue.match(word(n)));
if (left.length) throw new Error(`names left in the glue: ${left.slice(0, 5).join(', ')}`);
fs.writeFileSync(glueFile, glue);
