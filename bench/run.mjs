// `npm run bench`: pkce-wasm against oauth4webapi, oidc-client-ts and
// auth0-spa-js, in one run, on this machine. Writes bench/REPORT.md.
//   1. each SDK's minimal login app bundled by esbuild (minified): raw / gzip -9 / brotli
//      of everything the app downloads (the .wasm included for pkce-wasm);
//   3. micro-benchmarks in the page, network stubbed (MICRO iterations, median):
//      PKCE pair + authorize URL; callback parse + token response parse + ID token validation;
//   2. the full login against oidc-provider on loopback in headless Chromium, RUNS times
//      per SDK (default 15), interleaved, each in a fresh context, at 1x and 4x CPU
//      throttling: page start → authorization request, callback page start → tokens;
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { startDemo } from '../scripts/lib/demo.mjs';
import { launch } from '../tests/e2e/support.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 15);
const ALL_SDKS = ['pkce-wasm', 'pkce-wasm-par', 'oauth4webapi', 'oidc-client-ts', 'auth0-spa-js'];
// pkce-wasm-par: pkce-wasm with its default pushedAuthorizationRequests: 'auto', to show PAR's cost; not a peer.
const LABEL = { 'pkce-wasm': 'pkce-wasm', 'pkce-wasm-par': 'pkce-wasm, PAR on', oauth4webapi: 'oauth4webapi', 'oidc-client-ts': 'oidc-client-ts', 'auth0-spa-js': 'auth0-spa-js' };
const isOurs = (s) => s.startsWith('pkce-wasm');
// BENCH_SDKS=pkce-wasm,oauth4webapi: a quick trial with fewer SDKs (use with BENCH_REPORT).
const SDKS = process.env.BENCH_SDKS ? ALL_SDKS.filter((s) => process.env.BENCH_SDKS.split(',').includes(s)) : ALL_SDKS;
const MICRO = Number(process.env.BENCH_MICRO ?? 200);
const MICRO_SDKS = ['pkce-wasm', 'oauth4webapi']; // the others expose no separate steps
const out = path.join(here, 'out');
const version = (p) => JSON.parse(fs.readFileSync(path.join(p, 'package.json'), 'utf8')).version;

/** Bundles apps/<entry> as an app (esbuild, minified, as the SDK's docs would) into dir/app.js + index.html. */
async function bundleApp(entry, dir) {
  await esbuild.build({
    entryPoints: [path.join(here, 'apps', entry)],
    bundle: true,
    minify: true,
    format: 'esm',
    target: 'es2022',
    outfile: path.join(dir, 'app.js'),
    alias: { 'pkce-wasm': path.join(root, 'dist/pkce-wasm.js') }, // what the package ships
    logLevel: 'error',
  });
  fs.copyFileSync(path.join(here, 'apps/page.html'), path.join(dir, 'index.html'));
}

// ---- 1. build and size --------------------------------------------------------
fs.rmSync(out, { recursive: true, force: true });
const sizes = {};
for (const sdk of SDKS) {
  const dir = path.join(out, sdk);
  fs.mkdirSync(dir, { recursive: true });
  await bundleApp(`${sdk}.js`, dir);
  const files = [path.join(dir, 'app.js')];
  if (isOurs(sdk)) {
    fs.copyFileSync(path.join(root, 'dist/pkce_wasm_bg.wasm'), path.join(dir, 'pkce_wasm_bg.wasm'));
    files.push(path.join(dir, 'pkce_wasm_bg.wasm'));
  }
  const s = { raw: 0, gzip: 0, brotli: 0 };
  for (const f of files) {
    const b = fs.readFileSync(f);
    s.raw += b.length;
    s.gzip += zlib.gzipSync(b, { level: 9 }).length;
    s.brotli += zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 11 } }).length;
  }
  sizes[sdk] = s;
}

for (const sdk of MICRO_SDKS) {
  const dir = path.join(out, `micro-${sdk}`);
  fs.mkdirSync(dir, { recursive: true });
  await bundleApp(`micro-${sdk}.js`, dir);
  if (sdk === 'pkce-wasm') fs.copyFileSync(path.join(root, 'dist/pkce_wasm_bg.wasm'), path.join(dir, 'pkce_wasm_bg.wasm'));
}

// ---- 2. timing ---------------------------------------------------------------
const demo = await startDemo({
  scope: 'openid profile email',
  providerOptions: {
    trailingSlash: true, // auth0-spa-js expects `${domain}/` as the issuer
    routes: { authorization: '/authorize', token: '/oauth/token', userinfo: '/userinfo', jwks: '/.well-known/jwks.json', end_session: '/v2/logout' },
  },
  extraMounts: Object.fromEntries([...SDKS, ...MICRO_SDKS.map((s) => `micro-${s}`)].map((s) => [`/${s}/`, path.join(out, s)])),
  extraRedirectPaths: SDKS.map((s) => `/${s}/`),
});
const browser = await launch();

async function once(sdk, throttle) {
  const context = await browser.newContext();
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  const setThrottle = () => cdp.send('Emulation.setCPUThrottlingRate', { rate: throttle }).catch(() => {});
  await setThrottle();
  const marks = {};
  page.on('console', (m) => {
    const [k, v] = m.text().split(' ');
    if (k !== '__mark') return;
    const mark = JSON.parse(v);
    if (mark.origin !== undefined && marks.origin !== undefined) return; // the app page's, not the provider's
    Object.assign(marks, mark);
  });
  const trace = { start: {}, callback: {} };
  page.on('console', (m) => {
    const text = m.text();
    if (!text.startsWith('__trace ')) return;
    const t = JSON.parse(text.slice(8));
    trace[t.page][t.step] ??= { start: t.start, end: t.end };
  });
  await page.addInitScript((prefix) => {
    const report = (o) => console.log('__mark ' + JSON.stringify(o));
    // The waterfall of the app's own pages: which request or step ran when (ms from page start).
    if (location.pathname.startsWith(prefix)) {
      const pageKind = location.search === '' ? 'start' : 'callback';
      const step = (name) =>
        /\/app\.js$/.test(name) ? 'app.js' : /config\.json$/.test(name) ? 'config.json' : /\.wasm$/.test(name) ? 'wasm download'
          : /openid-configuration$/.test(name) ? 'discovery' : /\/token$/.test(name) ? 'token request' : /jwks/.test(name) ? 'JWKS'
          : /\/request$/.test(name) ? 'PAR request' : null;
      const trace = (s, start, end) => console.log('__trace ' + JSON.stringify({ page: pageKind, step: s, start, end }));
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) if (step(e.name)) trace(step(e.name), e.startTime, e.responseEnd);
      }).observe({ type: 'resource', buffered: true });
      for (const f of ['instantiateStreaming', 'instantiate']) {
        const orig = WebAssembly[f];
        WebAssembly[f] = function (...args) {
          const t0 = performance.now();
          return orig.apply(this, args).then((r) => (trace('wasm compile + instantiate', t0, performance.now()), r));
        };
      }
    }
    if (location.search === '') report({ origin: performance.timeOrigin });
    window.__done = (token) => report({ tokens: performance.now(), ok: typeof token === 'string' && token.length > 0 });
    window.addEventListener('unhandledrejection', (e) => report({ error: String((e.reason && (e.reason.code || e.reason.message)) || e.reason) }));
  }, `/${sdk}/`);
  page.on('request', (r) => {
    if (!r.isNavigationRequest()) return;
    // The first navigation to the authorization endpoint: wall clock, like timeOrigin.
    if (r.url().startsWith(demo.meta.authorization_endpoint) && marks.authorize === undefined) marks.authorize = Date.now();
    if (r.url().startsWith(`${demo.origin}/${sdk}/?`)) setThrottle();
  });
  try {
    await page.goto(`${demo.origin}/${sdk}/`);
    // oidc-provider's development login, then consent (not timed).
    await page.waitForSelector('input[name=login]', { timeout: 30000 });
    await page.fill('input[name=login]', 'alice');
    await page.fill('input[name=password]', 'x');
    await page.click('button[type=submit]');
    await page.waitForSelector('button[type=submit]:has-text("Continue")', { timeout: 30000 });
    await page.click('button[type=submit]');
    const deadline = Date.now() + 30000;
    while (marks.tokens === undefined && marks.error === undefined && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    if (marks.error || !marks.ok) throw new Error(`${sdk}: ${marks.error ?? 'no tokens'}`);
    await new Promise((r) => setTimeout(r, 50)); // the last resource entries
    trace.start['authorization request'] = { start: marks.authorize - marks.origin };
    trace.callback.tokens = { start: marks.tokens };
    return { start: marks.authorize - marks.origin, callback: marks.tokens, trace };
  } finally {
    await context.close();
  }
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.round((p / 100) * (s.length - 1))))];
};
const timing = {};
const waterfall = {};
for (const throttle of [1, 4]) {
  const samples = Object.fromEntries(SDKS.map((s) => [s, { start: [], callback: [], traces: [] }]));
  for (let i = 0; i < RUNS; i++) {
    const order = i % 2 ? [...SDKS].reverse() : SDKS; // interleaved, alternating order
    for (const sdk of order) {
      const r = await once(sdk, throttle);
      samples[sdk].start.push(r.start);
      samples[sdk].callback.push(r.callback);
      samples[sdk].traces.push(r.trace);
    }
    process.stdout.write(`\rthrottle ${throttle}x: ${i + 1}/${RUNS}`);
  }
  process.stdout.write('\n');
  timing[throttle] = Object.fromEntries(
    SDKS.map((s) => [s, Object.fromEntries(['start', 'callback'].map((k) => [k, { p10: pct(samples[s][k], 10), median: pct(samples[s][k], 50), p90: pct(samples[s][k], 90) }]))]),
  );
  // The waterfall: per page and step, the median start and end over the runs that had the step.
  waterfall[throttle] = Object.fromEntries(SDKS.map((s) => {
    const w = { start: {}, callback: {} };
    for (const pageKind of ['start', 'callback']) {
      for (const step of new Set(samples[s].traces.flatMap((t) => Object.keys(t[pageKind])))) {
        const got = samples[s].traces.map((t) => t[pageKind][step]).filter(Boolean);
        const ends = got.map((g) => g.end).filter((e) => e !== undefined);
        w[pageKind][step] = { start: pct(got.map((g) => g.start), 50), end: ends.length ? pct(ends, 50) : undefined };
      }
    }
    return [s, w];
  }));
}

// ---- 3. micro-benchmarks -------------------------------------------------------
// Each SDK's page runs its steps twice: the first run (code compiled and
// optimised as it goes, as on a real login page) and then warm.
const micro = {};
let storage;
for (const sdk of MICRO_SDKS) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${demo.origin}/micro-${sdk}/`);
  await page.waitForFunction(() => typeof window.__micro === 'function');
  const first = await page.evaluate((n) => window.__micro(n), MICRO);
  const warm = await page.evaluate((n) => window.__micro(n), MICRO);
  const stubbed = sdk === 'pkce-wasm' ? await page.evaluate((n) => window.__micro(n, { stubVerify: true }), MICRO) : undefined;
  micro[sdk] = { first, warm, stubbed };
  if (sdk === 'pkce-wasm') storage = await page.evaluate(() => window.__storage(2000));
  await context.close();
}

await browser.close();
await demo.close();

// ---- report --------------------------------------------------------------------
const chromium = execFileSync('chromium', ['--version'], { encoding: 'utf8' }).trim();
const versions = {
  'pkce-wasm': version(root),
  oauth4webapi: version(path.join(here, 'node_modules/oauth4webapi')),
  'oidc-client-ts': version(path.join(here, 'node_modules/oidc-client-ts')),
  'auth0-spa-js': version(path.join(here, 'node_modules/@auth0/auth0-spa-js')),
};
const kb = (n) => (n / 1024).toFixed(1) + ' kB';
const ms = (n) => n.toFixed(0);
let md = `# pkce-wasm benchmark\n\nGenerated by \`npm run bench\` (bench/run.mjs) on ${new Date().toISOString().slice(0, 10)}; do not edit by hand.\n\n`;
md += `Machine: ${os.cpus()[0].model}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB; ${os.type()} ${os.release()}; Node ${process.version}; ${chromium}; oidc-provider ${version(path.join(root, 'node_modules/oidc-provider'))} on loopback.\n\n`;
md += `SDK versions: ${Object.entries(versions).map(([k, v]) => `${k} ${v}`).join(', ')}.\n\n`;
md += `## Size of the minimal login app (esbuild, minified; pkce-wasm includes its .wasm)\n\n| SDK | raw | gzip -9 | brotli |\n|---|---:|---:|---:|\n`;
for (const s of SDKS.filter((s) => s !== 'pkce-wasm-par')) md += `| ${s} | ${kb(sizes[s].raw)} | ${kb(sizes[s].gzip)} | ${kb(sizes[s].brotli)} |\n`;
for (const throttle of [1, 4]) {
  const t = timing[throttle];
  md += `\n## Login timing, ${throttle}x CPU throttling (${RUNS} runs per SDK, interleaved, fresh context each; ms, median and p10–p90)\n\n`;
  md += `| SDK | page start → authorization request | ratio to best peer | callback start → tokens | ratio to best peer |\n|---|---:|---:|---:|---:|\n`;
  const bestPeer = (k) => Math.min(...SDKS.filter((s) => !isOurs(s)).map((s) => t[s][k].median));
  for (const s of SDKS) {
    const cell = (k) => `${ms(t[s][k].median)} (${ms(t[s][k].p10)}–${ms(t[s][k].p90)})`;
    md += `| ${LABEL[s]} | ${cell('start')} | ${(t[s].start.median / bestPeer('start')).toFixed(2)} | ${cell('callback')} | ${(t[s].callback.median / bestPeer('callback')).toFixed(2)} |\n`;
  }
}
const STEPS = {
  start: ['app.js', 'config.json', 'wasm download', 'wasm compile + instantiate', 'discovery', 'PAR request', 'authorization request'],
  callback: ['app.js', 'config.json', 'wasm download', 'wasm compile + instantiate', 'discovery', 'token request', 'JWKS', 'tokens'],
};
for (const throttle of [1, 4]) {
  md += `\n## Where the time goes, ${throttle}x CPU: median ms from each page's start (start–end of each request or step)\n\n`;
  md += `| page | step | ${SDKS.map((s) => LABEL[s]).join(' | ')} |\n|---|---|${SDKS.map(() => '---:').join('|')}|\n`;
  for (const pageKind of ['start', 'callback']) {
    for (const step of STEPS[pageKind]) {
      const cells = SDKS.map((s) => {
        const v = waterfall[throttle][s][pageKind][step];
        if (!v) return '–';
        return v.end === undefined ? ms(v.start) : `${ms(v.start)}–${ms(v.end)}`;
      });
      md += `| ${pageKind === 'start' ? 'login page' : 'callback page'} | ${step} | ${cells.join(' | ')} |\n`;
    }
  }
}
const us = (x) => (x * 1000).toFixed(0);
md += `\n## Micro-benchmarks in the page, network stubbed (${MICRO} iterations in batches of 10, median µs per iteration, 1x; first run in a fresh page / warm)\n\n| SDK | PKCE pair + authorize URL + transaction stored | callback + token response + ID token validation | the same, signature check stubbed (warm) |\n|---|---:|---:|---:|\n`;
for (const s of SDKS.filter((s) => s !== 'pkce-wasm-par')) {
  const m = micro[s];
  md += m
    ? `| ${s} | ${us(m.first.authorize)} / ${us(m.warm.authorize)} | ${us(m.first.callback)} / ${us(m.warm.callback)} | ${m.stubbed ? us(m.stubbed.callback) : 'does not verify'} |\n`
    : `| ${s} | n/a | n/a | n/a |\n`;
}
md += `\nThis Chromium's sessionStorage, measured in the same page: setItem ${storage.set.toFixed(0)} µs, getItem ${storage.get.toFixed(0)} µs (a 420-byte record). pkce-wasm's authorize step pays one setItem and one getItem (the read-back) plus a sweep of its stale records; oauth4webapi's (its README flow) one setItem.\n`;
md += `\npkce-wasm's authorize step includes writing the transaction to sessionStorage (read back to check it); its callback step includes the storage round trip, the ES256 signature check (SubtleCrypto) and the session save. oauth4webapi does not verify the ID token signature. oidc-client-ts and auth0-spa-js expose no separate steps to time.\n`;
md += `\nNotes: "page start" is the app page's navigation start (performance.timeOrigin); the authorization request is when the browser starts the navigation to the authorization endpoint (wall clock, same machine); "tokens" is performance.now() on the callback page when the app has its access token. pkce-wasm runs without PAR and DPoP here (the peers use neither), but it still fetches the JWKS and verifies the ID token's signature on the callback, which the peers skip. "pkce-wasm, PAR on" is the same app with the default \`pushedAuthorizationRequests: 'auto'\` (oidc-provider offers PAR): its login page pushes the request first; it is not counted as a peer. pkce-wasm's callback page gets the discovery document from the login page (sessionStorage, validated again), so its only requests are the token request and, beside it, the JWKS.\n`;
md += `\nThe waterfall is read from each page's Resource Timing entries (request start to response end) and from wrapping \`WebAssembly.instantiateStreaming\` (call to resolve, which includes the streamed compile and the rest of the download); a step a page does not have is "–". Chromium compiles wasm functions lazily, on first call, so the time between "wasm compile + instantiate" and the next request, and between the token response and "tokens", includes compiling the code that runs there.\n`;
fs.writeFileSync(process.env.BENCH_REPORT ?? path.join(here, 'REPORT.md'), md); // BENCH_REPORT: elsewhere, for a quick trial
console.log(md);
