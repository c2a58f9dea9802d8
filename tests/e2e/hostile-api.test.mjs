// Hostile input through the public JS API, in real Chromium: every call must
// fail with a PkceWasmError carrying a stable code (never a raw throw, never a
// wasm trap), and afterwards the same module must still log in.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, signIn, withDiagnostics, startTestDemo, startLogin } from './support.mjs';

let demo;
let browser;

before(async () => {
  demo = await startTestDemo();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await demo?.close();
});

test('hostile arguments to every JS entry point give typed errors, and the module keeps working', async () => {
  const page = await newPage(browser);
  await withDiagnostics(page, 'hostile-api', async () => {
    await page.goto(`${demo.origin}/test/`);
    await page.waitForSelector('#status[data-done]');
    const results = await page.evaluate(async (cfg) => {
      const { createClient, PkceWasmError } = await import('/dist/pkce-wasm.js');
      const out = [];
      const attempt = async (label, fn) => {
        try {
          await fn();
          out.push([label, 'no error']);
        } catch (e) {
          out.push([label, e instanceof PkceWasmError ? e.code : `UNTYPED ${e && e.name}: ${e && e.message}`]);
        }
      };
      const base = { issuer: cfg.issuer, clientId: cfg.clientId, redirectUri: location.origin + '/test/' };
      for (const [label, options] of [
        ['options undefined', undefined],
        ['options null', null],
        ['options a number', 42],
        ['options a string', 'https://idp'],
        ['clientId a number', { ...base, clientId: 7 }],
        ['clientId missing', { ...base, clientId: undefined }],
        ['redirectUri an object', { ...base, redirectUri: {} }],
        ['issuer javascript:', { ...base, issuer: 'javascript:alert(1)' }],
        ['issuer of another provider', { ...base, issuer: cfg.issuer + '/x' }],
        ['scope an array', { ...base, scope: ['openid'] }],
        ['responseMode bogus', { ...base, responseMode: 'form_post' }],
        ['cacheLocation cookie', { ...base, cacheLocation: 'cookie' }],
        ['timeout negative', { ...base, timeout: -1 }],
        ['timeout NaN', { ...base, timeout: NaN }],
        ['clockSkew huge', { ...base, clockSkew: 1e9 }],
        ['apiOrigins a string', { ...base, apiOrigins: 'https://api' }],
        ['apiOrigins with a number', { ...base, apiOrigins: [1] }],
        ['autoRefresh a string', { ...base, autoRefresh: 'yes' }],
        ['dpop a string', { ...base, dpop: 'true' }],
        ['pushedAuthorizationRequests bogus', { ...base, pushedAuthorizationRequests: 'sometimes' }],
        ['metadata not matching the issuer', { ...base, metadata: { issuer: 'https://evil.example' } }],
        ['explicit endpoints, token endpoint missing', { ...base, issuer: undefined, authorizationEndpoint: cfg.issuer + '/auth' }],
      ]) {
        await attempt(label, () => createClient(options));
      }
      const auth = await createClient({ ...base, pushedAuthorizationRequests: false }); // parameters visible in the URL
      for (const [label, options] of [
        ['login options a number', 5],
        ['extraParams a string', { extraParams: 'prompt=login' }],
        ['extraParams with an object value', { extraParams: { claims: { a: 1 } } }],
        ['extraParams overriding state', { extraParams: { state: 'x' } }],
        ['extraParams overriding code_challenge_method', { extraParams: { code_challenge_method: 'plain' } }],
        ['extraParams empty name', { extraParams: { '': 'x' } }],
        ['max_age not a number', { extraParams: { max_age: 'soon' } }],
        ['codeVerifier too short', { codeVerifier: 'abc' }],
        ['codeVerifier a number', { codeVerifier: 12 }],
        ['appState circular', { appState: (() => { const o = {}; o.self = o; return o; })() }],
      ]) {
        await attempt(`authorizeUrl: ${label}`, () => auth.authorizeUrl(options));
      }
      for (const [label, url] of [
        ['no parameters', location.origin + '/test/'],
        ['forged state', location.origin + '/test/?code=c&state=forged'],
        ['a number', 42],
        ['null', null],
        ['an object', { href: 'x' }],
        ['javascript: URL', 'javascript:alert(1)//?code=c&state=s'],
        ['100 kB', location.origin + '/test/?state=s&code=' + 'a'.repeat(100000)],
      ]) {
        await attempt(`handleRedirectCallback: ${label}`, () => auth.handleRedirectCallback(url));
      }
      await attempt('getAccessToken without a session', () => auth.getAccessToken());
      await attempt('getUserInfo without a session', () => auth.getUserInfo());
      await attempt('getUser with userInfo, no session', () => auth.getUser({ userInfo: true }));
      await attempt('fetch an invalid URL', () => auth.fetch('http://[::1'));
      await attempt('fetch a same-origin URL without a session', () => auth.fetch('/config.json'));
      await attempt('logout: returnTo javascript:', () => auth.logout({ returnTo: 'javascript:alert(1)' }));
      await attempt('logout: returnTo a number', () => auth.logout({ returnTo: 42 }));
      await attempt('on: unknown event', () => auth.on('tokensRevoked', () => {}));
      await attempt('on: handler not a function', () => auth.on('error', 'nope'));
      await attempt('on: event a symbol-ish object', () => auth.on({ toString: () => 'loggedOut' }, () => {}));
      // And the module still works: a valid login URL.
      const url = await auth.authorizeUrl({ extraParams: { prompt: 'login', max_age: 0, x_repeat: ['a', 'b'], x_flag: true } });
      return { out, url };
    }, demo.config);
    const untyped = results.out.filter(([, r]) => r.startsWith('UNTYPED'));
    assert.deepEqual(untyped, [], 'every failure is a PkceWasmError');
    const expected = {
      'options undefined': 'invalid_config',
      'issuer of another provider': 'network_error', // the 404 carries no CORS headers: a CORS failure
      'authorizeUrl: extraParams overriding state': 'reserved_parameter',
      'authorizeUrl: codeVerifier too short': 'invalid_code_verifier',
      'handleRedirectCallback: forged state': 'no_pending_login', // this page has no login in progress
      'handleRedirectCallback: no parameters': 'not_a_callback',
      'handleRedirectCallback: 100 kB': 'invalid_callback',
      'getAccessToken without a session': 'not_authenticated',
      'logout: returnTo javascript:': 'invalid_config',
      'logout: returnTo a number': 'invalid_config',
      'on: unknown event': 'invalid_config',
      'on: handler not a function': 'invalid_config',
      'fetch a same-origin URL without a session': 'not_authenticated',
    };
    const got = Object.fromEntries(results.out);
    for (const [label, code] of Object.entries(expected)) assert.equal(got[label], code, label);
    // A toString-able event name is the event it names (as String() would say): accepted.
    assert.equal(got['on: event a symbol-ish object'], 'no error');
    const failures = results.out.filter(([label]) => label !== 'on: event a symbol-ish object');
    assert.ok(failures.every(([, r]) => r !== 'no error'), JSON.stringify(failures.filter(([, r]) => r === 'no error')));
    assert.ok(results.out.length >= 45, `${results.out.length} hostile calls`);
    const q = new URL(results.url).searchParams;
    assert.equal(q.get('max_age'), '0');
    assert.deepEqual(q.getAll('x_repeat'), ['a', 'b']);
    assert.equal(q.get('x_flag'), 'true');

    // ...and a full login still completes in this page.
    await startLogin(page);
    await signIn(page);
    await page.waitForSelector('#status[data-done]');
    assert.equal(await page.textContent('#status'), 'in');
  });
  await page.context().close();
});
