// Distribution, tested from what we publish — the `npm pack` tarball — never
// from the source tree: its file list, publint, a Vite production build, a
// plain page with one <script> tag, and a strict TypeScript consumer; the
// browser ones complete a real login against oidc-provider in Chromium.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDemo } from '../../scripts/lib/demo.mjs';
import { launch, newPage, signIn, withDiagnostics } from '../e2e/support.mjs';
import { BUDGET_BYTES, kb, runtimeFiles, total } from '../../scripts/lib/sizes.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const bin = (name) => path.join(root, 'node_modules', '.bin', name);
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

let tmp;
let tarball;
let unpacked;
let viteDist;
let demo;
let browser;

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pkce-wasm-pack-'));
  const out = run('npm', ['pack', '--pack-destination', tmp, '--json'], root);
  tarball = path.join(tmp, JSON.parse(out)[0].filename);
  run('tar', ['-xzf', tarball, '-C', tmp], tmp);
  unpacked = path.join(tmp, 'package');

  // The Vite app installs the tarball and builds for production.
  const app = path.join(tmp, 'vite-app');
  fs.cpSync(path.join(here, 'vite-app'), app, { recursive: true });
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'vite-consumer', private: true, type: 'module' }));
  run('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', tarball], app);
  run(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--base', '/vite/', '--outDir', 'dist', '--logLevel', 'error'], app);
  viteDist = path.join(app, 'dist');

  demo = await startDemo({
    extraMounts: {
      '/vite/': viteDist,
      '/sdk/': path.join(unpacked, 'dist'),
      '/global/': path.join(here, 'global'),
      '/early/': path.join(here, 'early'),
      '/other/': path.join(unpacked, 'dist'),
    },
    extraRedirectPaths: ['/vite/', '/global/'],
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await demo?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('the tarball holds exactly the runtime files: no sources, tests, maps or node_modules', () => {
  const files = run('tar', ['-tzf', tarball], tmp).trim().split('\n').map((f) => f.replace(/^package\//, '')).sort();
  assert.deepEqual(files, [
    'LICENSE',
    'README.md',
    'dist/pkce-wasm.global.js',
    'dist/pkce-wasm.js',
    'dist/pkce_wasm_bg.wasm',
    'dist/react.js',
    'js/index.d.ts',
    'js/react.d.ts',
    'package.json',
  ]);
  const pkg = JSON.parse(fs.readFileSync(path.join(unpacked, 'package.json'), 'utf8'));
  for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) assert.equal(pkg.scripts?.[hook], undefined, `no ${hook} script`);
  assert.equal(pkg.dependencies, undefined, 'no runtime dependencies');
  assert.equal(pkg.license, 'MIT');
  assert.equal(pkg.sideEffects, false);
});

test('size budget: the runtime bytes a page loads from the tarball (the wasm and every JS module of the ESM entry, gzip -9) stay within budget', () => {
  const files = runtimeFiles(unpacked);
  assert.deepEqual(files.map((f) => f.file).sort(), ['dist/pkce-wasm.js', 'dist/pkce_wasm_bg.wasm'], 'the ESM entry loads one module and the wasm');
  const t = total(files);
  assert.ok(t.gzip <= BUDGET_BYTES, `${kb(t.gzip)} gzip is over the ${kb(BUDGET_BYTES)} budget (npm run size shows where the bytes go)`);
});

test('publint reports nothing on the tarball', () => {
  const out = run(bin('publint'), [unpacked], tmp);
  assert.match(out, /All good/);
});

test('TypeScript: a strict consumer type-checks against the shipped types', () => {
  const app = path.join(tmp, 'ts-app');
  fs.cpSync(path.join(here, 'ts-app'), app, { recursive: true });
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'ts-consumer', private: true, type: 'module' }));
  run('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error', tarball], app);
  run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', app], app);
});

async function loginAt(page, url) {
  await page.goto(url);
  await page.waitForSelector('#status[data-done]');
  assert.equal(await page.textContent('#status'), 'out');
  await page.click('#login');
  await signIn(page);
  await page.waitForFunction(() => document.getElementById('status').textContent.startsWith('in:'));
  assert.equal(await page.textContent('#status'), 'in:alice');
}

test('Vite: a production build ships the wasm as an asset, with no plugin or config, and logs in', async () => {
  const assets = fs.readdirSync(path.join(viteDist, 'assets'));
  assert.ok(assets.some((f) => f.endsWith('.wasm')), `wasm emitted: ${assets}`);
  const page = await newPage(browser);
  const wasmRequests = [];
  page.on('request', (r) => r.url().endsWith('.wasm') && wasmRequests.push(r.url()));
  await withDiagnostics(page, 'vite', async () => {
    await loginAt(page, `${demo.origin}/vite/`);
    assert.ok(wasmRequests.every((u) => u.startsWith(`${demo.origin}/vite/assets/`)), wasmRequests.join());
  });
  await page.context().close();
});

test('script tag: the global build finds its wasm next to itself and logs in', async () => {
  const page = await newPage(browser);
  const wasmRequests = [];
  page.on('request', (r) => r.url().endsWith('.wasm') && wasmRequests.push(r.url()));
  await withDiagnostics(page, 'global', async () => {
    await loginAt(page, `${demo.origin}/global/`);
    assert.ok(wasmRequests.length > 0 && wasmRequests.every((u) => u === `${demo.origin}/sdk/pkce_wasm_bg.wasm`), wasmRequests.join());
  });
  await page.context().close();
});

/** Opens one of the early/ pages, waits for its client, and returns the wasm requests and console errors. */
async function earlyPage(name) {
  const page = await newPage(browser);
  const wasm = [];
  const errors = [];
  page.on('request', (r) => r.url().endsWith('.wasm') && wasm.push(new URL(r.url()).pathname));
  page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
  page.on('requestfailed', (r) => errors.push(`failed: ${r.url()}`));
  page.on('response', (r) => r.status() >= 400 && errors.push(`${r.status()}: ${r.url()}`));
  await page.goto(`${demo.origin}/early/${name}.html`);
  await page.waitForFunction(() => document.getElementById('status').textContent === 'ready');
  return { page, wasm, errors };
}

test('start-up: importing the ESM entry starts the wasm download and compile, before the app makes a client', async () => {
  const { page, wasm, errors } = await earlyPage('auto');
  await withDiagnostics(page, 'early-auto', async () => {
    const { createCalledAt, entry } = await page.evaluate(() => ({
      createCalledAt: window.createCalledAt,
      entry: performance.getEntriesByType('resource').find((e) => e.name.endsWith('.wasm')),
    }));
    assert.deepEqual(wasm, ['/sdk/pkce_wasm_bg.wasm'], 'one request, for the default URL');
    assert.ok(entry.responseEnd < createCalledAt, `the wasm was loaded (at ${entry.responseEnd} ms) before createClient was called (${createCalledAt} ms)`);
    assert.deepEqual(errors, []);
  });
  await page.context().close();
});

test('start-up: init(url) in the importing module before its first await replaces the default URL — no wasted request, no 404', async () => {
  const { page, wasm, errors } = await earlyPage('custom');
  assert.deepEqual(wasm, ['/other/pkce_wasm_bg.wasm']);
  assert.deepEqual(errors, []);
  await page.context().close();
});

test('start-up: <meta name="pkce-wasm-init" content="manual"> and data-init="manual" on the script tag defer loading to init(url)', async () => {
  for (const name of ['manual', 'global-manual']) {
    const { page, wasm, errors } = await earlyPage(name);
    assert.equal(await page.evaluate(() => window.wasmBeforeInit), 0, `${name}: nothing loaded before init(url)`);
    assert.deepEqual(wasm, ['/other/pkce_wasm_bg.wasm'], name);
    assert.deepEqual(errors, [], name);
    await page.context().close();
  }
});

test('importing the ESM entry in Node (SSR) has no side effect: no request, no timer, no global', () => {
  const entry = path.join(unpacked, 'dist', 'pkce-wasm.js');
  const script = `
    let fetched = 0;
    globalThis.fetch = () => { fetched++; return new Promise(() => {}); };
    const before = Object.keys(globalThis).sort().join();
    const sdk = await import(${JSON.stringify(new URL(`file://${entry}`).href)});
    await new Promise((r) => setTimeout(r, 50));
    const after = Object.keys(globalThis).sort().join();
    console.log(JSON.stringify({ fetched, sameGlobals: before === after, exports: Object.keys(sdk).sort() }));
  `;
  const out = JSON.parse(run(process.execPath, ['--input-type=module', '-e', script], tmp));
  assert.deepEqual(out, { fetched: 0, sameGlobals: true, exports: ['Client', 'PkceWasmError', 'createClient', 'init'] });
});
