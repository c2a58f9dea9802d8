// DPoP (RFC 9449) and PAR (RFC 9126) end to end: oidc-provider with DPoP
// (nonces required) and PAR, real Chromium, and a resource server here that
// verifies each proof with `jose` and the token's binding (`cnf.jkt`, via
// introspection), demands its own nonce, and rejects replays.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import { jwtVerify, EmbeddedJWK, calculateJwkThumbprint, decodeProtectedHeader, generateKeyPair, exportJWK, SignJWT } from 'jose';
import { listen, close } from '../../scripts/lib/net.mjs';
import { launch, newPage, signIn, withDiagnostics, startTestDemo, startLogin } from './support.mjs';
let demo;
let browser;
let rs;

/** A DPoP resource server (RFC 9449 §7) on its own loopback origin. */
async function resourceServer(appOrigin, idp) {
  const seenJti = new Set();
  const log = [];
  let nonce = crypto.randomBytes(16).toString('base64url');
  let origin;
  const reject = (res, error, extra = {}) => {
    res.writeHead(401, { 'WWW-Authenticate': `DPoP algs="ES256", error="${error}"`, ...extra });
    res.end();
  };
  const server = http.createServer(async (req, res) => {
    res.setHeader('Access-Control-Allow-Origin', appOrigin);
    res.setHeader('Access-Control-Allow-Headers', 'authorization, dpop, content-type');
    res.setHeader('Access-Control-Expose-Headers', 'WWW-Authenticate, DPoP-Nonce');
    if (req.method === 'OPTIONS') return res.end();
    // /r?to=<url>: a redirect, anywhere.
    const to = new URL(req.url, 'http://x').searchParams.get('to');
    if (to) {
      res.writeHead(302, { Location: to });
      return res.end();
    }
    const entry = { path: req.url };
    log.push(entry);
    try {
      const [scheme, token] = (req.headers.authorization ?? '').split(' ');
      const proof = req.headers.dpop;
      if (scheme !== 'DPoP' || !token || !proof) return reject(res, 'invalid_token', (entry.result = 'no DPoP'));
      const { payload, protectedHeader } = await jwtVerify(proof, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
      const url = new URL(req.url, origin);
      if (payload.htm !== req.method || payload.htu !== origin + url.pathname) return reject(res, 'invalid_dpop_proof', (entry.result = 'htm/htu'));
      if (Math.abs(payload.iat - Date.now() / 1000) > 60) return reject(res, 'invalid_dpop_proof', (entry.result = 'iat'));
      if (payload.ath !== crypto.createHash('sha256').update(token).digest('base64url')) return reject(res, 'invalid_dpop_proof', (entry.result = 'ath'));
      if (payload.nonce !== nonce) {
        entry.result = 'nonce challenge';
        return reject(res, 'use_dpop_nonce', { 'DPoP-Nonce': nonce });
      }
      if (seenJti.has(payload.jti)) return reject(res, 'invalid_dpop_proof', (entry.result = 'replayed jti'));
      seenJti.add(payload.jti);
      const jkt = await calculateJwkThumbprint(protectedHeader.jwk);
      const intro = await fetch(idp.meta.introspection_endpoint, {
        method: 'POST',
        headers: { Authorization: 'Basic ' + Buffer.from('resource-server:rs-secret').toString('base64') },
        body: new URLSearchParams({ token }),
      }).then((r) => r.json());
      if (!intro.active) return reject(res, 'invalid_token', (entry.result = 'inactive'));
      if (intro.cnf?.jkt !== jkt) return reject(res, 'invalid_token', (entry.result = 'key mismatch'));
      entry.result = 'ok';
      entry.jkt = jkt;
      entry.token = token;
      entry.proof = proof;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ sub: intro.sub }));
    } catch (e) {
      entry.result = 'bad proof: ' + e.code;
      reject(res, 'invalid_dpop_proof');
    }
  });
  origin = `http://127.0.0.1:${await listen(server)}`;
  return { origin, log, close: () => close(server), rotateNonce: () => (nonce = crypto.randomBytes(16).toString('base64url')) };
}

before(async () => {
  demo = await startTestDemo();
  rs = await resourceServer(demo.origin, demo);
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await rs?.close();
  await demo?.close();
});

const testUrl = (opts) => `${demo.origin}/test/?opts=${encodeURIComponent(JSON.stringify(opts))}`;

/** Records every request the page sends to the provider, with its DPoP proof. */
function watch(page) {
  const sent = [];
  page.on('request', (r) => {
    if (r.url().startsWith(demo.issuer)) sent.push({ url: r.url(), method: r.method(), dpop: r.headers().dpop, body: r.postData() });
  });
  return sent;
}

const claimsOf = (jwt) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url'));
const headerOf = (jwt) => decodeProtectedHeader(jwt);

async function login(page, opts) {
  await page.goto(testUrl(opts));
  await page.waitForSelector('#status[data-done]');
  await startLogin(page);
  await signIn(page);
  await page.waitForSelector('#status[data-done]');
  assert.equal(await page.textContent('#status'), 'in');
}

test('DPoP: bound login (dpop_jkt, nonce challenge), refresh, userinfo and a resource server that verifies every proof', async () => {
  const page = await newPage(browser);
  const sent = watch(page);
  await withDiagnostics(page, 'dpop', async () => {
    const clientId = `${demo.config.clientId}-dpop`;
    await login(page, { clientId, dpop: true, apiOrigins: [rs.origin], cacheLocation: 'sessionStorage' });

    const tokens = await page.evaluate(() => window.auth.getTokens());
    assert.equal(tokens.tokenType, 'DPoP');
    // The (pushed) authorization request bound the code to the key.
    const pushed = new URLSearchParams(sent.find((r) => r.url === demo.meta.pushed_authorization_request_endpoint).body);
    const jkt = pushed.get('dpop_jkt');
    assert.match(jkt, /^[A-Za-z0-9_-]{43}$/);
    // The token endpoint asked for its nonce: exactly one retry, which carried it.
    const tokenPosts = sent.filter((r) => r.url === demo.meta.token_endpoint && r.body.includes('authorization_code'));
    assert.equal(tokenPosts.length, 2, 'one nonce challenge, one retry');
    assert.equal(claimsOf(tokenPosts[0].dpop).nonce, undefined);
    assert.ok(claimsOf(tokenPosts[1].dpop).nonce, 'the retry carries the provider nonce');
    for (const { dpop } of tokenPosts) {
      const h = headerOf(dpop);
      assert.equal(h.typ, 'dpop+jwt');
      assert.equal(h.alg, 'ES256');
      assert.equal(h.jwk.d, undefined);
      assert.equal(await calculateJwkThumbprint(h.jwk), jkt, 'the proof key is the bound key');
      assert.equal(claimsOf(dpop).htu, demo.meta.token_endpoint);
      assert.equal(claimsOf(dpop).htm, 'POST');
    }
    assert.notEqual(claimsOf(tokenPosts[0].dpop).jti, claimsOf(tokenPosts[1].dpop).jti, 'a fresh jti per proof');

    // Refresh with a proof (the nonce is remembered: no second challenge).
    const before = sent.length;
    const refreshed = await page.evaluate(() => window.auth.getAccessToken({ forceRefresh: true }));
    assert.notEqual(refreshed, tokens.accessToken);
    const refreshPosts = sent.slice(before).filter((r) => r.url === demo.meta.token_endpoint);
    assert.equal(refreshPosts.length, 1, 'the remembered nonce is used at once');
    assert.ok(claimsOf(refreshPosts[0].dpop).nonce);
    assert.equal((await page.evaluate(() => window.auth.getTokens())).tokenType, 'DPoP');

    // UserInfo with Authorization: DPoP and a proof with ath.
    assert.equal((await page.evaluate(() => window.auth.getUserInfo())).sub, 'alice');
    const ui = sent.filter((r) => r.url === demo.meta.userinfo_endpoint).at(-1);
    assert.equal(claimsOf(ui.dpop).ath, crypto.createHash('sha256').update(refreshed).digest('base64url'));

    // The resource server: a nonce challenge, then a verified, bound request.
    const status = await page.evaluate((u) => window.auth.fetch(u + '/orders?page=2').then((r) => r.status), rs.origin);
    assert.equal(status, 200);
    assert.deepEqual(rs.log.slice(-2).map((e) => e.result), ['nonce challenge', 'ok']);
    const good = rs.log.at(-1);
    assert.equal(good.jkt, jkt, 'token bound to the same key (cnf.jkt)');

    // A replayed proof (same jti) is refused.
    const replay = await fetch(rs.origin + '/orders', { headers: { Authorization: `DPoP ${good.token}`, DPoP: good.proof } });
    assert.equal(replay.status, 401);
    assert.ok(['replayed jti', 'htm/htu'].includes(rs.log.at(-1).result), rs.log.at(-1).result);
    // A proof from another key, even perfectly formed, is refused: the token is bound.
    const { privateKey, publicKey } = await generateKeyPair('ES256');
    const challenge = await fetch(rs.origin + '/orders', { headers: { Authorization: `DPoP ${good.token}`, DPoP: 'x' } });
    const rsNonce = challenge.headers.get('dpop-nonce') ?? claimsOf(good.proof).nonce;
    const stolen = await new SignJWT({
      htm: 'GET',
      htu: rs.origin + '/orders',
      iat: Math.floor(Date.now() / 1000),
      jti: crypto.randomUUID(),
      ath: crypto.createHash('sha256').update(good.token).digest('base64url'),
      nonce: rsNonce,
    })
      .setProtectedHeader({ typ: 'dpop+jwt', alg: 'ES256', jwk: await exportJWK(publicKey) })
      .sign(privateKey);
    const thief = await fetch(rs.origin + '/orders', { headers: { Authorization: `DPoP ${good.token}`, DPoP: stolen } });
    assert.equal(thief.status, 401);
    assert.equal(rs.log.at(-1).result, 'key mismatch');

    // The private key cannot be exported, and survives a reload.
    const exported = await page.evaluate(
      () =>
        new Promise((resolve) => {
          const open = indexedDB.open('pkce-wasm', 1);
          open.onsuccess = () => {
            const get = open.result.transaction('keys').objectStore('keys').getAll();
            get.onsuccess = () =>
              crypto.subtle.exportKey('jwk', get.result[0].privateKey).then(() => 'exported', (e) => e.name).then(resolve);
          };
        }),
    );
    assert.equal(exported, 'InvalidAccessError');
    await page.reload();
    await page.waitForSelector('#status[data-done]');
    assert.equal(await page.textContent('#status'), 'in', 'the session survived the reload (sessionStorage)');
    const again = await page.evaluate((u) => window.auth.fetch(u + '/orders').then((r) => r.status), rs.origin);
    assert.equal(again, 200);
    assert.equal(rs.log.at(-1).jkt, jkt, 'the same key after the reload');

    // A redirect from the API is not followed: neither the token nor a proof reaches a third origin.
    const seen = [];
    const third = http.createServer((req, res) => {
      seen.push({ method: req.method, authorization: req.headers.authorization, dpop: req.headers.dpop });
      res.setHeader('Access-Control-Allow-Origin', '*');
      res.setHeader('Access-Control-Allow-Headers', 'authorization, dpop');
      res.end('{}');
    });
    const thirdOrigin = `http://127.0.0.1:${await listen(third)}`;
    const redirected = await page.evaluate(
      ([u, t]) => window.auth.fetch(`${u}/r?to=${encodeURIComponent(t + '/rec')}`).then((r) => `status ${r.status}`, (e) => e.code),
      [rs.origin, thirdOrigin],
    );
    await close(third);
    assert.equal(redirected, 'api_redirect_refused');
    assert.deepEqual(seen, [], 'nothing reached the third origin');

    // Logout revokes with a proof and forgets the key.
    const rt = (await page.evaluate(() => window.auth.getTokens())).refreshToken;
    await page.evaluate(() => window.auth.logout({ localOnly: true }));
    const revoke = sent.filter((r) => r.url === demo.meta.revocation_endpoint).at(-1);
    assert.ok(revoke?.dpop, 'the revocation request carries a proof');
    const reuse = await fetch(demo.meta.token_endpoint, { method: 'POST', body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: rt, client_id: clientId }) });
    assert.equal((await reuse.json()).error, 'invalid_grant');
    const keysLeft = await page.evaluate(
      () =>
        new Promise((resolve) => {
          const open = indexedDB.open('pkce-wasm', 1);
          open.onsuccess = () => {
            const get = open.result.transaction('keys').objectStore('keys').count();
            get.onsuccess = () => resolve(get.result);
          };
        }),
    );
    assert.equal(keysLeft, 0, 'a fresh key for the next session');
  });
  await page.context().close();
});

test('PAR: the front channel carries only client_id and request_uri; the login completes', async () => {
  const page = await newPage(browser);
  const sent = watch(page);
  await withDiagnostics(page, 'par', async () => {
    await login(page, { clientId: `${demo.config.clientId}-par` });
    const par = sent.find((r) => r.url === demo.meta.pushed_authorization_request_endpoint);
    const pushed = new URLSearchParams(par.body);
    assert.equal(pushed.get('code_challenge_method'), 'S256');
    assert.ok(pushed.get('state') && pushed.get('nonce') && pushed.get('code_challenge'));
    const front = new URL(sent.find((r) => r.url.startsWith(demo.meta.authorization_endpoint)).url);
    assert.deepEqual([...front.searchParams.keys()].sort(), ['client_id', 'request_uri']);
    assert.match(front.searchParams.get('request_uri'), /^urn:ietf:params:oauth:request_uri:/);
  });
  await page.context().close();
});

test('PAR errors are typed: the PAR endpoint refusing, a client that requires PAR with PAR off, an expired request_uri', async () => {
  const page = await newPage(browser);
  await withDiagnostics(page, 'par-errors', async () => {
    await page.goto(testUrl({ clientId: `${demo.config.clientId}-par` }));
    await page.waitForSelector('#status[data-done]');
    // The PAR endpoint refuses the request (an unknown prompt value).
    const refused = await page.evaluate(() => window.auth.authorizeUrl({ extraParams: { prompt: 'bogus' } }).catch((e) => `${e.code}|${e.status}`));
    assert.match(refused, /^invalid_request\|400$/);
    // A request_uri that expired before the redirect (say, the device slept)
    // is not sent: the provider would only show its own error page.
    demo.idp.faults.par = (body) => ({ ...body, expires_in: 0 });
    const expired = await page.evaluate(() => window.auth.loginWithRedirect().catch((e) => e.code));
    demo.idp.faults.par = null;
    assert.equal(expired, 'par_request_expired');
    assert.equal(new URL(page.url()).origin, demo.origin, 'no navigation happened');

    // PAR turned off for a client that requires it: the provider refuses, typed.
    await page.goto(testUrl({ clientId: `${demo.config.clientId}-par`, pushedAuthorizationRequests: false }));
    await page.waitForSelector('#status[data-done]');
    await startLogin(page);
    await page.waitForSelector('#status[data-done]');
    assert.equal(await page.textContent('#status'), 'error:invalid_request');
  });
  await page.context().close();
});
