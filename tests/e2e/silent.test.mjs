// Silent authentication (issue 15), real Chromium + real oidc-provider:
// checkSession() sends prompt=none in a hidden iframe to the silent redirect
// page, which hands the answer to the embedding page over BroadcastChannel.
// With a provider session it logs in (one token request, from the page);
// without one it fails with the provider's login_required; a provider that
// never answers is silent_timeout; and a provider on another site (localhost
// against an app on 127.0.0.1) is third_party_cookies_blocked where Chromium
// blocks third-party cookies, and logs in where it allows them (the same
// provider, its cookies SameSite=None) — each promptly, the iframe removed.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, launchProfile, newPage, withDiagnostics, startTestDemo, signIn, startLogin } from './support.mjs';

let demo;
let browser;
const authorizeRequests = [];
let tokenPosts = 0;

before(async () => {
  demo = await startTestDemo({
    hook: (ctx) => {
      if (ctx.method === 'GET' && ctx.path === '/auth') authorizeRequests.push(ctx.query);
      if (ctx.method === 'POST' && ctx.path === '/token') tokenPosts++;
      return false;
    },
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await demo?.close();
});

async function open(page, origin, opts = {}) {
  await page.goto(`${origin}/test/?opts=${encodeURIComponent(JSON.stringify(opts))}`);
  await page.waitForSelector('#status[data-done]');
}

/** checkSession() in the page: its result (or error code), how long it took, and the iframes left. */
function checkSession(page, options) {
  return page.evaluate(async (o) => {
    const t0 = performance.now();
    const r = await window.auth.checkSession(o).then(
      (r) => ({ sub: r.claims?.sub, accessToken: r.tokens.accessToken }),
      (e) => ({ code: e.code, name: e.name, message: e.message }),
    );
    return { ...r, ms: performance.now() - t0, frames: document.querySelectorAll('iframe').length };
  }, options ?? {});
}

test('checkSession without a provider session: login_required from the provider, no iframe left', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  await withDiagnostics(page, 'silent-none', async () => {
    // Without PAR, so that the test sees the authorization request's parameters.
    await open(page, demo.origin, { pushedAuthorizationRequests: false });
    const r = await checkSession(page);
    assert.equal(r.code, 'login_required', JSON.stringify(r));
    assert.equal(r.name, 'PkceWasmError');
    assert.equal(r.frames, 0, 'the iframe is removed');
    assert.ok(r.ms < 5000, `answered at once (${Math.round(r.ms)} ms)`);
    const sent = authorizeRequests.at(-1);
    assert.equal(sent.prompt, 'none');
    assert.match(sent.state, /^s\./);
    assert.equal(await page.evaluate(() => window.auth.isAuthenticated()), false);
  });
  await context.close();
});

test('checkSession with a provider session: logged in again after a reload (memory cache), one token request, two calls share one iframe', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  await withDiagnostics(page, 'silent-session', async () => {
    await open(page, demo.origin);
    await startLogin(page);
    await signIn(page);
    await page.waitForSelector('#status[data-done]');
    assert.equal(await page.textContent('#status'), 'in');
    // A reload forgets a memory session; the provider still has its own.
    await page.goto(`${demo.origin}/test/`);
    await page.waitForSelector('#status[data-done]');
    assert.equal(await page.textContent('#status'), 'out');
    const [posts, asked] = [tokenPosts, authorizeRequests.length];
    const [a, b] = await page.evaluate(async () => {
      let frames = 0;
      const seen = new MutationObserver((records) => {
        for (const r of records) frames += [...r.addedNodes].filter((n) => n.nodeName === 'IFRAME').length;
      });
      seen.observe(document.documentElement, { childList: true, subtree: true });
      const one = () => window.auth.checkSession().then((r) => ({ sub: r.claims?.sub, accessToken: r.tokens.accessToken }), (e) => ({ code: e.code }));
      const [x, y] = await Promise.all([one(), one()]);
      seen.disconnect();
      return [{ ...x, frames }, y];
    });
    assert.equal(a.sub, 'alice', JSON.stringify(a));
    assert.equal(a.frames, 1, 'one iframe for both calls');
    assert.equal(b.accessToken, a.accessToken, 'the same result for both calls');
    assert.equal(authorizeRequests.length, asked + 1, 'one authorization request');
    assert.equal(tokenPosts, posts + 1, 'one token request');
    assert.equal(await page.evaluate(() => window.auth.isAuthenticated()), true);
    assert.equal(await page.evaluate(() => document.querySelectorAll('iframe').length), 0, 'the iframe is removed');
    assert.equal(await page.evaluate(() => window.events.includes('loggedIn')), true);
  });
  await context.close();
});

test('silentFallback: without a refresh token, getAccessToken renews the session by a silent login', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  // This provider issues no refresh token (as some do for browsers).
  demo.idp.faults.tokenResponse = (body) => {
    delete body.refresh_token;
    return body;
  };
  try {
    await withDiagnostics(page, 'silent-fallback', async () => {
      // (A generous silentTimeout: the iframe loads the whole test app, and CI machines are busy.)
      await open(page, demo.origin, { silentFallback: true, silentTimeout: 30 });
      await startLogin(page);
      await signIn(page);
      await page.waitForSelector('#status[data-done]');
      const first = await page.evaluate(() => ({ tokens: window.auth.getTokens() }));
      assert.equal(first.tokens.refreshToken, undefined, 'no refresh token');
      const [posts, asked] = [tokenPosts, authorizeRequests.length];
      const r = await page.evaluate(async () => {
        const accessToken = await window.auth.getAccessToken({ forceRefresh: true }).catch((e) => `error:${e.code}`);
        return { accessToken, frames: document.querySelectorAll('iframe').length };
      });
      assert.ok(r.accessToken && !r.accessToken.startsWith('error:'), JSON.stringify(r));
      assert.notEqual(r.accessToken, first.tokens.accessToken, 'a new access token');
      assert.equal(authorizeRequests.length, asked + 1, 'through the provider (silently)');
      assert.equal(tokenPosts, posts + 1);
      assert.equal(r.frames, 0);
    });
  } finally {
    demo.idp.faults.tokenResponse = null;
  }
  await context.close();
});

test('checkSession against a provider that never answers: silent_timeout after silentTimeout, the iframe removed', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  demo.idp.faults.respond = (ctx) => (ctx.path === '/auth' && ctx.query.prompt === 'none' ? 'hang' : false);
  try {
    await withDiagnostics(page, 'silent-timeout', async () => {
      await open(page, demo.origin, { silentTimeout: 2, pushedAuthorizationRequests: false });
      const r = await checkSession(page);
      assert.equal(r.code, 'silent_timeout', JSON.stringify(r));
      assert.ok(r.ms >= 1900 && r.ms < 6000, `time-boxed (${Math.round(r.ms)} ms)`);
      assert.equal(r.frames, 0);
    });
  } finally {
    demo.idp.faults.respond = null;
  }
  await context.close();
});

test('checkSession refuses a prompt of the caller', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  await open(page, demo.origin);
  const r = await checkSession(page, { extraParams: { prompt: 'login' } });
  assert.equal(r.code, 'invalid_config');
  assert.match(r.message, /prompt/);
  assert.equal(r.frames, 0);
  await context.close();
});

test('the provider on another site, third-party cookies blocked: third_party_cookies_blocked, promptly, never a hang', async () => {
  // The provider as `localhost`, the app on 127.0.0.1: two sites, as a
  // provider on its own domain is; its cookies SameSite=None, so that only
  // the browser's setting keeps them from the iframe.
  const cross = await startTestDemo({ providerOptions: { host: 'localhost', crossSiteCookies: true } });
  const blocking = await launchProfile({ thirdPartyCookies: false });
  const page = await newPage(blocking);
  try {
    await withDiagnostics(page, 'silent-3pc', async () => {
      assert.match(cross.issuer, /^http:\/\/localhost:/);
      await open(page, cross.origin);
      // Never logged in here: the provider's word stands.
      const first = await checkSession(page);
      assert.equal(first.code, 'login_required', JSON.stringify(first));
      // A login at the top level (first party: the provider's cookies are set).
      await startLogin(page);
      await signIn(page);
      await page.waitForSelector('#status[data-done]');
      assert.equal(await page.textContent('#status'), 'in');
      await page.goto(`${cross.origin}/test/`);
      await page.waitForSelector('#status[data-done]');
      const r = await checkSession(page);
      assert.equal(r.code, 'third_party_cookies_blocked', JSON.stringify(r));
      assert.match(r.message, /third-party cookies/);
      assert.ok(r.ms < 5000, `answered at once (${Math.round(r.ms)} ms)`);
      assert.equal(r.frames, 0);
      // A second try gives the same answer: no loop, no hang.
      assert.equal((await checkSession(page)).code, 'third_party_cookies_blocked');
    });
  } finally {
    await blocking.close();
    await cross.close();
  }
});

test('the provider on another site, third-party cookies allowed (the control): checkSession logs in through the cross-site iframe', async () => {
  // The same two sites and provider, Chromium allowing third-party cookies:
  // what made the test above fail is the browser's blocking, nothing else.
  const cross = await startTestDemo({ providerOptions: { host: 'localhost', crossSiteCookies: true } });
  const context = await launchProfile({ thirdPartyCookies: true });
  const page = await newPage(context);
  try {
    await withDiagnostics(page, 'silent-3pc-allowed', async () => {
      await open(page, cross.origin);
      await startLogin(page);
      await signIn(page);
      await page.waitForSelector('#status[data-done]');
      assert.equal(await page.textContent('#status'), 'in');
      await page.goto(`${cross.origin}/test/`);
      await page.waitForSelector('#status[data-done]');
      const r = await checkSession(page);
      assert.equal(r.sub, 'alice', JSON.stringify(r));
      assert.equal(r.frames, 0);
    });
  } finally {
    await context.close();
    await cross.close();
  }
});
