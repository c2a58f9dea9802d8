// Size report (`npm run size`): what the SDK ships to a browser, raw / gzip -9
// / brotli. It reports; it does not assert (the budget is tracked in the README).
// `npm run size -- --features` also builds the crate without DPoP, without PAR
// and without both, to show what each feature costs (wasm + JS, gzip).
// `npm run size -- --floor` builds bench/floor: src/core alone behind a plain
// C ABI (no bindings, no async, no browser layer, no JS), the floor under any
// wasm SDK that keeps these checks in Rust.
import fs from 'node:fs';
import os from 'node:os';
import zlib from 'node:zlib';
import path from 'node:path';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { transformSync } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const minify = (code) => Buffer.from(transformSync(code, { minify: true, format: 'esm' }).code);
const sizes = (buf) => ({
  raw: buf.length,
  gzip: zlib.gzipSync(buf, { level: 9 }).length,
  brotli: zlib.brotliCompressSync(buf, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length,
});
const kb = (n) => (n / 1024).toFixed(2).padStart(8) + ' kB';

/** What a browser downloads from a build in `dir`: the wasm, the glue and the wrapper (JS minified as a bundler would). */
function measure(dir) {
  const wasmFile = path.join(dir, 'pkce_wasm_bg.wasm');
  if (!fs.existsSync(wasmFile)) throw new Error(`missing ${wasmFile}: run npm run build first`);
  const wasm = sizes(fs.readFileSync(wasmFile));
  const glue = sizes(minify(fs.readFileSync(path.join(dir, 'pkce_wasm.js'), 'utf8')));
  const wrapper = sizes(minify(fs.readFileSync(path.join(root, 'js/index.js'), 'utf8')));
  const js = sizes(Buffer.concat([
    minify(fs.readFileSync(path.join(dir, 'pkce_wasm.js'), 'utf8')),
    minify(fs.readFileSync(path.join(root, 'js/index.js'), 'utf8')),
  ]));
  const total = { raw: wasm.raw + js.raw, gzip: wasm.gzip + js.gzip, brotli: wasm.brotli + js.brotli };
  return { wasm, glue, wrapper, js, total };
}

function build(outDir, cargoArgs) {
  const env = { ...process.env, PATH: `${os.homedir()}/.cargo/bin:${process.env.PATH}` };
  execFileSync('wasm-pack', ['--quiet', 'build', '--target', 'web', '--release', '--mode', 'no-install', '--no-pack',
    '--out-dir', outDir, '--out-name', 'pkce_wasm', '--', ...cargoArgs], { cwd: root, env, stdio: ['ignore', 'ignore', 'inherit'] });
  const wasm = path.join(outDir, 'pkce_wasm_bg.wasm');
  execFileSync(path.join(root, 'node_modules/.bin/wasm-opt'), ['-Oz', '--converge', '--strip-producers', '--strip-target-features', '--enable-reference-types', '--enable-bulk-memory',
    '--enable-nontrapping-float-to-int', '--enable-sign-ext', '--enable-mutable-globals', '--enable-multivalue', wasm, '-o', wasm]);
}

const m = measure(path.join(root, 'pkg'));
console.log(`${'file'.padEnd(34)}${'raw'.padStart(11)}${'gzip -9'.padStart(11)}${'brotli'.padStart(11)}`);
for (const [name, r] of [['wasm', m.wasm], ['wasm-bindgen glue (minified)', m.glue], ['wrapper (minified)', m.wrapper], ['JS total', m.js], ['SDK total (wasm + JS)', m.total]]) {
  console.log(`${name.padEnd(34)}${kb(r.raw)}${kb(r.gzip)}${kb(r.brotli)}`);
}
console.log(`\nbudget: SDK total ≤ 16 kB gzip → ${m.total.gzip <= 16384 ? 'within' : 'OVER by ' + kb(m.total.gzip - 16384).trim()}`);

if (process.argv.includes('--features')) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pkce-wasm-size-'));
  const variants = [
    ['without DPoP', ['--no-default-features', '--features', 'par,small-alloc']],
    ['without PAR', ['--no-default-features', '--features', 'dpop,small-alloc']],
    ['without both', ['--no-default-features', '--features', 'small-alloc']],
  ];
  console.log(`\nfeature cost (SDK total, gzip -9; full build ${kb(m.total.gzip).trim()})`);
  const results = {};
  for (const [name, args] of variants) {
    const dir = path.join(tmp, name.replace(/\W+/g, '-'));
    build(dir, args);
    results[name] = measure(dir).total.gzip;
    console.log(`${name.padEnd(34)}${kb(results[name])}  (the feature costs ${kb(m.total.gzip - results[name]).trim()})`);
  }
  fs.rmSync(tmp, { recursive: true, force: true });
}

if (process.argv.includes('--floor')) {
  const env = { ...process.env, PATH: `${os.homedir()}/.cargo/bin:${process.env.PATH}`, CARGO_TARGET_DIR: path.join(root, 'target/floor') };
  execFileSync('cargo', ['build', '--quiet', '--release', '--target', 'wasm32-unknown-unknown'], { cwd: path.join(root, 'bench/floor'), env, stdio: ['ignore', 'ignore', 'inherit'] });
  const built = path.join(root, 'target/floor/wasm32-unknown-unknown/release/pkce_wasm_floor.wasm');
  const opt = path.join(root, 'target/floor/floor.wasm');
  execFileSync(path.join(root, 'node_modules/.bin/wasm-opt'), ['-Oz', '--converge', '--strip-debug', '--strip-producers', '--strip-target-features',
    '--enable-bulk-memory', '--enable-nontrapping-float-to-int', '--enable-sign-ext', '--enable-mutable-globals', built, '-o', opt]);
  const f = sizes(fs.readFileSync(opt));
  console.log(`\nfloor: src/core alone, C ABI, no bindings/async/browser layer/JS (bench/floor)`);
  console.log(`${'core-only wasm'.padEnd(34)}${kb(f.raw)}${kb(f.gzip)}${kb(f.brotli)}`);
  console.log(`${'share of the SDK total (gzip)'.padEnd(34)}${(100 * f.gzip / m.total.gzip).toFixed(1).padStart(10)} %`);
}
