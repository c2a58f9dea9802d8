// pkce-wasm/react, tested from the `npm pack` tarball: the README's "React"
// code blocks, copied out of the README into a Vite + React 19 app rendered in
// <StrictMode>, which installs the tarball, builds for production, and runs in
// Chromium against oidc-provider and a resource server here (a bearer API that
// checks each token by introspection): redirect and popup login, the user on
// screen, the guard, the API call, logout, a logout in another tab, and the
// StrictMode double effect (one token request, no error). Also: the binding's
// own size (outside the SDK's budget), a strict TypeScript consumer, and SSR.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDemo } from '../../scripts/lib/demo.mjs';
import { listen, close } from '../../scripts/lib/net.mjs';
import { launch, newPage, signIn, signInPopup, withDiagnostics } from '../e2e/support.mjs';
import { kb, runtimeFiles, sizes } from '../../scripts/lib/sizes.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '../..');
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
/** `name@version` as pinned in the root's package-lock.json (installed from the npm cache when it is there). */
const pinned = (name) => `${name}@${lock.packages[`node_modules/${name}`].version}`;
const install = (dir, specs) =>
  run('npm', ['install', '--no-audit', '--no-fund', '--no-package-lock', '--prefer-offline', '--loglevel=error', ...specs], dir);

/** The fenced code blocks under the README's "### React" heading whose first line is `// <file>`: file → code. */
function readmeReactFiles() {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const start = readme.indexOf('\n### React\n');
  assert.ok(start >= 0, 'the README has a "### React" section');
  const end = readme.slice(start + 1).search(/\n#{1,3} /);
  const section = readme.slice(start, end < 0 ? undefined : start + 1 + end);
  const files = {};
  for (const m of section.matchAll(/```jsx\n\/\/ (\S+)\n([\s\S]*?)```/g)) files[m[1]] = `// ${m[1]}\n${m[2]}`;
  return files;
}

let tmp;
let tarball;
let unpacked;
let app;
let demo;
let api;
let browser;
/** The app built twice, each served at its own path (also /orders/ there: an SPA host's fallback). */
const BUILDS = { production: '/react/', development: '/react-dev/' };
const APP_PATH = BUILDS.production;

/**
 * An API on its own loopback origin: `GET /orders` with `Authorization:
 * Bearer <token>`, the token checked by introspection at the provider.
 */
async function resourceServer(appOrigin, introspection) {
  const seen = [];
  const server = http.createServer(async (req, res) => {
    res.setHeader('Access-Control-Allow-Origin', appOrigin);
    res.setHeader('Access-Control-Allow-Headers', 'authorization');
    res.setHeader('Access-Control-Expose-Headers', 'WWW-Authenticate');
    if (req.method === 'OPTIONS') return res.end();
    const [scheme, token] = (req.headers.authorization ?? '').split(' ');
    const intro = scheme === 'Bearer' && token
      ? await fetch(introspection, {
          method: 'POST',
          headers: { Authorization: 'Basic ' + Buffer.from('resource-server:rs-secret').toString('base64') },
          body: new URLSearchParams({ token }),
        }).then((r) => r.json())
      : { active: false };
    seen.push({ path: req.url, scheme, active: intro.active });
    if (!intro.active) {
      res.writeHead(401, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
      return res.end();
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ sub: intro.sub, orders: ['tea', 'scones'] }));
  });
  const port = await listen(server);
  return { origin: `http://127.0.0.1:${port}`, seen, close: () => close(server) };
}

before(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'pkce-wasm-react-'));
  const out = run('npm', ['pack', '--pack-destination', tmp, '--json'], root);
  tarball = path.join(tmp, JSON.parse(out)[0].filename);
  run('tar', ['-xzf', tarball, '-C', tmp], tmp);
  unpacked = path.join(tmp, 'package');

  // The server first (the app's files name its origins); the builds land in the mounted directories.
  app = path.join(tmp, 'react-app');
  const mounts = {};
  for (const [mode, base] of Object.entries(BUILDS)) {
    mounts[base] = mounts[`${base}orders/`] = path.join(app, `dist-${mode}`);
  }
  demo = await startDemo({ extraMounts: mounts, extraRedirectPaths: Object.values(BUILDS) });
  api = await resourceServer(demo.origin, demo.meta.introspection_endpoint);

  fs.cpSync(path.join(here, 'react-app'), app, { recursive: true });
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'react-consumer', private: true, type: 'module' }));
  install(app, [tarball, pinned('react'), pinned('react-dom')]);
  const files = readmeReactFiles();
  assert.deepEqual(Object.keys(files).sort(), ['src/App.jsx', 'src/main.jsx']);
  // Production, as shipped; and development, where React's StrictMode renders and runs effects twice.
  for (const [mode, base] of Object.entries(BUILDS)) {
    // The README's placeholders, for this machine's provider, app and API.
    const places = [
      ['https://idp.example.com', demo.issuer],
      ["'my-spa'", `'${demo.config.clientId}'`],
      ['https://app.example.com/', `${demo.origin}${base}`],
      ['https://api.example.com', api.origin],
    ];
    for (const [from] of places) assert.ok(Object.values(files).join('\n').includes(from), `the README's snippet has ${from}`);
    for (const [file, code] of Object.entries(files)) {
      fs.writeFileSync(path.join(app, file), places.reduce((c, [from, to]) => c.replaceAll(from, to), code));
    }
    execFileSync(process.execPath, [path.join(root, 'node_modules/vite/bin/vite.js'), 'build', '--mode', mode, '--base', base, '--outDir', `dist-${mode}`, '--logLevel', 'error'], {
      cwd: app,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_ENV: mode },
    });
  }
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await api?.close();
  await demo?.close();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** Records a context's requests to the provider's token, PAR and authorization endpoints. */
function watch(context) {
  const log = { token: [], par: 0, authorize: 0, wasm: [] };
  context.on('request', (r) => {
    const url = r.url();
    if (r.method() === 'POST' && url === demo.meta.token_endpoint) log.token.push(new URLSearchParams(r.postData() ?? '').get('grant_type'));
    if (r.method() === 'POST' && url === demo.meta.pushed_authorization_request_endpoint) log.par++;
    if (url.startsWith(demo.meta.authorization_endpoint)) log.authorize++;
    if (url.endsWith('.wasm')) log.wasm.push(new URL(url).pathname);
  });
  return log;
}

const SIGNED_IN = 'p:text-is("Signed in as Alice (alice)")';
const LOG_IN = 'button:text-is("Log in")';

async function appPage(context, pathname = APP_PATH) {
  const page = await newPage(context);
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  await page.goto(`${demo.origin}${pathname}`);
  return page;
}

async function redirectLogin(page) {
  await page.waitForSelector(LOG_IN);
  await page.click(LOG_IN);
  await signIn(page, 'alice', SIGNED_IN);
  await page.waitForSelector(SIGNED_IN);
}

test('pkce-wasm/react ships as dist/react.js beside the SDK, outside its size budget; its own size', (t) => {
  const pkg = JSON.parse(fs.readFileSync(path.join(unpacked, 'package.json'), 'utf8'));
  assert.deepEqual(pkg.exports['./react'], { types: './js/react.d.ts', default: './dist/react.js' });
  assert.deepEqual(pkg.peerDependencies, { react: '>=18' });
  assert.deepEqual(pkg.peerDependenciesMeta, { react: { optional: true } });
  const code = fs.readFileSync(path.join(unpacked, 'dist/react.js'));
  const imports = [...String(code).matchAll(/\bfrom\s*"([^"]+)"/g)].map((m) => m[1]).sort();
  assert.deepEqual(imports, ['./pkce-wasm.js', 'react'], 'React and the SDK stay imports: one copy of each in an app');
  assert.deepEqual(runtimeFiles(unpacked).map((f) => f.file).sort(), ['dist/pkce-wasm.js', 'dist/pkce_wasm_bg.wasm'], 'the binding is not in the budget');
  const s = sizes(code);
  t.diagnostic(`pkce-wasm/react (dist/react.js): ${kb(s.raw)} raw, ${kb(s.gzip)} gzip -9, ${kb(s.brotli)} brotli`);
});

test('pkce-wasm/react: a strict TypeScript consumer (TSX) type-checks against js/react.d.ts', () => {
  const ts = path.join(tmp, 'react-ts-app');
  fs.cpSync(path.join(here, 'react-ts-app'), ts, { recursive: true });
  fs.writeFileSync(path.join(ts, 'package.json'), JSON.stringify({ name: 'react-ts-consumer', private: true, type: 'module' }));
  install(ts, [tarball, pinned('@types/react')]);
  run(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', ts], ts);
});

test('pkce-wasm/react in Node (SSR): the provider renders its loading state and makes no client; useAuth outside a provider throws a clear error', () => {
  const script = `
    let fetched = 0;
    globalThis.fetch = () => { fetched++; return new Promise(() => {}); };
    import { createElement } from 'react';
    import { renderToString } from 'react-dom/server';
    import { AuthProvider, useAuth } from 'pkce-wasm/react';
    const Show = () => { const a = useAuth(); return createElement('p', null, a.isLoading ? 'loading' : 'ready'); };
    const html = renderToString(createElement(AuthProvider, { options: { issuer: 'https://idp.example.com', clientId: 'c', redirectUri: 'https://app.example.com/' } }, createElement(Show)));
    let outside;
    try { renderToString(createElement(Show)); } catch (e) { outside = e.message; }
    let both;
    try { renderToString(createElement(AuthProvider, { options: {}, client: Promise.resolve({}) })); } catch (e) { both = e.message; }
    await new Promise((r) => setTimeout(r, 50));
    console.log(JSON.stringify({ html, outside, both, fetched }));
  `;
  const out = JSON.parse(run(process.execPath, ['--input-type=module', '-e', script], app));
  assert.equal(out.html, '<p>loading</p>');
  assert.match(out.outside, /useAuth\(\).*outside <AuthProvider>/);
  assert.match(out.both, /either `options` or `client`/);
  assert.equal(out.fetched, 0, 'no client made on the server');
});

test('React + Vite: the production build holds one copy of the SDK and one wasm, also when the app imports pkce-wasm itself', () => {
  const dir = path.join(app, 'dist-production/assets');
  const assets = fs.readdirSync(dir);
  assert.equal(assets.filter((f) => f.endsWith('.wasm')).length, 1, `one wasm: ${assets}`);
  const js = assets.filter((f) => f.endsWith('.js')).map((f) => fs.readFileSync(path.join(dir, f), 'utf8')).join('\n');
  // A string of the SDK's own module (its wasm-load error), and one of the binding's.
  assert.equal(js.split('wasm_load_failed').length - 1, 1, 'one copy of the SDK');
  assert.equal(js.split('callback_other_client').length - 1, 1, 'one copy of the binding');
});

for (const [mode, base] of Object.entries(BUILDS)) {
  const strict = mode === 'development' ? " (React's development build: StrictMode renders and runs every effect twice)" : '';
  test(`React, ${mode} build${strict}: redirect login shows the user with one token request and no error; the guard logs in once on the way to a page that calls the API with a bearer token; logout`, async () => {
    if (mode === 'development') {
      const js = fs.readdirSync(path.join(app, 'dist-development/assets')).filter((f) => f.endsWith('.js'));
      const code = js.map((f) => fs.readFileSync(path.join(app, 'dist-development/assets', f), 'utf8')).join('\n');
      assert.match(code, /Each child in a list should have a unique/, "React's development build (StrictMode is active only there)");
    }
    const context = await browser.newContext();
    const log = watch(context);
    const page = await appPage(context, base);
    await withDiagnostics(page, `react-redirect-${mode}`, async () => {
      await redirectLogin(page);
      assert.deepEqual(log.token, ['authorization_code'], "StrictMode's double effect: one token request for the callback");
      assert.equal(await page.locator('[role=alert]').count(), 0, 'no error shown');
      assert.equal(new URL(page.url()).search, '', 'the address bar was cleaned');
      assert.equal(await page.evaluate(() => window.directSdk), 'function', 'the app imports pkce-wasm itself too');
      assert.deepEqual([...new Set(log.wasm)].length, 1, `one wasm: ${log.wasm}`);

      // The guarded page, a full page load (the session lives in memory): the guard sends the
      // user to log in once (StrictMode runs its effect twice), and back to this page.
      const before = { par: log.par, authorize: log.authorize, token: log.token.length };
      await page.click('text=Your orders');
      await signIn(page, 'alice', 'p:has-text("Orders: {")');
      assert.equal(await page.textContent('p:has-text("Orders: {")'), 'Orders: {"sub":"alice","orders":["tea","scones"]}');
      assert.equal(new URL(page.url()).pathname, `${base}orders/`, 'back at appState.returnTo');
      assert.equal(log.par - before.par, 1, 'the guard started one login (one pushed authorization request)');
      assert.equal(log.authorize - before.authorize, 1, 'one authorization request');
      assert.equal(log.token.length - before.token, 1, 'one token request');
      assert.ok(api.seen.some((r) => r.path === '/orders' && r.scheme === 'Bearer' && r.active), JSON.stringify(api.seen));
      await page.waitForSelector(SIGNED_IN);

      // Logout from the guarded page: RP-initiated, through the provider's confirmation, back to a
      // logged-out app — and the guard, seeing the session end, starts no login of its own meanwhile.
      const logins = log.par;
      await Promise.all([page.waitForURL(/\/session\/end/), page.click('button:text-is("Log out")')]);
      await page.click('button[value=yes]');
      await page.waitForURL((u) => u.href === `${demo.origin}${base}`);
      await page.waitForSelector(LOG_IN);
      assert.equal(await page.locator(SIGNED_IN).count(), 0);
      assert.equal(log.par, logins, 'no login started during the logout');
      assert.deepEqual(page.errors, []);
    });
    await context.close();
  });
}

test('React: popup login from a click — the opening page shows the user, the popup closes itself, one token request', async () => {
  const context = await browser.newContext();
  const log = watch(context);
  const page = await appPage(context);
  await withDiagnostics(page, 'react-popup', async () => {
    await page.waitForSelector(LOG_IN);
    const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('text=Log in with a popup')]);
    await signInPopup(popup);
    await page.waitForSelector(SIGNED_IN);
    assert.equal(popup.isClosed(), true, 'the popup closed itself');
    assert.deepEqual(log.token, ['authorization_code'], 'one token request, from the opening page');
    assert.equal(await page.locator('[role=alert]').count(), 0);
    assert.deepEqual(page.errors, []);
  });
  await context.close();
});

test('React: the client failed to start (discovery down); the next click makes one, and its popup login reaches the UI', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(String(e)));
  // The provider's discovery answers 503 until the app has shown the failure.
  demo.idp.faults.respond = (ctx) => {
    if (ctx.path !== '/.well-known/openid-configuration') return false;
    ctx.set('Access-Control-Allow-Origin', demo.origin);
    ctx.status = 503;
    ctx.body = 'maintenance';
    return true;
  };
  try {
    await withDiagnostics(page, 'react-create-failed', async () => {
      await page.goto(`${demo.origin}${APP_PATH}`);
      await page.waitForSelector('[role=alert]');
      assert.equal(await page.textContent('[role=alert]'), 'Login failed: discovery_failed');
      demo.idp.faults.respond = null;
      // This click makes the client. Its popup opens late (there was no client to call in the
      // click), if the browser still allows it: closed here; the next click replaces that login.
      const [first] = await Promise.all([
        Promise.race([
          page.waitForEvent('popup', { timeout: 10000 }),
          page.waitForSelector('[role=alert]:has-text("popup_blocked")', { timeout: 10000 }).then(() => undefined),
        ]),
        page.click('text=Log in with a popup'),
      ]);
      await first?.close();
      await page.waitForSelector(LOG_IN);
      const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('text=Log in with a popup')]);
      await signInPopup(popup);
      await page.waitForSelector(SIGNED_IN, { timeout: 15000 });
      assert.deepEqual(page.errors, []);
    });
  } finally {
    demo.idp.faults.respond = null;
  }
  await context.close();
});

test('React: a logout in another tab turns this tab logged out (tabs in step)', async () => {
  const context = await browser.newContext();
  const a = await appPage(context);
  await withDiagnostics(a, 'react-tabs', async () => {
    await redirectLogin(a);
    const b = await appPage(context);
    await redirectLogin(b); // its own login (memory): the provider's session makes it a redirect without a prompt
    await Promise.all([b.waitForURL(/\/session\/end/), b.click('button:text-is("Log out")')]);
    await a.waitForSelector(LOG_IN, { timeout: 3000 });
    assert.equal(await a.locator(SIGNED_IN).count(), 0, "tab a's UI is logged out");
    assert.deepEqual(a.errors, []);
  });
  await context.close();
});

test('React: a login cancelled at the provider is error.code access_denied on screen', async () => {
  const context = await browser.newContext();
  const page = await appPage(context);
  await withDiagnostics(page, 'react-denied', async () => {
    await page.click(LOG_IN);
    await page.waitForSelector('input[name=login]');
    await page.click('text=[ Cancel ]');
    await page.waitForSelector('[role=alert]');
    assert.equal(await page.textContent('[role=alert]'), 'Login failed: access_denied');
    assert.equal(await page.locator(LOG_IN).count(), 1, 'logged out, the login buttons back');
  });
  await context.close();
});

// The binding against a scripted client (react-app/fake.html), in both builds
// (the development one runs StrictMode's double effects): the states a real
// provider is not easily made to reach.
const fakePage = async (context, base, query = '') => {
  const page = await appPage(context, `${base}fake.html${query}`);
  await page.waitForSelector('#state');
  return page;
};
const calls = (page, name) => page.evaluate((n) => window.fake.calls.filter((c) => c === n).length, name);
const settle = (page, name, ok, value) => page.evaluate(([n, o, v]) => window.fake.settle(n, o, v), [name, ok, value]);
const emit = (page, event, code) => page.evaluate(([e, c]) => window.fake.emit(e, c && Object.assign(new Error(c), { code: c })), [event, code]);
const quiet = (page) => page.waitForTimeout(300);

for (const [mode, base] of Object.entries(BUILDS)) {
  test(`React (${mode}), scripted client: a logout that stays on the page lets the guard log in again; one that navigates does not`, async () => {
    const context = await browser.newContext();
    for (const navigating of [false, true]) {
      const page = await fakePage(context, base, '?in');
      await withDiagnostics(page, `react-fake-logout-${mode}`, async () => {
        await page.waitForSelector('#guarded');
        await page.click('button:text-is("Log out")');
        await page.evaluate(() => window.fake.setAuthenticated(false));
        await emit(page, 'loggedOut');
        await settle(page, 'logout', true, navigating);
        await page.waitForSelector('#fallback');
        await quiet(page);
        assert.equal(await calls(page, 'loginWithRedirect'), navigating ? 0 : 1, navigating ? 'the page is leaving: no login' : 'no end-session endpoint: the guard logs in');
      });
      await page.close();
    }
    await context.close();
  });

  test(`React (${mode}), scripted client: a background error shows until a refresh works, and does not hold the guard once the session expires`, async () => {
    const context = await browser.newContext();
    const page = await fakePage(context, base, '?in');
    await withDiagnostics(page, `react-fake-background-${mode}`, async () => {
      await page.waitForSelector('#guarded');
      await emit(page, 'error', 'network_error');
      assert.equal(await page.textContent('[role=alert]'), 'Error: network_error');
      await emit(page, 'tokensRefreshed');
      await page.waitForSelector('[role=alert]', { state: 'detached' });
      await emit(page, 'error', 'network_error');
      await page.evaluate(() => window.fake.setAuthenticated(false));
      await emit(page, 'sessionExpired');
      await page.waitForSelector('#fallback');
      await quiet(page);
      assert.equal(await calls(page, 'loginWithRedirect'), 1, 'the guard logs in');
    });
    await context.close();
  });

  test(`React (${mode}), scripted client: after a failed login the guard waits; a popup login meanwhile is not raced by a redirect, and a popup replaced by a second click is no error`, async () => {
    const context = await browser.newContext();
    const page = await fakePage(context, base);
    await withDiagnostics(page, `react-fake-popup-${mode}`, async () => {
      await page.waitForFunction(() => window.fake.calls.includes('loginWithRedirect'));
      await settle(page, 'loginWithRedirect', false, { code: 'network_error' });
      await page.waitForSelector('[role=alert]');
      await quiet(page);
      assert.equal(await calls(page, 'loginWithRedirect'), 1, 'no second redirect after a failure');
      await page.click('button:text-is("Popup")');
      await page.waitForSelector('[role=alert]', { state: 'detached' });
      await quiet(page);
      assert.equal(await calls(page, 'loginWithRedirect'), 1, 'no redirect while the popup login runs');
      await page.click('button:text-is("Popup")');
      await settle(page, 'loginWithPopup', false, { code: 'popup_replaced' });
      await quiet(page);
      assert.equal(await page.locator('[role=alert]').count(), 0, 'popup_replaced is not shown');
      assert.equal(await calls(page, 'loginWithRedirect'), 1, 'nor does it let the guard redirect');
      await page.evaluate(() => window.fake.setAuthenticated(true));
      await settle(page, 'loginWithPopup', true, {});
      await page.waitForSelector('#guarded');
      assert.equal(await page.textContent('#state'), 'in');
    });
    await context.close();
  });
}
