// Strict Content-Security-Policy (issue 17), real Chromium + real
// oidc-provider: a page served with default-src 'self'; script-src 'self'
// 'wasm-unsafe-eval'; connect-src 'self' <provider> logs in; without
// 'wasm-unsafe-eval' the SDK fails with wasm_load_failed and a message that
// names the directive to add.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, newPage, withDiagnostics, startTestDemo, signIn, startLogin } from './support.mjs';

let demo;
let browser;
// The policy the app's pages are served with (per test).
let policy = '';

before(async () => {
  const pages = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pages-csp');
  demo = await startTestDemo({
    extraMounts: { '/csp/': pages },
    extraRedirectPaths: ['/csp/'],
    pageHeaders: (pathname) => (pathname.startsWith('/csp/') && pathname.endsWith('.html') ? { 'Content-Security-Policy': policy } : {}),
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await demo?.close();
});

/** Serves the app's pages with `csp` as their Content-Security-Policy header (by the app's own server). */
async function withPolicy(page, csp) {
  policy = csp;
}

test("strict CSP with 'wasm-unsafe-eval': the SDK loads, a full login completes, and checkSession's iframe works under frame-src", async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  const violations = [];
  page.on('console', (m) => /Content Security Policy/i.test(m.text()) && violations.push(m.text()));
  await withDiagnostics(page, 'csp', async () => {
    await withPolicy(page, `default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; connect-src 'self' ${demo.issuer}; frame-src 'self' ${demo.issuer}`);
    await page.goto(`${demo.origin}/csp/`);
    await page.waitForSelector('#status[data-done]');
    assert.equal(await page.textContent('#status'), 'out', await page.getAttribute('#status', 'title'));
    await startLogin(page);
    await signIn(page);
    await page.waitForURL(`${demo.origin}/csp/**`);
    await page.waitForSelector('#status[data-done]');
    assert.equal(await page.textContent('#status'), 'in:alice', await page.getAttribute('#status', 'title'));
    // Silent login: the hidden iframe (hidden by attributes, no inline style) to the provider and back.
    const silent = await page.evaluate(() => window.auth.checkSession().then((r) => r.claims.sub, (e) => `error:${e.code}`));
    assert.equal(silent, 'alice');
    assert.deepEqual(violations, [], 'no CSP violation on the app page');
  });
  await context.close();
});

test("strict CSP without 'wasm-unsafe-eval': wasm_load_failed, and the message names the directive to add", async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  await withDiagnostics(page, 'csp-no-wasm', async () => {
    await withPolicy(page, `default-src 'self'; script-src 'self'; connect-src 'self' ${demo.issuer}`);
    await page.goto(`${demo.origin}/csp/`);
    await page.waitForSelector('#status[data-done]');
    assert.equal(await page.textContent('#status'), 'error:wasm_load_failed');
    const message = await page.getAttribute('#status', 'title');
    assert.match(message, /'wasm-unsafe-eval'/);
    assert.match(message, /script-src/);
  });
  await context.close();
});
