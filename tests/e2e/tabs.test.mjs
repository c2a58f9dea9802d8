// Tabs in step (issue 15), real Chromium + real oidc-provider: two pages of
// one browser context share localStorage and BroadcastChannel. With
// localStorage a login, a refresh and a logout in one tab reach the other
// within a second — events, state and getAccessToken() as if they had
// happened there; with memory each tab has its own login, and a logout in
// one ends the other's (its refresh token revoked).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, signIn, withDiagnostics, startTestDemo, startLogin } from './support.mjs';

let demo;
let browser;

before(async () => {
  demo = await startTestDemo({ accessTokenTtl: 600 });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await demo?.close();
});

const testUrl = (opts = {}) => `${demo.origin}/test/?opts=${encodeURIComponent(JSON.stringify(opts))}`;

async function open(page, opts) {
  await page.goto(testUrl(opts));
  await page.waitForSelector('#status[data-done]');
}

async function login(page, opts) {
  await open(page, opts);
  await startLogin(page);
  await signIn(page);
  await page.waitForSelector('#status[data-done]');
  assert.equal(await page.textContent('#status'), 'in');
}

/** Waits up to `ms` for `event` in the page's event log; the time it took. */
async function within(page, event, ms = 1000) {
  const t = Date.now();
  await page.waitForFunction((e) => window.events.includes(e), event, { timeout: ms });
  return Date.now() - t;
}

async function refreshAtProvider(refreshToken) {
  const res = await fetch(demo.meta.token_endpoint, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: demo.config.clientId }),
  });
  return res.json();
}

test('localStorage: a login, a refresh and a logout in one tab reach the other within a second', async () => {
  const context = await browser.newContext();
  const a = await newPage(context);
  const b = await newPage(context);
  const opts = { cacheLocation: 'localStorage' };
  await withDiagnostics(a, 'tabs-local', async () => {
    await open(b, opts);
    assert.equal(await b.evaluate(() => window.auth.isAuthenticated()), false);
    await login(a, opts);
    await within(b, 'loggedIn');
    assert.equal(await b.evaluate(() => window.auth.isAuthenticated()), true);
    const tokensA = await a.evaluate(() => window.auth.getTokens());
    assert.equal(await b.evaluate(() => window.auth.getAccessToken()), tokensA.accessToken, 'the other tab uses the same tokens');

    const fresh = await a.evaluate(() => window.auth.getAccessToken({ forceRefresh: true }));
    assert.notEqual(fresh, tokensA.accessToken);
    await within(b, 'tokensRefreshed');
    assert.equal(await b.evaluate(() => window.auth.getAccessToken()), fresh, 'and the refreshed one, without a refresh of its own');

    await a.evaluate(() => window.auth.logout({ localOnly: true }));
    await within(b, 'loggedOut');
    assert.equal(await b.evaluate(() => window.auth.isAuthenticated()), false);
    assert.equal(await b.evaluate(() => window.auth.getAccessToken().catch((e) => e.code)), 'not_authenticated');
    const events = await b.evaluate(() => window.events);
    assert.deepEqual(events, ['loggedIn', 'tokensRefreshed', 'loggedOut'], 'each once');
  });
  await context.close();
});

test('memory: a logout in one tab ends the other tab\'s own session too, and revokes its refresh token', async () => {
  const context = await browser.newContext();
  const a = await newPage(context);
  const b = await newPage(context);
  const opts = { cacheLocation: 'memory' };
  await withDiagnostics(b, 'tabs-memory', async () => {
    await login(a, opts);
    await login(b, opts);
    const rtB = (await b.evaluate(() => window.auth.getTokens())).refreshToken;
    assert.ok(rtB, 'tab b has its own refresh token');
    assert.equal(await a.evaluate(() => window.auth.isAuthenticated()), true, "b's login does not touch a's");
    await a.evaluate(() => window.auth.logout({ localOnly: true }));
    await within(b, 'loggedOut');
    assert.equal(await b.evaluate(() => window.auth.isAuthenticated()), false);
    assert.equal((await refreshAtProvider(rtB)).error, 'invalid_grant', "b's refresh token was revoked");
  });
  await context.close();
});
