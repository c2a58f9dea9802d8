// The reliability rules end to end, real oidc-provider + real Chromium: each
// test is a way pkce-wasm lost (or resurrected) a session before the sans-IO
// session machine (main e9053d5 fails every one of them).
//   1. write-ahead: a refresh whose answer rotated the refresh token, then a failure;
//   2. logout wins: a logout while a refresh is in flight;
//   3. no silent loss: a storage write that throws on the callback;
//   5. keyed by issuer and client: two clients for two issuers on one origin.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startProvider } from '../../scripts/lib/idp.mjs';
import { launch, newPage, signIn, withDiagnostics, startTestDemo, startLogin } from './support.mjs';

let demo;
let other; // a second provider, for the two-clients test
let browser;
const grants = { refreshes: 0, errors: [] };

before(async () => {
  demo = await startTestDemo({ accessTokenTtl: 600 });
  demo.idp.provider.on('grant.success', (ctx) => {
    if (ctx.oidc.params.grant_type === 'refresh_token') grants.refreshes++;
  });
  demo.idp.provider.on('grant.error', (ctx, err) => grants.errors.push(err.error));
  other = await startProvider({ appOrigin: demo.origin, redirectUris: [`${demo.origin}/test/`], clientId: 'other-client' });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await demo?.close();
  await other?.close();
});

const testUrl = (opts = {}) => `${demo.origin}/test/?opts=${encodeURIComponent(JSON.stringify(opts))}`;
const statusOf = (page) => page.textContent('#status');

async function login(page, opts = {}) {
  await page.goto(testUrl(opts));
  await page.waitForSelector('#status[data-done]');
  await startLogin(page);
  await signIn(page);
  await page.waitForSelector('#status[data-done]');
  assert.equal(await statusOf(page), 'in');
}

/** The refresh tokens the provider issued to the page, in order. */
function issuedRefreshTokens(page) {
  const issued = [];
  // Recorded where the provider answers: DevTools may not hold a body the
  // page read as a stream.
  demo.idp.tokenListeners.add((answer) => {
    let body = {};
    try {
      body = JSON.parse(answer);
    } catch {}
    if (body.refresh_token) issued.push(body.refresh_token);
  });
  return issued;
}

async function refreshAtProvider(refreshToken) {
  const res = await fetch(demo.meta.token_endpoint, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: demo.config.clientId }),
  });
  return res.json();
}

test('StrictMode: handleRedirectCallback twice at once with one URL sends one token request and resolves both with the same tokens', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  let posts = 0;
  page.on('request', (r) => r.url() === demo.meta.token_endpoint && r.method() === 'POST' && posts++);
  await withDiagnostics(page, 'strict-mode-callback', async () => {
    await page.goto(testUrl());
    await page.waitForSelector('#status[data-done]');
    await page.evaluate(() => sessionStorage.setItem('test-double', '1'));
    await startLogin(page);
    await signIn(page);
    await page.waitForSelector('#status[data-done]');
    assert.equal(await statusOf(page), 'in');
    const [a, b] = await page.evaluate(() => window.double);
    assert.equal(a.status, 'fulfilled', JSON.stringify(a));
    assert.equal(b.status, 'fulfilled', JSON.stringify(b));
    assert.ok(a.accessToken && a.accessToken === b.accessToken, 'the same tokens');
    assert.equal(posts, 1, 'one token request');
  });
  await context.close();
});

const isRefresh = (body) => typeof body === 'object' && body?.refresh_token && body?.id_token;

test('1. write-ahead: a rotated refresh token survives a broken answer and a JWKS timeout; the retry needs no login', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  await withDiagnostics(page, 'reliability-write-ahead', async () => {
    await login(page, { cacheLocation: 'sessionStorage', timeout: 1 });
    const before = await page.evaluate(() => window.auth.getTokens());

    // The provider rotates the refresh token, but its answer carries "expires_in":"3600".
    let broken = true;
    demo.idp.faults.tokenResponse = (body) => (broken && isRefresh(body) ? ((broken = false), { ...body, expires_in: String(body.expires_in) }) : body);
    const first = await page.evaluate(() => window.auth.getAccessToken({ forceRefresh: true }).catch((e) => e.code));
    assert.equal(first, 'invalid_token_response');
    assert.equal((await page.evaluate(() => window.auth.getTokens())).accessToken, before.accessToken, 'the unvalidated tokens are not handed out');
    demo.idp.faults.tokenResponse = null;
    const second = await page.evaluate(() => window.auth.getAccessToken({ forceRefresh: true }));
    assert.notEqual(second, before.accessToken, 'the retry refreshes with the rotated token');

    // A reload empties the page's JWKS cache; the refreshed ID token needs the JWKS, which hangs.
    await page.reload();
    await page.waitForSelector('#status[data-done]');
    const jwksUri = demo.meta.jwks_uri;
    demo.idp.faults.respond = (ctx) => (ctx.href === jwksUri ? 'hang' : false);
    const third = await page.evaluate(() => window.auth.getAccessToken({ forceRefresh: true }).catch((e) => e.code));
    assert.equal(third, 'timeout');
    demo.idp.faults.respond = null;
    const fourth = await page.evaluate(() => window.auth.getAccessToken({ forceRefresh: true }));
    assert.ok(fourth, 'the retry succeeds without a new login');
    assert.equal(await page.evaluate(() => window.auth.isAuthenticated()), true);
    assert.ok(!(await page.evaluate(() => window.events)).includes('sessionExpired'));
    assert.deepEqual(grants.errors, [], 'no refresh token was spent twice');
  });
  demo.idp.faults.tokenResponse = null;
  demo.idp.faults.respond = null;
  await context.close();
});

test('2. logout wins: a refresh in flight writes nothing after the logout, and its refresh token is revoked', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  const issued = issuedRefreshTokens(page);
  await withDiagnostics(page, 'reliability-logout-wins', async () => {
    await login(page, { cacheLocation: 'localStorage' });
    // The provider rotates the refresh token and takes its time to answer.
    demo.idp.faults.tokenResponse = async (body) => {
      if (isRefresh(body)) await new Promise((r) => setTimeout(r, 600));
      return body;
    };
    const outcome = await page.evaluate(async () => {
      const refresh = window.auth.getAccessToken({ forceRefresh: true }).then(
        () => 'refreshed',
        (e) => e.code,
      );
      await new Promise((r) => setTimeout(r, 150)); // the refresh is at the provider
      await window.auth.logout({ localOnly: true });
      const result = await refresh;
      await new Promise((r) => setTimeout(r, 300));
      const stored = Object.entries(localStorage).filter(([k]) => k.startsWith('pkce-wasm.session.'));
      return { result, authenticated: window.auth.isAuthenticated(), events: window.events, stored };
    });
    demo.idp.faults.tokenResponse = null;
    assert.equal(outcome.authenticated, false, 'no session after the logout');
    const afterLogout = outcome.events.slice(outcome.events.indexOf('loggedOut'));
    assert.ok(!afterLogout.includes('tokensRefreshed'), `no tokensRefreshed after loggedOut: ${outcome.events}`);
    assert.ok(outcome.stored.every(([, v]) => !/(^|&)(at|rt|id)=/.test(v)), `no token back in storage: ${JSON.stringify(outcome.stored)}`);
    assert.notEqual(outcome.result, 'refreshed');
    // The refresh token the in-flight refresh obtained is dead at the provider.
    const rotated = issued.at(-1);
    assert.equal((await refreshAtProvider(rotated)).error, 'invalid_grant');
  });
  demo.idp.faults.tokenResponse = null;
  await context.close();
});

test('3. no silent loss: a storage write that throws on the callback keeps the session in the tab and says so', async () => {
  const context = await browser.newContext();
  // localStorage refuses to store the session (a full quota); everything else works.
  await context.addInitScript(() => {
    const setItem = Storage.prototype.setItem;
    Storage.prototype.setItem = function (k, v) {
      if (this === window.localStorage && String(k).startsWith('pkce-wasm.session.')) throw new DOMException('full', 'QuotaExceededError');
      return setItem.call(this, k, v);
    };
  });
  const page = await newPage(context);
  await withDiagnostics(page, 'reliability-no-silent-loss', async () => {
    await login(page, { cacheLocation: 'localStorage' });
    const state = await page.evaluate(async () => ({
      authenticated: window.auth.isAuthenticated(),
      token: await window.auth.getAccessToken().then((t) => typeof t, (e) => e.code),
      events: window.events,
    }));
    assert.equal(state.authenticated, true, 'the tab keeps its session');
    assert.equal(state.token, 'string');
    assert.ok(state.events.includes('error:storage_unavailable'), `the app is told: ${state.events}`);
  });
  await context.close();
});

test("5. keyed by issuer and client: a callback for another client's login is refused untouched, and that client completes it", async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  const tokenRequests = { demo: 0, other: 0 };
  page.on('request', (r) => {
    if (r.method() !== 'POST') return;
    if (r.url() === demo.meta.token_endpoint) tokenRequests.demo++;
    if (r.url().startsWith(other.issuer) && r.url().includes('/token')) tokenRequests.other++;
  });
  let callbackUrl;
  page.on('framenavigated', (f) => {
    if (f === page.mainFrame() && f.url().includes('code=')) callbackUrl ??= f.url();
  });
  await withDiagnostics(page, 'reliability-two-clients', async () => {
    await page.goto(testUrl());
    await page.waitForSelector('#status[data-done]');
    // The app's second client, for the other provider, starts a login.
    await page.evaluate(async (o) => {
      const { createClient } = await import('/dist/pkce-wasm.js');
      const b = await createClient({ issuer: o.issuer, clientId: 'other-client', redirectUri: location.origin + '/test/', scope: 'openid' });
      await b.loginWithRedirect();
    }, { issuer: other.issuer });
    await signIn(page);
    await page.waitForSelector('#status[data-done]');
    // The page's own client (the demo provider's) met the other provider's callback first.
    assert.equal(await statusOf(page), 'error:callback_other_client');
    assert.equal(tokenRequests.demo, 0, 'nothing was sent to the wrong token endpoint');
    assert.ok(callbackUrl, 'the callback arrived');
    const result = await page.evaluate(async ({ issuer, url }) => {
      const { createClient } = await import('/dist/pkce-wasm.js');
      const b = await createClient({ issuer, clientId: 'other-client', redirectUri: location.origin + '/test/', scope: 'openid' });
      return b.handleRedirectCallback(url).then((r) => r.claims.iss, (e) => `error:${e.code}`);
    }, { issuer: other.issuer, url: callbackUrl });
    assert.equal(result, other.issuer, "the other client completes its own login");
    assert.equal(tokenRequests.other, 1);
  });
  await context.close();
});
