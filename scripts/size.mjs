// `npm run size`: what the SDK ships to a browser, measured on the `npm pack`
// tarball (the wasm and every JS module the ESM entry loads, raw / gzip -9 /
// brotli), against the budget `npm test` enforces, then a twiggy breakdown of
// the wasm by layer (core, web, bindings, runtime, data).
//   --features  also builds without DPoP and without PAR: what each costs
//   --floor     also builds bench/floor: the protocol core alone behind a C ABI
// Run `npm run build` first. twiggy is installed from crates.io when missing.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { BUDGET_BYTES, TARGET_BYTES, kb, root, runtimeFiles, sizes, total, unpackTarball } from './lib/sizes.mjs';

const env = { ...process.env, PATH: `${os.homedir()}/.cargo/bin:${process.env.PATH}` };
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 28, ...opts });
const pad = (s, n) => String(s).padEnd(n);
const num = (n) => kb(n).padStart(11);

if (!fs.existsSync(path.join(root, 'dist/pkce-wasm.js'))) {
  console.error('size: no build in dist/: run `npm run build` first');
  process.exit(1);
}
const { dir, cleanup } = unpackTarball();
const files = runtimeFiles(dir);
// The React binding: only apps that import `pkce-wasm/react` load it (not in the budget).
const react = fs.existsSync(path.join(dir, 'dist/react.js')) ? sizes(fs.readFileSync(path.join(dir, 'dist/react.js'))) : undefined;
cleanup();
const t = total(files);
console.log(`${pad('runtime file (npm pack tarball)', 34)}${'raw'.padStart(11)}${'gzip -9'.padStart(11)}${'brotli'.padStart(11)}`);
for (const f of files) console.log(`${pad(f.file, 34)}${num(f.raw)}${num(f.gzip)}${num(f.brotli)}`);
console.log(`${pad('total', 34)}${num(t.raw)}${num(t.gzip)}${num(t.brotli)}`);
if (react) console.log(`${pad('pkce-wasm/react: dist/react.js', 34)}${num(react.raw)}${num(react.gzip)}${num(react.brotli)}   (apps that import it; not in the budget)`);
console.log(`\nbudget (npm test): ${kb(BUDGET_BYTES)} → ${t.gzip <= BUDGET_BYTES ? 'within' : 'OVER'}; issue 12's target: ${kb(TARGET_BYTES)} → ${t.gzip <= TARGET_BYTES ? 'met' : 'not met, ' + kb(t.gzip - TARGET_BYTES) + ' over'}`);

// ---- twiggy breakdown ---------------------------------------------------
function twiggy() {
  try {
    execFileSync('twiggy', ['--version'], { env, stdio: 'ignore' });
  } catch {
    console.log('\n(installing twiggy from crates.io, once)');
    run('cargo', ['install', '--locked', '--quiet', 'twiggy'], { stdio: 'inherit' });
  }
}

function namedWasm() {
  const out = path.join(root, 'target/size');
  fs.mkdirSync(out, { recursive: true });
  const targetDir = path.join(root, 'target/size/cargo');
  run('cargo', ['rustc', '--quiet', '--release', '--lib', '--crate-type', 'cdylib', '--target', 'wasm32-unknown-unknown',
    '--no-default-features', '--features', 'npm'], { env: { ...env, CARGO_TARGET_DIR: targetDir } });
  run('wasm-bindgen', [path.join(targetDir, 'wasm32-unknown-unknown/release/pkce_wasm.wasm'), '--target', 'web', '--out-dir', out,
    '--out-name', 'pkce_wasm', '--no-typescript', '--keep-debug']);
  const named = path.join(out, 'named.wasm');
  run(path.join(root, 'node_modules/.bin/wasm-opt'), ['-Oz', '--converge', '-g', '--enable-reference-types', '--enable-bulk-memory',
    '--enable-nontrapping-float-to-int', '--enable-sign-ext', '--enable-mutable-globals', '--enable-multivalue',
    path.join(out, 'pkce_wasm_bg.wasm'), '-o', named]);
  return named;
}

function layer(name) {
  if (name.startsWith('data segment')) return 'data (strings, tables)';
  if (name.startsWith('import ')) return null; // its names are long here, minified in the shipped wasm
  if (/^(code|type|elem|element|table|memory|global|export|data)\b/.test(name)) return 'runtime: wasm structure (types, tables, exports)';
  if (/pkce_wasm::core::flow/.test(name)) return 'core: flows (state machines)';
  if (/pkce_wasm::core/.test(name)) return 'core: protocol';
  if (/pkce_wasm::web/.test(name)) return 'web: effects';
  if (/pkce_wasm::bindings|^(client_|op_|createClient|__wbg_client|__wbg_op)/.test(name)) return 'bindings';
  if (/^(__multi3|memcmp|memcpy|memset|memmove|__rustc)/.test(name)) return 'runtime: Rust core/alloc/std';
  // The first crate path in the name: `<usize as core[…]::fmt::Display>::fmt` is core's.
  const crate = [...name.matchAll(/([a-z_][a-z_0-9]*)(?:\[[0-9a-f]+\])?::/g)].map((m) => m[1]).find((c) => !['str', 'usize', 'u8', 'u16', 'u32', 'u64', 'char', 'bool', 'T', 'D', 'F', 'I'].includes(c)) ?? '';
  if (['core', 'alloc', 'std', 'hashbrown'].includes(crate)) return 'runtime: Rust core/alloc/std';
  if (['wasm_bindgen', 'js_sys', 'web_sys'].includes(crate) || /externref|__wbindgen|closures/.test(name)) return 'runtime: wasm-bindgen, js-sys, web-sys';
  if (['digest', 'sha2', 'block_buffer'].includes(crate)) return 'runtime: sha2';
  if (['serde_wasm_bindgen', 'serde_core', 'serde'].includes(crate)) return 'runtime: serde-wasm-bindgen';
  if (crate) return `runtime: ${crate.replace(/_/g, '-')}`;
  return 'runtime: other';
}

twiggy();
const named = namedWasm();
const csv = execFileSync('twiggy', ['top', '-n', '1000000', '--format', 'csv', named], { env, encoding: 'utf8', maxBuffer: 1 << 28 });
const groups = new Map();
let counted = 0;
for (const line of csv.trim().split('\n').slice(1)) {
  const m = line.match(/^(.*),(\d+),[\d.]+,/);
  if (!m) continue;
  // A CSV field: quoted when it holds a comma or a quote ("" inside).
  const name = m[1].startsWith('"') ? m[1].slice(1, -1).replace(/""/g, '"') : m[1];
  if (/names" subsection|^custom section/.test(name)) continue;
  const bytes = Number(m[2]);
  const key = layer(name);
  if (key === null) continue;
  groups.set(key, (groups.get(key) ?? 0) + bytes);
  counted += bytes;
}
const wasm = files.find((f) => f.file.endsWith('.wasm'));
console.log(`\nwasm by layer (twiggy shallow bytes of a build with names kept, import names left out; shares scaled to the shipped ${kb(wasm.raw)} raw / ${kb(wasm.gzip)} gzip)`);
for (const [k, v] of [...groups].sort((a, b) => b[1] - a[1])) {
  const share = v / counted;
  console.log(`${pad(k, 42)}${(100 * share).toFixed(1).padStart(6)} %${num(share * wasm.raw)} raw${num(share * wasm.gzip)} gzip`);
}

// ---- optional measurements ----------------------------------------------
function buildVariant(features) {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'pkce-wasm-variant-'));
  run('bash', ['scripts/build.sh'], { env: { ...env, PKCE_WASM_FEATURES: features, PKCE_WASM_OUT: out, CARGO_TARGET_DIR: path.join(root, 'target/variants') } });
  const s = sizes(fs.readFileSync(path.join(out, 'pkce_wasm_bg.wasm'))).gzip;
  fs.rmSync(out, { recursive: true, force: true });
  return s;
}

if (process.argv.includes('--features')) {
  const full = buildVariant('npm');
  console.log(`\nfeature cost (wasm gzip -9; full build ${kb(full)})`);
  for (const [name, features] of [['DPoP', 'par,bindings,small-alloc'], ['PAR', 'dpop,bindings,small-alloc']]) {
    console.log(`${pad(name, 34)}${num(full - buildVariant(features))}`);
  }
}

if (process.argv.includes('--floor')) {
  const targetDir = path.join(root, 'target/floor');
  run('cargo', ['build', '--quiet', '--release', '--target', 'wasm32-unknown-unknown'], { cwd: path.join(root, 'bench/floor'), env: { ...env, CARGO_TARGET_DIR: targetDir } });
  const opt = path.join(targetDir, 'floor.wasm');
  run(path.join(root, 'node_modules/.bin/wasm-opt'), ['-Oz', '--converge', '--strip-debug', '--strip-producers', '--strip-target-features',
    '--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext', '--enable-mutable-globals',
    path.join(targetDir, 'wasm32-unknown-unknown/release/pkce_wasm_floor.wasm'), '-o', opt]);
  const f = sizes(fs.readFileSync(opt));
  console.log(`\nfloor: the protocol core alone (no flows, bindings, browser layer or JS), C ABI (bench/floor)`);
  console.log(`${pad('core-only wasm', 34)}${num(f.raw)}${num(f.gzip)}${num(f.brotli)}`);
}
