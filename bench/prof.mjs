// Not part of the report: a CPU profile of the pkce-wasm micro-benchmark page
// (self time by function, top 30), to see where its microseconds go.
//   node bench/prof.mjs            (after npm run build)
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { startDemo } from '../scripts/lib/demo.mjs';
import { launch } from '../tests/e2e/support.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const sdk = process.env.PROF_SDK ?? 'pkce-wasm';
const dir = path.join(here, 'out', `prof-${sdk}`);
fs.mkdirSync(dir, { recursive: true });
await esbuild.build({
  entryPoints: [path.join(here, 'apps', process.env.PROF_APP ?? `micro-${sdk}.js`)],
  bundle: true, format: 'esm', target: 'es2022', outfile: path.join(dir, 'app.js'),
  alias: { 'pkce-wasm': path.join(root, 'dist/pkce-wasm.js') }, logLevel: 'error',
});
fs.copyFileSync(path.join(here, 'apps/page.html'), path.join(dir, 'index.html'));
fs.copyFileSync(path.join(root, 'dist/pkce_wasm_bg.wasm'), path.join(dir, 'pkce_wasm_bg.wasm'));
const demo = await startDemo({ extraMounts: { '/prof/': dir } });
const browser = await launch();
const page = await browser.newPage();
await page.goto(`${demo.origin}/prof/`);
await page.waitForFunction(() => typeof window.__micro === 'function');
console.log('warm', await page.evaluate(() => window.__micro(200)));
const cdp = await page.context().newCDPSession(page);
await cdp.send('Profiler.enable');
await cdp.send('Profiler.setSamplingInterval', { interval: 50 });
await cdp.send('Profiler.start');
console.log('profiled', await page.evaluate(() => window.__micro(2000)));
const { profile } = await cdp.send('Profiler.stop');
const self = new Map();
const dt = profile.timeDeltas;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
profile.samples.forEach((id, i) => {
  const n = byId.get(id);
  const k = `${n.callFrame.functionName || '(anon)'} ${n.callFrame.url.split('/').pop()}:${n.callFrame.lineNumber}`;
  self.set(k, (self.get(k) ?? 0) + (dt[i] ?? 0));
});
const total = [...self.values()].reduce((a, b) => a + b, 0);
for (const [k, v] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(process.env.PROF_TOP ?? 30))) console.log((v / 1000).toFixed(1).padStart(8), 'ms', ((100 * v) / total).toFixed(1).padStart(5), '%', k);
await browser.close();
await demo.close();
