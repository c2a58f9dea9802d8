// Session lifecycle end to end, real oidc-provider + real Chromium: refresh
// with rotation, the cross-tab race, sleep, logout with revocation, the bearer
// fetch wrapper, and failed refreshes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { listen, close } from '../../scripts/lib/net.mjs';
import { launch, newPage, signIn, withDiagnostics, startTestDemo, startLogin } from './support.mjs';
const RACE_ITERATIONS = 50;

let demo; // access tokens live 120 s
let short; // access tokens live 3 s
let browser;
const stats = new Map(); // demo → { refreshes, grantErrors }

async function start(accessTokenTtl) {
  const d = await startTestDemo({ accessTokenTtl });
  const s = { refreshes: 0, grantErrors: [] };
  d.idp.provider.on('grant.success', (ctx) => {
    if (ctx.oidc.params.grant_type === 'refresh_token') s.refreshes++;
  });
  d.idp.provider.on('grant.error', (ctx, err) => s.grantErrors.push(err.error));
  stats.set(d, s);
  return d;
}

before(async () => {
  [demo, short] = await Promise.all([start(120), start(3)]);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await demo?.close();
  await short?.close();
});

const testUrl = (d, opts = {}) => `${d.origin}/test/?opts=${encodeURIComponent(JSON.stringify(opts))}`;
const statusOf = (page) => page.textContent('#status');

async function open(page, d, opts) {
  await page.goto(testUrl(d, opts));
  await page.waitForSelector('#status[data-done]');
}

async function login(page, d, opts = {}) {
  await open(page, d, opts);
  await startLogin(page);
  await signIn(page);
  await page.waitForSelector('#status[data-done]');
  assert.equal(await statusOf(page), 'in');
}

/** Records refresh tokens issued and sent at `d`'s token endpoint. */
function watchTokens(page, d) {
  const issued = [];
  const sent = [];
  page.on('request', (r) => {
    if (r.url() === d.meta.token_endpoint && r.method() === 'POST') sent.push(new URLSearchParams(r.postData()));
  });
  // Recorded where the provider answers: DevTools may not hold a body the
  // page read as a stream.
  d.idp.tokenListeners.add((answer) => {
    let body = {};
    try {
      body = JSON.parse(answer);
    } catch {}
    if (body.refresh_token) issued.push(body.refresh_token);
  });
  return { issued, sent };
}

async function refreshAtProvider(d, refreshToken) {
  const res = await fetch(d.meta.token_endpoint, {
    method: 'POST',
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: refreshToken, client_id: d.config.clientId }),
  });
  return { status: res.status, body: await res.json() };
}

const call = (page, fn, arg) => page.evaluate(fn, arg).catch((e) => `THROWN:${e.message}`);

test('short-lived access token: refresh really happens, with rotation; the old refresh token is rejected by the provider', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  const tokens = watchTokens(page, short);
  await withDiagnostics(page, 'rotation', async () => {
    await login(page, short, { refreshLeeway: 1 });
    const first = await page.evaluate(() => window.auth.getTokens());
    assert.ok(first.expiresAt - Date.now() <= 3000, 'the provider issued a 3 s access token');
    await page.waitForTimeout(3200); // let it expire for real
    const second = await page.evaluate(() => window.auth.getAccessToken());
    assert.notEqual(second, first.accessToken);
    assert.equal(tokens.sent.at(-1).get('grant_type'), 'refresh_token');
    assert.equal(tokens.sent.at(-1).get('refresh_token'), tokens.issued[0]);
    assert.notEqual(tokens.issued[1], tokens.issued[0], 'the provider rotated the refresh token');

    await page.waitForTimeout(3200);
    await page.evaluate(() => window.auth.getAccessToken());
    assert.equal(tokens.sent.at(-1).get('refresh_token'), tokens.issued[1], 'the rotated token is the one used');
    assert.deepEqual(await page.evaluate(() => window.events), ['loggedIn', 'tokensRefreshed', 'tokensRefreshed']);

    const userinfo = await page.evaluate(() => window.auth.getUserInfo());
    assert.equal(userinfo.sub, 'alice', 'the refreshed token works');

    const reuse = await refreshAtProvider(short, tokens.issued[0]);
    assert.equal(reuse.status, 400);
    assert.equal(reuse.body.error, 'invalid_grant', 'the rotated-out refresh token is dead');
  });
  await context.close();
});

test(`two tabs sharing localStorage refresh at expiry ${RACE_ITERATIONS} times: one refresh each, no invalid_grant`, async () => {
  const context = await browser.newContext();
  const a = await newPage(context);
  const b = await newPage(context);
  const s = stats.get(demo);
  await withDiagnostics(a, 'race', async () => {
    const opts = { cacheLocation: 'localStorage' };
    await login(a, demo, opts);
    await open(b, demo, opts);
    assert.equal(await statusOf(b), 'in', 'the second tab restored the session from localStorage');
    const errorsBefore = s.grantErrors.length;
    let now = Date.now();
    for (let i = 0; i < RACE_ITERATIONS; i++) {
      // 61 s later by the page clock: inside the 60 s leeway of a 120 s token.
      now += 61_000;
      await context.clock.setSystemTime(now);
      const before = s.refreshes;
      const get = () => window.auth.getAccessToken().catch((e) => `ERR:${e.code}`);
      const [ta, tb] = await Promise.all([a.evaluate(get), b.evaluate(get)]);
      assert.ok(!ta.startsWith('ERR:') && !tb.startsWith('ERR:'), `iteration ${i}: ${ta} ${tb}; provider errors ${s.grantErrors}; events ${await a.evaluate(() => window.events)}`);
      assert.equal(ta, tb, `iteration ${i}: both tabs end with the same token`);
      assert.equal(s.refreshes - before, 1, `iteration ${i}: exactly one refresh at the provider`);
    }
    assert.deepEqual(s.grantErrors.slice(errorsBefore), [], 'the provider saw no invalid_grant');
    for (const p of [a, b]) {
      assert.equal(await p.evaluate(() => window.auth.isAuthenticated()), true);
      assert.ok(!(await p.evaluate(() => window.events)).some((e) => e.startsWith('sessionExpired') || e.startsWith('error')));
    }
    assert.equal((await b.evaluate(() => window.auth.getUserInfo())).sub, 'alice', 'the final token is valid');
  });
  await context.close();
});

test('sleep: the page clock jumps past expiry without timers firing; getAccessToken refreshes', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  const s = stats.get(demo);
  await withDiagnostics(page, 'sleep', async () => {
    await login(page, demo, { autoRefresh: true });
    const before = await page.evaluate(() => window.auth.getTokens());
    const refreshes = s.refreshes;
    await context.clock.setSystemTime(Date.now() + 10 * 60_000);
    assert.equal(s.refreshes, refreshes, 'no timer fired');
    const token = await page.evaluate(() => window.auth.getAccessToken());
    assert.notEqual(token, before.accessToken);
    assert.equal(s.refreshes, refreshes + 1);
    const after = await page.evaluate(() => window.auth.getTokens());
    assert.ok(after.expiresAt > Date.now() + 10 * 60_000, 'expiry judged from the (new) wall clock');
  });
  await context.close();
});

test('logout: local state gone, refresh token revoked at the provider, redirect to post_logout_redirect_uri', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  const tokens = watchTokens(page, demo);
  await withDiagnostics(page, 'logout', async () => {
    await login(page, demo, { cacheLocation: 'localStorage' });
    const rt = tokens.issued.at(-1);
    assert.ok(await page.evaluate(() => Object.keys(localStorage).some((k) => k.startsWith('pkce-wasm.session.'))));
    const returnTo = `${demo.origin}/test/`;
    // logout() resolves to true: the page is on its way to the provider (kept across the navigation).
    await Promise.all([
      page.waitForURL(/\/session\/end/),
      page.evaluate((r) => window.auth.logout({ returnTo: r }).then((navigating) => sessionStorage.setItem('logout-navigating', String(navigating))), returnTo),
    ]);
    const reuse = await refreshAtProvider(demo, rt);
    assert.equal(reuse.body.error, 'invalid_grant', 'revoked before leaving the app');
    assert.match(page.url(), /id_token_hint=/);
    assert.match(page.url(), /post_logout_redirect_uri=/);
    assert.doesNotMatch(page.url(), /[?&]state=/, 'no state that nothing would check');
    await page.click('button[value=yes]');
    await page.waitForURL((u) => u.href.startsWith(returnTo));
    await page.waitForSelector('#status[data-done]');
    assert.equal(await statusOf(page), 'out');
    assert.equal(await page.evaluate(() => sessionStorage.getItem('logout-navigating')), 'true');
    // Back on the app's origin: its localStorage keeps only a tombstone (the logout epoch), no token.
    const left = await page.evaluate(() => Object.entries(localStorage).filter(([k]) => k.startsWith('pkce-wasm.session.')));
    assert.ok(left.length === 1 && /(^|&)out=1(&|$)/.test(left[0][1]) && !/(^|&)(at|rt|id)=/.test(left[0][1]), JSON.stringify(left));

    // localOnly: no navigation, the loggedOut event fires.
    await login(page, demo, {});
    assert.equal(await page.evaluate(() => window.auth.logout({ localOnly: true })), false, 'a local logout stays: false');
    assert.equal(await page.evaluate(() => window.auth.isAuthenticated()), false);
    assert.ok((await page.evaluate(() => window.events)).includes('loggedOut'));
  });
  await context.close();
});

/** A resource server on its own loopback origin that records Authorization headers. */
async function resourceServer(appOrigin, { rejectFirst = false } = {}) {
  const seen = [];
  let rejected = !rejectFirst;
  const server = http.createServer((req, res) => {
    res.setHeader('Access-Control-Allow-Origin', appOrigin);
    res.setHeader('Access-Control-Allow-Headers', 'authorization, dpop, content-type');
    res.setHeader('Access-Control-Expose-Headers', 'WWW-Authenticate');
    if (req.method === 'OPTIONS') return res.end();
    // /r?to=<url>: a redirect, anywhere.
    const to = new URL(req.url, 'http://x').searchParams.get('to');
    if (to) {
      seen.push({ auth: req.headers.authorization ?? null, redirect: to });
      res.writeHead(302, { Location: to });
      return res.end();
    }
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push({ auth: req.headers.authorization ?? null, body, method: req.method });
      if (!rejected && req.headers.authorization) {
        rejected = true;
        res.writeHead(401, { 'WWW-Authenticate': 'Bearer realm="api", error="invalid_token"' });
        return res.end();
      }
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ ok: true }));
    });
  });
  const port = await listen(server);
  return { origin: `http://127.0.0.1:${port}`, seen, close: () => close(server) };
}

test('fetch: the token goes to the configured API origin only; a 401 invalid_token refreshes once and retries', async () => {
  const api = await resourceServer(demo.origin, { rejectFirst: true });
  const other = await resourceServer(demo.origin);
  const context = await browser.newContext();
  const page = await newPage(context);
  const s = stats.get(demo);
  try {
    await withDiagnostics(page, 'fetch', async () => {
      await login(page, demo, { apiOrigins: [api.origin] });
      const token = await page.evaluate(() => window.auth.getAccessToken());

      const thirdParty = await page.evaluate((u) => window.auth.fetch(u + '/x').then((r) => r.status), other.origin);
      assert.equal(thirdParty, 200);
      // A URL object works too, as with fetch().
      const viaUrl = await page.evaluate((u) => window.auth.fetch(new URL(u + '/y')).then((r) => r.status), other.origin);
      assert.equal(viaUrl, 200);
      assert.deepEqual(other.seen.map((r) => r.auth), [null, null], 'no Authorization header to another origin');

      const refreshes = s.refreshes;
      const status = await page.evaluate(
        (u) => window.auth.fetch(u + '/data', { method: 'POST', body: 'payload' }).then((r) => r.status),
        api.origin,
      );
      assert.equal(status, 200, 'the retry succeeded');
      assert.equal(api.seen.length, 2, 'one request, one retry');
      assert.equal(api.seen[0].auth, `Bearer ${token}`);
      assert.match(api.seen[1].auth, /^Bearer /);
      assert.notEqual(api.seen[1].auth, api.seen[0].auth, 'the retry carries the refreshed token');
      assert.equal(api.seen[1].body, 'payload', 'the body was replayed');
      assert.equal(s.refreshes, refreshes + 1, 'exactly one refresh');
    });
  } finally {
    await context.close();
    await api.close();
    await other.close();
  }
});

test('fetch: an allowed API that redirects elsewhere gets no follow-up — the token never reaches the third origin', async () => {
  const api = await resourceServer(demo.origin);
  const third = await resourceServer(demo.origin); // records every header it gets, answers any preflight
  const context = await browser.newContext();
  const page = await newPage(context);
  try {
    await withDiagnostics(page, 'fetch-redirect', async () => {
      await login(page, demo, { apiOrigins: [api.origin] });
      const results = await page.evaluate(async ([a, t]) => {
        const out = [];
        for (const to of [`${t}/rec`, `${a}/same-origin`]) {
          try {
            const r = await window.auth.fetch(`${a}/r?to=${encodeURIComponent(to)}`);
            out.push(`status ${r.status}`);
          } catch (e) {
            out.push(e.code ?? String(e));
          }
        }
        return out;
      }, [api.origin, third.origin]);
      assert.deepEqual(results, ['api_redirect_refused', 'api_redirect_refused']);
      assert.equal(api.seen.filter((r) => r.redirect).length, 2, 'the API was asked (with the token) and redirected');
      assert.match(api.seen[0].auth, /^Bearer /);
      assert.deepEqual(third.seen, [], 'nothing reached the third origin');
    });
  } finally {
    await context.close();
    await api.close();
    await third.close();
  }
});

test('a failed refresh (provider unreachable) keeps the session; invalid_grant ends it with login_required', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  const tokens = watchTokens(page, demo);
  await withDiagnostics(page, 'failed-refresh', async () => {
    await login(page, demo, { cacheLocation: 'sessionStorage' });
    const before = await page.evaluate(() => window.auth.getTokens());
    await page.route(demo.meta.token_endpoint, (route) => route.abort('connectionrefused'));
    const down = await page.evaluate(() => window.auth.getAccessToken({ forceRefresh: true }).catch((e) => e.code));
    assert.equal(down, 'network_error');
    assert.equal(await page.evaluate(() => window.auth.isAuthenticated()), true, 'session kept');
    assert.equal((await page.evaluate(() => window.auth.getTokens())).accessToken, before.accessToken);
    await page.unroute(demo.meta.token_endpoint);
    const again = await page.evaluate(() => window.auth.getAccessToken({ forceRefresh: true }));
    assert.notEqual(again, before.accessToken, 'refresh works once the provider is back');

    // Revoke the refresh token behind the app's back: the next refresh gets invalid_grant.
    const rt = tokens.issued.at(-1);
    const revoke = await fetch(demo.meta.revocation_endpoint, {
      method: 'POST',
      body: new URLSearchParams({ token: rt, token_type_hint: 'refresh_token', client_id: demo.config.clientId }),
    });
    assert.equal(revoke.status, 200);
    const ended = await page.evaluate(() => window.auth.getAccessToken({ forceRefresh: true }).catch((e) => e.code));
    assert.equal(ended, 'login_required');
    assert.equal(await page.evaluate(() => window.auth.isAuthenticated()), false);
    assert.ok((await page.evaluate(() => window.events)).includes('sessionExpired'));
    // What is left is a tombstone (the logout epoch), without a token in it.
    const left = await page.evaluate(() => Object.entries(sessionStorage).filter(([k]) => k.startsWith('pkce-wasm.session.')));
    assert.ok(left.every(([, v]) => /(^|&)out=1(&|$)/.test(v) && !/(^|&)(at|rt|id)=/.test(v)), JSON.stringify(left));
  });
  await context.close();
});

test('getUser({ userInfo: true }): UserInfo adds profile claims, never the ID token\'s, and no prototype keys', async () => {
  const page = await newPage(browser);
  await withDiagnostics(page, 'userinfo-merge', async () => {
    await login(page, demo);
    const idClaims = await page.evaluate(() => window.auth.getUser());
    // A UserInfo answer that tries to rewrite the validated claims and to pollute prototypes.
    await page.route(demo.meta.userinfo_endpoint, (route) => route.fulfill({
      status: 200,
      headers: { 'content-type': 'application/json', 'access-control-allow-origin': demo.origin },
      body: '{"sub":"alice","iss":"https://evil.example","aud":"other","exp":1,"nonce":"x","acr":"urn:mfa","auth_time":1,'
        + '"name":"From UserInfo","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"prototype":{"polluted":true}}',
    }));
    const user = await page.evaluate(async () => {
      const u = await window.auth.getUser({ userInfo: true });
      return {
        iss: u.iss, aud: u.aud, exp: u.exp, nonce: u.nonce, acr: u.acr, authTime: u.auth_time, name: u.name,
        ownKeys: Object.keys(u).filter((k) => ['__proto__', 'constructor', 'prototype'].includes(k)),
        plainPrototype: Object.getPrototypeOf(u) === Object.prototype,
        polluted: ({}).polluted ?? Object.prototype.polluted ?? u.polluted ?? null,
      };
    });
    assert.equal(user.iss, idClaims.iss);
    assert.deepEqual(user.aud, idClaims.aud);
    assert.equal(user.exp, idClaims.exp);
    assert.equal(user.nonce, idClaims.nonce);
    assert.equal(user.authTime, idClaims.auth_time);
    assert.equal(user.acr, idClaims.acr);
    assert.equal(user.name, 'From UserInfo');
    assert.deepEqual(user.ownKeys, []);
    assert.equal(user.plainPrototype, true);
    assert.equal(user.polluted, null);
  });
  await page.context().close();
});
