// Fault injection end to end: the real provider's middleware answers with
// broken responses on demand; the demo must show a readable, typed error (as
// text, never HTML) and the user must be able to log in again afterwards.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo } from '../../scripts/lib/demo.mjs';
import { launch, newPage, signIn, demoState, errorShown, withDiagnostics } from './support.mjs';

let demo;
let browser;

before(async () => {
  demo = await startDemo({ clientOptions: { timeout: 2 } }); // seconds, so a hang fails fast
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await demo?.close();
});

beforeEach(() => Object.assign(demo.idp.faults, { callback: null, tokenResponse: null, discovery: null, respond: null }));

/** Answers `method path` with `status`, `type`, `body` (or 'hang'/'redirect'), once per arming. */
function answer(method, path, reply) {
  demo.idp.faults.respond = (ctx) => {
    if (ctx.method !== method || ctx.path !== path) return false;
    if (reply === 'hang') return 'hang';
    ctx.set('Access-Control-Allow-Origin', demo.origin);
    if (reply === 'redirect') {
      ctx.status = 302;
      ctx.set('Location', 'http://127.0.0.1:1/elsewhere');
      return true;
    }
    ctx.status = reply.status;
    if (reply.type) ctx.type = reply.type;
    ctx.body = reply.body;
    return true;
  };
}

async function login(page) {
  await page.goto(demo.url);
  await demoState(page, 'logged-out');
  await page.click('#login');
  await signIn(page);
}

async function recovers(page) {
  Object.assign(demo.idp.faults, { callback: null, tokenResponse: null, discovery: null, respond: null });
  await page.goto(demo.url);
  await demoState(page, 'logged-out');
  await page.click('#login');
  await signIn(page);
  await demoState(page, 'logged-in');
}

const json = 'application/json';
const callbackFaults = [
  ['token endpoint 500 with an HTML page', ['POST', '/token', { status: 500, type: 'html', body: '<h1>Internal error</h1>' }], 'token_http_error'],
  ['token endpoint 200 with an HTML page', ['POST', '/token', { status: 200, type: 'html', body: '<html>login</html>' }], 'token_response_not_json'],
  ['token endpoint truncated JSON', ['POST', '/token', { status: 200, type: json, body: '{"access_token":"x","tok' }], 'token_response_not_json'],
  ['token endpoint numbers as strings', ['POST', '/token', { status: 200, type: json, body: '{"access_token":"x","token_type":"Bearer","expires_in":"3600"}' }], 'invalid_token_response'],
  ['token endpoint 3 MB body', ['POST', '/token', { status: 200, type: json, body: ' '.repeat(3_000_000) }], 'response_too_large'],
  ['token endpoint redirects', ['POST', '/token', 'redirect'], 'network_error'],
  ['token endpoint never answers', ['POST', '/token', 'hang'], 'timeout'],
  ['JWKS 500', ['GET', '/jwks', { status: 500, type: 'html', body: 'x' }], 'jwks_invalid'],
  ['JWKS not a key set', ['GET', '/jwks', { status: 200, type: json, body: '{"keys":"none"}' }], 'jwks_invalid'],
];

for (const [name, [method, path, reply], code] of callbackFaults) {
  test(`${name} → ${code}, shown as text; logging in again works`, async () => {
    const page = await newPage(browser);
    await withDiagnostics(page, `fault-${code}-${path.slice(1)}`, async () => {
      answer(method, path, reply);
      await login(page);
      const err = await errorShown(page);
      assert.equal(err.code, code);
      assert.ok(err.message.length > 20, 'a readable message');
      assert.equal(await page.isHidden('#session'), true, 'no tokens shown');
      await recovers(page);
    });
    await page.context().close();
  });
}

test('error_description with markup is rendered as text, never as HTML', async () => {
  const page = await newPage(browser);
  await withDiagnostics(page, 'fault-xss', async () => {
    demo.idp.faults.callback = (url) => {
      url.searchParams.delete('code');
      url.searchParams.set('error', 'access_denied');
      url.searchParams.set('error_description', '<img src=x onerror="window.__pwned=1"><b>bold</b>');
    };
    await login(page);
    const err = await errorShown(page);
    assert.equal(err.code, 'access_denied');
    assert.match(err.description, /<img src=x onerror=/);
    assert.equal(await page.locator('#error img, #error b').count(), 0, 'no element was created');
    assert.equal(await page.evaluate(() => window.__pwned), undefined);
    await recovers(page);
  });
  await page.context().close();
});

test('a provider that echoes a secret in its error_description: the field has it, the message and the console do not', async () => {
  const page = await newPage(browser);
  await withDiagnostics(page, 'fault-echo', async () => {
    const secret = 'echoed-4f1d9c0b7a2e';
    answer('POST', '/token', {
      status: 400,
      type: json,
      body: JSON.stringify({ error: 'invalid_grant', error_description: `code ${secret} is invalid`, error_uri: `https://idp.example/e?c=${secret}` }),
    });
    await login(page);
    const err = await errorShown(page);
    assert.equal(err.code, 'invalid_grant');
    assert.match(err.message, /token endpoint returned invalid_grant/);
    assert.ok(!err.message.includes(secret), `message: ${err.message}`);
    assert.ok(err.description.includes(secret), 'the description stays available as data');
    assert.deepEqual(page.consoleLines.filter((l) => l.includes(secret)), []);
    await recovers(page);
  });
  await page.context().close();
});

test('discovery unavailable → discovery_failed at start; the app works once it is back', async () => {
  const page = await newPage(browser);
  await withDiagnostics(page, 'fault-discovery', async () => {
    answer('GET', '/.well-known/openid-configuration', { status: 503, type: 'html', body: 'maintenance' });
    await page.goto(demo.url);
    assert.equal((await errorShown(page)).code, 'discovery_failed');
    await recovers(page);
  });
  await page.context().close();
});

test('UserInfo 401 → a typed error in the API panel; the session stays usable', async () => {
  const page = await newPage(browser);
  await withDiagnostics(page, 'fault-userinfo', async () => {
    await login(page);
    await demoState(page, 'logged-in');
    answer('GET', '/me', { status: 401, type: json, body: '{"error":"invalid_token"}' });
    await page.click('#call-api');
    await page.waitForFunction(() => document.getElementById('userinfo').textContent.length > 0);
    assert.match(await page.textContent('#userinfo'), /^Failed: userinfo_http_error: /);
    demo.idp.faults.respond = null;
    await page.click('#call-api');
    await page.waitForFunction(() => document.getElementById('userinfo').textContent.startsWith('OK'));
  });
  await page.context().close();
});
