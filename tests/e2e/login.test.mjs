// End to end: the demo app in real headless Chromium against a real
// oidc-provider on 127.0.0.1, both started here.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo } from '../../scripts/lib/demo.mjs';
import { launch, newPage, signIn, demoState, errorShown, withDiagnostics } from './support.mjs';

let demo;
let browser;
const tokenPosts = []; // every POST the provider's token endpoint received
const tokenBodies = []; // the token endpoint's answers, to prove nothing leaks
const jwksGets = []; // when the provider's JWKS was asked for
let tokenDelayMs = 0; // holds the token endpoint's answer back

before(async () => {
  demo = await startDemo({
    hook: async (ctx) => {
      if (ctx.method === 'POST' && ctx.path === '/token') {
        tokenPosts.push(Date.now());
        if (tokenDelayMs) await new Promise((r) => setTimeout(r, tokenDelayMs));
      }
      if (ctx.method === 'GET' && demo && ctx.path === new URL(demo.meta.jwks_uri).pathname) jwksGets.push(Date.now());
      return false;
    },
  });
  // Recorded where the provider answers, not from the browser: DevTools may no
  // longer hold a body the page read as a stream.
  demo.idp.tokenListeners.add((answer) => tokenBodies.push(answer));
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await demo?.close();
});

beforeEach(() => {
  demo.idp.faults.callback = null;
});

/** Starts a login from the demo and returns the callback URL the browser hit. */
async function loginThroughDemo(page) {
  let callbackUrl;
  page.on('request', (r) => {
    if (r.isNavigationRequest() && r.url().startsWith(demo.url) && /[?&](code|error)=/.test(r.url())) callbackUrl = r.url();
  });
  await page.goto(demo.url);
  await demoState(page, 'logged-out');
  await page.click('#login');
  await signIn(page);
  return () => callbackUrl;
}

test('full login: tokens, ID token claims, clean URL, userinfo through the bearer token', async () => {
  const page = await newPage(browser);
  await withDiagnostics(page, 'full-login', async () => {
    const before = tokenPosts.length;
    const callback = await loginThroughDemo(page);
    await demoState(page, 'logged-in');
    assert.equal(tokenPosts.length, before + 1, 'exactly one token request');
    assert.match(callback(), /[?&]code=/);
    assert.match(callback(), /[?&]iss=/, 'oidc-provider sends RFC 9207 iss');
    assert.equal(page.url(), demo.url, 'code, state and iss are removed from the address bar');

    const claims = JSON.parse(await page.textContent('#claims'));
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.iss, demo.issuer);
    assert.equal(claims.aud, demo.config.clientId);
    assert.match(await page.textContent('#access-token'), /…/, 'access token is masked');
    assert.match(await page.textContent('#expires'), /in \d+ s/);
    assert.equal(await page.textContent('#refresh-token'), 'issued (kept in memory)');
    // What a person sees: the Refresh button keeps its label and is usable.
    const refresh = page.getByRole('button', { name: 'Refresh tokens', exact: true });
    assert.equal(await refresh.innerText(), 'Refresh tokens');
    assert.equal(await refresh.isEnabled(), true);
    assert.equal(await page.locator('[id]').evaluateAll((els) => els.length - new Set(els.map((e) => e.id)).size), 0, 'no duplicate ids');
    assert.deepEqual(JSON.parse(await page.textContent('#app-state')).returnTo, '/');

    const leftovers = await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('pkce-wasm.tx.')));
    assert.deepEqual(leftovers, [], 'the transaction is consumed');

    await page.click('#call-api');
    await page.waitForFunction(() => document.getElementById('userinfo').textContent.length > 0);
    const answer = await page.textContent('#userinfo');
    assert.match(answer, /^OK/);
    assert.match(answer, /"sub": "alice"/);
    assert.match(answer, /"email": "alice@example.test"/);

    const body = JSON.parse(tokenBodies.at(-1));
    const secrets = [body.access_token, body.refresh_token, body.id_token, new URL(callback()).searchParams.get('code')];
    for (const line of page.consoleLines) for (const s of secrets) assert.ok(!line.includes(s), 'no secret in the console');
    const visible = await page.textContent('body');
    assert.ok(!visible.includes(body.access_token) && !visible.includes(body.refresh_token), 'tokens not shown in full');
  });
  await page.context().close();
});

test('the callback fetches the JWKS while the code is exchanged, not after', async () => {
  const page = await newPage(browser);
  tokenDelayMs = 800;
  try {
    await withDiagnostics(page, 'jwks-concurrent', async () => {
      const posts = tokenPosts.length;
      const gets = jwksGets.length;
      await loginThroughDemo(page);
      await demoState(page, 'logged-in');
      assert.equal(tokenPosts.length, posts + 1);
      assert.equal(jwksGets.length, gets + 1, 'one JWKS request');
      const [post, get] = [tokenPosts.at(-1), jwksGets.at(-1)];
      assert.ok(get - post < tokenDelayMs, `JWKS asked ${get - post} ms after the token request, while its answer was held ${tokenDelayMs} ms`);
    });
  } finally {
    tokenDelayMs = 0;
  }
  await page.context().close();
});

test('the callback page asks the provider for the token and the JWKS only: discovery comes from the login page', async () => {
  const page = await newPage(browser);
  const provider = new URL(demo.issuer).origin;
  let onCallback = false;
  const asked = [];
  page.on('request', (r) => {
    if (r.isNavigationRequest() && r.url().startsWith(demo.url) && /[?&]code=/.test(r.url())) onCallback = true;
    else if (onCallback && r.url().startsWith(provider)) asked.push(`${r.method()} ${new URL(r.url()).pathname}`);
  });
  await withDiagnostics(page, 'callback-round-trips', async () => {
    await loginThroughDemo(page);
    await demoState(page, 'logged-in');
    assert.deepEqual(asked.sort(), [`GET ${new URL(demo.meta.jwks_uri).pathname}`, `POST ${new URL(demo.meta.token_endpoint).pathname}`]);
  });
  await page.context().close();
});

test('reloading the cleaned page is harmless; replaying the callback is a typed error with no second token request', async () => {
  const page = await newPage(browser);
  await withDiagnostics(page, 'replay', async () => {
    const callback = await loginThroughDemo(page);
    await demoState(page, 'logged-in');
    const posts = tokenPosts.length;

    await page.reload();
    await demoState(page, 'logged-out');
    assert.equal(await page.isHidden('#error'), true, 'reload shows no error');

    await page.goto(callback());
    const err = await errorShown(page);
    assert.equal(err.code, 'callback_replayed');
    assert.match(err.message, /already handled/);
    assert.equal(tokenPosts.length, posts, 'no second token request');
    assert.ok(!err.message.includes(new URL(callback()).searchParams.get('code')));
  });
  await page.context().close();
});

test('tampered state → state_mismatch, and no token request', async () => {
  const page = await newPage(browser);
  await withDiagnostics(page, 'tampered-state', async () => {
    demo.idp.faults.callback = (url) => url.searchParams.set('state', url.searchParams.get('state') + 'x');
    const posts = tokenPosts.length;
    await loginThroughDemo(page);
    const err = await errorShown(page);
    assert.equal(err.code, 'state_mismatch');
    assert.equal(tokenPosts.length, posts);
    assert.equal(page.url(), demo.url, 'the address bar is cleaned on failure too');
  });
  await page.context().close();
});

test('wrong iss in the authorization response → iss_mismatch (RFC 9207)', async () => {
  const page = await newPage(browser);
  await withDiagnostics(page, 'iss-mismatch', async () => {
    demo.idp.faults.callback = (url) => url.searchParams.set('iss', 'http://127.0.0.1:1/evil');
    const posts = tokenPosts.length;
    await loginThroughDemo(page);
    const err = await errorShown(page);
    assert.equal(err.code, 'iss_mismatch');
    assert.equal(tokenPosts.length, posts);
  });
  await page.context().close();
});

test('consent denied → access_denied with the provider description', async () => {
  const page = await newPage(browser);
  await withDiagnostics(page, 'access-denied', async () => {
    await page.goto(demo.url);
    await demoState(page, 'logged-out');
    await page.click('#login');
    await page.waitForSelector('input[name=login]');
    await page.click('text=[ Cancel ]');
    const err = await errorShown(page);
    assert.equal(err.code, 'access_denied');
    assert.match(err.description, /End-User aborted interaction/);
    assert.match(err.message, /access_denied/);
  });
  await page.context().close();
});

test('a reused authorization code → the provider invalid_grant as a typed error', async () => {
  const page = await newPage(browser);
  await withDiagnostics(page, 'reused-code', async () => {
    // Spend the code once from outside the page, then let the page send it again.
    await page.route(demo.meta.token_endpoint, async (route) => {
      if (route.request().method() === 'POST') await route.fetch();
      await route.continue();
    });
    const posts = tokenPosts.length;
    await loginThroughDemo(page);
    const err = await errorShown(page);
    assert.equal(tokenPosts.length, posts + 2, 'the provider saw the code twice');
    assert.equal(err.code, 'invalid_grant');
    assert.match(err.message, /token endpoint returned invalid_grant/);
  });
  await page.context().close();
});

test('demo: Refresh gets new tokens, Log out ends the session at the provider and returns', async () => {
  const page = await newPage(browser);
  await withDiagnostics(page, 'demo-refresh-logout', async () => {
    await loginThroughDemo(page);
    await demoState(page, 'logged-in');
    const before = await page.textContent('#access-token');
    await page.click('#refresh');
    await demoState(page, 'refreshed');
    assert.notEqual(await page.textContent('#access-token'), before, 'a new (masked) access token');
    await page.click('#logout');
    await page.waitForSelector('button[value=yes]');
    await page.click('button[value=yes]');
    await page.waitForURL((u) => u.href.startsWith(demo.url));
    await demoState(page, 'logged-out');
    assert.equal(await page.isHidden('#error'), true);
  });
  await page.context().close();
});
