// OpenID Connect end to end: RS256 and ES256 ID tokens from a real
// oidc-provider, and every ID token / callback / discovery check driven by the
// provider's fault-injection hooks, each asserting its exact error code and
// that no session was created.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { launch, newPage, signIn, demoState, errorShown, withDiagnostics, startTestDemo } from './support.mjs';

let demo;
let browser;
const issued = []; // ID tokens the provider issued (before any fault)

before(async () => {
  demo = await startTestDemo();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await demo?.close();
});

beforeEach(() => {
  Object.assign(demo.idp.faults, { callback: null, tokenResponse: null, discovery: null });
  demo.config.clientId = demo.idp.clientId;
});

const b64 = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const header = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[0], 'base64url'));

/** Applies `fault` to the ID token in the token response. */
function onIdToken(fault) {
  demo.idp.faults.tokenResponse = async (body) => {
    issued.push(body.id_token);
    const id_token = await fault(body.id_token);
    if (id_token === undefined) {
      const { id_token: _, ...rest } = body;
      return rest;
    }
    return { ...body, id_token };
  };
}

async function login(page) {
  await page.goto(demo.url);
  await demoState(page, 'logged-out');
  await page.click('#login');
  await signIn(page);
}

async function assertNoSession(page) {
  assert.equal(await page.isHidden('#session'), true, 'no tokens shown');
  const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }));
  for (const t of issued.slice(-1)) assert.ok(!stored.includes(t), 'no token stored');
}

for (const [clientSuffix, alg] of [['', 'RS256'], ['-es256', 'ES256']]) {
  test(`login with ${alg}-signed ID token: signature and claims verified, claims and userinfo shown`, async () => {
    demo.config.clientId = demo.idp.clientId + clientSuffix;
    onIdToken((t) => t);
    const page = await newPage(browser);
    await withDiagnostics(page, `oidc-${alg}`, async () => {
      await login(page);
      await demoState(page, 'logged-in');
      assert.equal(header(issued.at(-1)).alg, alg);
      const claims = JSON.parse(await page.textContent('#claims'));
      assert.equal(claims.sub, 'alice');
      assert.equal(claims.aud, demo.config.clientId);
      assert.ok(claims.nonce, 'nonce sent and checked');
      await page.click('#call-api');
      await page.waitForFunction(() => document.getElementById('userinfo').textContent.length > 0);
      assert.match(await page.textContent('#userinfo'), /^OK[\s\S]*"sub": "alice"/);
    });
    await page.context().close();
  });
}

const now = () => Math.floor(Date.now() / 1000);
const resign = (edit) => (t) => demo.idp.resign(t, edit);

const idTokenFaults = [
  ['iss of another issuer', resign(({ payload }) => (payload.iss = 'http://127.0.0.1:1')), 'id_token_iss_mismatch'],
  ['aud of another client', resign(({ payload }) => (payload.aud = 'someone-else')), 'id_token_aud_mismatch'],
  ['several audiences, no azp', resign(({ payload }) => ((payload.aud = [payload.aud, 'api']), delete payload.azp)), 'id_token_azp_mismatch'],
  ['azp of another client', resign(({ payload }) => (payload.azp = 'someone-else')), 'id_token_azp_mismatch'],
  ['expired (beyond the 60 s skew)', resign(({ payload }) => (payload.exp = now() - 120)), 'id_token_expired'],
  ['iat in the future', resign(({ payload }) => (payload.iat = now() + 600)), 'id_token_issued_in_future'],
  ['nonce of another login', resign(({ payload }) => (payload.nonce = 'replayed')), 'id_token_nonce_mismatch'],
  ['nonce removed', resign(({ payload }) => delete payload.nonce), 'id_token_nonce_mismatch'],
  ['sub removed', resign(({ payload }) => delete payload.sub), 'id_token_claims_invalid'],
  ['exp as a string', resign(({ payload }) => (payload.exp = String(payload.exp))), 'id_token_claims_invalid'],
  ['unknown kid (re-signed with the real key)', resign(({ header }) => (header.kid = 'not-in-jwks')), 'jwks_key_not_found'],
  ['RS256 header on the EC key id', resign(({ header }) => (header.kid = 'es256-1')), 'jwks_key_not_found'],
  ['signature tampered', (t) => t.slice(0, -6) + (t.endsWith('AAAAAA') ? 'BBBBBB' : 'AAAAAA'), 'id_token_signature_invalid'],
  ['payload changed after signing', (t) => {
    const [h, p, s] = t.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url'));
    claims.sub = 'mallory';
    return [h, b64(claims), s].join('.');
  }, 'id_token_signature_invalid'],
  ['alg none', (t) => [b64({ alg: 'none' }), t.split('.')[1], ''].join('.'), 'id_token_alg_not_allowed'],
  ['HS256 keyed with the public RSA key', (t) => {
    const pub = demo.idp.publicJwks.keys.find((k) => k.kty === 'RSA');
    const input = [b64({ alg: 'HS256', kid: pub.kid }), t.split('.')[1]].join('.');
    const mac = crypto.createHmac('sha256', JSON.stringify(pub)).update(input).digest('base64url');
    return `${input}.${mac}`;
  }, 'id_token_alg_not_allowed'],
  ['PS256 (not advertised by this provider)', resign(({ header }) => (header.alg = 'PS256')), 'id_token_alg_not_allowed'],
  ['two segments', (t) => t.split('.').slice(0, 2).join('.'), 'id_token_malformed'],
  ['payload not base64url', (t) => t.replace('.', '.%%'), 'id_token_invalid_base64'],
  ['payload not JSON', (t) => [t.split('.')[0], b64('not json'), t.split('.')[2]].join('.'), 'id_token_invalid_json'],
  ['id_token removed', () => undefined, 'id_token_missing'],
];

for (const [name, fault, code] of idTokenFaults) {
  test(`ID token: ${name} → ${code}, no session`, async () => {
    onIdToken(fault);
    const page = await newPage(browser);
    await withDiagnostics(page, `fault-${code}`, async () => {
      await login(page);
      const err = await errorShown(page);
      assert.equal(err.code, code);
      await assertNoSession(page);
      assert.ok(!err.message.includes(issued.at(-1)), 'no token in the message');
    });
    await page.context().close();
  });
}

test('callback without iss while the provider advertises it → iss_missing (RFC 9207)', async () => {
  demo.idp.faults.callback = (url) => url.searchParams.delete('iss');
  const page = await newPage(browser);
  await withDiagnostics(page, 'iss-missing', async () => {
    await login(page);
    assert.equal((await errorShown(page)).code, 'iss_missing');
    await assertNoSession(page);
  });
  await page.context().close();
});

test('discovery document with another issuer → discovery_issuer_mismatch before any login', async () => {
  demo.idp.faults.discovery = (doc) => ({ ...doc, issuer: doc.issuer + '/other' });
  const page = await newPage(browser);
  await withDiagnostics(page, 'discovery-issuer', async () => {
    await page.goto(demo.url);
    assert.equal((await errorShown(page)).code, 'discovery_issuer_mismatch');
    assert.equal(await page.isDisabled('#login'), true);
  });
  await page.context().close();
});

test('discovery with a non-loopback http endpoint → insecure_endpoint', async () => {
  demo.idp.faults.discovery = (doc) => ({ ...doc, token_endpoint: 'http://evil.example/token' });
  const page = await newPage(browser);
  await withDiagnostics(page, 'discovery-insecure', async () => {
    await page.goto(demo.url);
    assert.equal((await errorShown(page)).code, 'insecure_endpoint');
  });
  await page.context().close();
});

test('after a rejected ID token the user can log in again', async () => {
  onIdToken(resign(({ payload }) => (payload.aud = 'x')));
  const page = await newPage(browser);
  await withDiagnostics(page, 'recover', async () => {
    await login(page);
    assert.equal((await errorShown(page)).code, 'id_token_aud_mismatch');
    demo.idp.faults.tokenResponse = null;
    await page.click('#login');
    await signIn(page);
    await demoState(page, 'logged-in');
  });
  await page.context().close();
});

async function loginWithMaxAge(page) {
  await page.goto(`${demo.origin}/test/?opts=${encodeURIComponent('{}')}`);
  await page.waitForSelector('#status[data-done]');
  await page.evaluate(() => window.auth.loginWithRedirect({ extraParams: { max_age: 60 } }));
  await signIn(page);
  await page.waitForSelector('#status[data-done]');
  return page.textContent('#status');
}

test('max_age: auth_time is required and checked (OIDC Core 3.1.3.7 step 13)', async () => {
  const page = await newPage(browser);
  await withDiagnostics(page, 'max-age', async () => {
    assert.equal(await loginWithMaxAge(page), 'in');
    const claims = await page.evaluate(() => window.auth.getIdTokenClaims());
    assert.ok(Math.abs(claims.auth_time - Date.now() / 1000) < 120, 'the provider sent a fresh auth_time');

    onIdToken(resign(({ payload }) => (payload.auth_time = now() - 3600)));
    assert.equal(await loginWithMaxAge(page), 'error:id_token_max_age_exceeded');
    onIdToken(resign(({ payload }) => delete payload.auth_time));
    assert.equal(await loginWithMaxAge(page), 'error:id_token_claims_invalid');
  });
  await page.context().close();
});
