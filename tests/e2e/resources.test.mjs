// Tokens for several APIs (issue 16, RFC 8707) and step-up (RFC 9470), real Chromium + real
// oidc-provider with resource indicators: the login asks for two resources,
// and each API gets a JWT access token for its own audience, obtained with
// the refresh grant and its `resource` — from the one refresh token. Two
// resource servers in the test verify every token (signature, iss, aud, exp)
// and refuse the other's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import crypto from 'node:crypto';
import { createLocalJWKSet, jwtVerify, decodeJwt, EmbeddedJWK, calculateJwkThumbprint } from 'jose';
import { launch, newPage, withDiagnostics, startTestDemo, signIn, startLogin } from './support.mjs';
import { listen, close } from '../../scripts/lib/net.mjs';

const A = 'urn:pkce-wasm:api-a';
const B = 'urn:pkce-wasm:api-b';
const MFA = 'urn:pkce-wasm:mfa';
const D = 'urn:pkce-wasm:api-dpop';
let demo;
let browser;
const servers = [];
const refreshes = [];
const authorizations = [];

/**
 * A resource server for `audience` that checks the bearer token with the
 * provider's keys. With `metadata(origin)`, it serves that protected resource
 * metadata (RFC 9728) and names it in its 401 challenges; its audience is
 * then `<origin>/mcp`.
 */
async function resourceServer(audience, metadata) {
  const seen = [];
  const rs = { seen, metadataReads: 0 };
  const server = http.createServer(async (req, res) => {
    const cors = { 'access-control-allow-origin': demo.origin, 'access-control-allow-headers': 'authorization', 'access-control-expose-headers': 'www-authenticate' };
    if (req.method === 'OPTIONS') return res.writeHead(204, cors).end();
    if (metadata && req.url === '/.well-known/oauth-protected-resource/mcp') {
      rs.metadataReads++;
      return res.writeHead(200, { ...cors, 'content-type': 'application/json' }).end(JSON.stringify(metadata(rs.origin)));
    }
    audience ??= `${rs.origin}/mcp`;
    const auth = req.headers.authorization ?? null;
    seen.push(auth);
    try {
      const token = auth?.match(/^Bearer (.+)$/)?.[1];
      if (!token) throw new Error('no token');
      const { payload } = await jwtVerify(token, createLocalJWKSet(demo.idp.publicJwks), { issuer: demo.issuer, audience });
      // RFC 9470: /admin wants a multi-factor login, just made.
      if (req.url.startsWith('/admin') && payload.acr !== MFA) {
        return res
          .writeHead(401, { ...cors, 'www-authenticate': `Bearer error="insufficient_user_authentication", error_description="A multi-factor login is required", acr_values="${MFA}", max_age=0` })
          .end();
      }
      res.writeHead(200, { ...cors, 'content-type': 'application/json' }).end(JSON.stringify({ aud: payload.aud, scope: payload.scope }));
    } catch (e) {
      const prm = metadata ? `, resource_metadata="${rs.origin}/.well-known/oauth-protected-resource/mcp"` : '';
      res.writeHead(401, { ...cors, 'www-authenticate': `Bearer error="invalid_token"${prm}` }).end(String(e.code ?? e.message));
    }
  });
  const port = await listen(server, 0);
  servers.push(server);
  rs.origin = `http://127.0.0.1:${port}`;
  return rs;
}

let rsA;
let rsB;
let rsC;
let rsEvil;
let rsElsewhere;
const resourceServers = { [A]: 'a:read', [B]: 'b:read', [D]: 'd:read' };
let rsD;

/** A resource server for DPoP-bound JWT access tokens (RFC 9449): the proof, then the token's cnf.jkt against the proof's key. */
async function dpopResourceServer() {
  const rs = { results: [] };
  const seenJti = new Set();
  const server = http.createServer(async (req, res) => {
    const cors = { 'access-control-allow-origin': demo.origin, 'access-control-allow-headers': 'authorization, dpop', 'access-control-expose-headers': 'www-authenticate' };
    if (req.method === 'OPTIONS') return res.writeHead(204, cors).end();
    const deny = (why) => {
      rs.results.push(why);
      res.writeHead(401, { ...cors, 'www-authenticate': 'DPoP algs="ES256", error="invalid_token"' }).end(why);
    };
    try {
      const [scheme, token] = (req.headers.authorization ?? '').split(' ');
      if (scheme !== 'DPoP' || !token || !req.headers.dpop) return deny('no DPoP');
      const { payload: p, protectedHeader } = await jwtVerify(req.headers.dpop, EmbeddedJWK, { typ: 'dpop+jwt', algorithms: ['ES256'] });
      if (p.htm !== req.method || p.htu !== rs.origin + new URL(req.url, rs.origin).pathname) return deny('htm/htu');
      if (Math.abs(p.iat - Date.now() / 1000) > 60 || seenJti.has(p.jti)) return deny('iat/jti');
      seenJti.add(p.jti);
      if (p.ath !== crypto.createHash('sha256').update(token).digest('base64url')) return deny('ath');
      const { payload } = await jwtVerify(token, createLocalJWKSet(demo.idp.publicJwks), { issuer: demo.issuer, audience: D });
      if (payload.cnf?.jkt !== (await calculateJwkThumbprint(protectedHeader.jwk))) return deny('cnf');
      rs.results.push('ok');
      res.writeHead(200, { ...cors, 'content-type': 'application/json' }).end(JSON.stringify({ aud: payload.aud, jkt: payload.cnf.jkt }));
    } catch (e) {
      deny(`bad: ${e.code ?? e.message}`);
    }
  });
  rs.origin = `http://127.0.0.1:${await listen(server, 0)}`;
  servers.push(server);
  return rs;
}

before(async () => {
  demo = await startTestDemo({
    providerOptions: { resourceServers },
    hook: async (ctx) => {
      if (ctx.method === 'POST' && ctx.path === '/token') refreshes.push(ctx.path);
      if (ctx.method === 'GET' && ctx.path === '/auth') authorizations.push(ctx.query);
      return false;
    },
  });
  rsA = await resourceServer(A);
  rsB = await resourceServer(B);
  // RFC 9728: one that tells its resource, one that names another issuer,
  // one whose document is for another API.
  rsC = await resourceServer(null, (origin) => ({ resource: `${origin}/mcp`, authorization_servers: [demo.issuer] }));
  rsEvil = await resourceServer(null, (origin) => ({ resource: `${origin}/mcp`, authorization_servers: ['https://evil.example'] }));
  rsElsewhere = await resourceServer(null, () => ({ resource: `${rsC.origin}/mcp`, authorization_servers: [demo.issuer] }));
  for (const rs of [rsC, rsEvil, rsElsewhere]) resourceServers[`${rs.origin}/mcp`] = 'mcp';
  rsD = await dpopResourceServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  for (const s of servers) await close(s);
  await demo?.close();
});

test('two APIs, one refresh token: each API gets a token for its own audience, and never the other\'s', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  await withDiagnostics(page, 'resources', async () => {
    const resources = { [rsA.origin]: { resource: A, scope: 'a:read' }, [`${rsB.origin}/v1/`]: { resource: B, scope: 'b:read' } };
    await page.goto(`${demo.origin}/test/?opts=${encodeURIComponent(JSON.stringify({ resources }))}`);
    await page.waitForSelector('#status[data-done]');
    await startLogin(page);
    await signIn(page);
    await page.waitForSelector('#status[data-done]');
    assert.equal(await page.textContent('#status'), 'in');
    const posts = refreshes.length;
    const r = await page.evaluate(async ([a, b]) => {
      const call = async (url) => {
        const res = await window.auth.fetch(url);
        return { status: res.status, body: res.status === 200 ? await res.json() : await res.text() };
      };
      const main = await window.auth.getAccessToken();
      const out = { first: await call(`${a}/items`), again: await call(`${a}/items`), b: await call(`${b}/v1/things`) };
      out.main = main === (await window.auth.getAccessToken());
      out.tokenA = await window.auth.getAccessToken({ resource: 'urn:pkce-wasm:api-a' });
      // A's token presented to B by hand: B refuses it.
      out.aAtB = (await fetch(`${b}/v1/things`, { headers: { authorization: `Bearer ${out.tokenA}` } })).status;
      // Outside B's prefix: no token at all.
      out.outside = (await window.auth.fetch(`${b}/v2/other`)).status;
      return out;
    }, [rsA.origin, rsB.origin]);
    assert.equal(r.first.status, 200, JSON.stringify(r));
    assert.equal(r.first.body.aud, A);
    assert.match(r.first.body.scope, /a:read/);
    assert.equal(r.b.status, 200, JSON.stringify(r));
    assert.equal(r.b.body.aud, B);
    assert.equal(decodeJwt(r.tokenA).aud, A);
    assert.equal(r.aAtB, 401, 'a token for A is refused by B');
    assert.equal(r.outside, 401, 'no token outside the configured prefix');
    assert.equal(rsB.seen.at(-1), null, 'nothing was sent outside the prefix');
    assert.equal(r.main, true, "the session's own token is not replaced");
    assert.equal(refreshes.length, posts + 2, 'one refresh grant per API, the second call to A reused its token');
  });
  await context.close();
});

test('step-up (RFC 9470): the API asks for MFA, fetch fails with step_up_required and what it wants; a login that asks for it and does not get it is id_token_acr_not_satisfied, and the session stays', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  await withDiagnostics(page, 'step-up', async () => {
    const resources = { [rsA.origin]: { resource: A, scope: 'a:read' } };
    const opts = { resources, cacheLocation: 'sessionStorage' };
    await page.goto(`${demo.origin}/test/?opts=${encodeURIComponent(JSON.stringify(opts))}`);
    await page.waitForSelector('#status[data-done]');
    await startLogin(page);
    await signIn(page);
    await page.waitForSelector('#status[data-done]');
    assert.equal(await page.textContent('#status'), 'in');
    const e = await page.evaluate(async (a) => {
      try {
        await window.auth.fetch(`${a}/admin`);
        return { code: 'none' };
      } catch (e) {
        return { code: e.code, name: e.name, acrValues: e.acrValues, maxAge: e.maxAge, message: e.message };
      }
    }, rsA.origin);
    assert.equal(e.code, 'step_up_required', JSON.stringify(e));
    assert.equal(e.name, 'PkceWasmError');
    assert.equal(e.acrValues, MFA);
    assert.equal(e.maxAge, 0);
    // The app logs in again with what the API asked for; this provider cannot do MFA.
    await page.evaluate(([acr, maxAge]) => window.auth.loginWithRedirect({ extraParams: { acr_values: acr, max_age: maxAge } }), [e.acrValues, e.maxAge]);
    await signIn(page);
    await page.waitForSelector('#status[data-done]');
    assert.equal(await page.textContent('#status'), 'error:id_token_acr_not_satisfied');
    assert.equal(await page.evaluate(() => window.auth.isAuthenticated()), true, 'the session from before stays');
  });
  await context.close();
});

test('protected resource metadata (RFC 9728): an API that names its resource — outside the grant, resource_not_granted and the session kept; once the login asked for it, a token for it and the request once more; one naming another issuer or another API gets no token', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  await withDiagnostics(page, 'prm', async () => {
    const opts = { apiOrigins: [demo.origin, rsC.origin, rsEvil.origin, rsElsewhere.origin] };
    await page.goto(`${demo.origin}/test/?opts=${encodeURIComponent(JSON.stringify(opts))}`);
    await page.waitForSelector('#status[data-done]');
    await startLogin(page);
    await signIn(page);
    await page.waitForSelector('#status[data-done]');
    // The login did not ask for C's resource: refused before the provider
    // is asked (oidc-provider would spend the refresh token, then refuse).
    const first = await page.evaluate((c) => window.auth.fetch(`${c}/mcp/tools`).then((r) => ({ status: r.status }), (e) => ({ code: e.code, resource: e.resource })), rsC.origin);
    assert.equal(first.code, 'resource_not_granted', JSON.stringify(first));
    assert.equal(first.resource, `${rsC.origin}/mcp`);
    assert.equal(await page.evaluate(() => window.auth.isAuthenticated()), true, 'the session stays');
    assert.equal(typeof (await page.evaluate(() => window.auth.getAccessToken({ forceRefresh: true }))), 'string', 'and its refresh token works');
    // The app logs in again asking for it (as the error says).
    await page.evaluate((res) => window.auth.loginWithRedirect({ extraParams: { resource: res } }), first.resource);
    await signIn(page);
    await page.waitForSelector('#status[data-done]');
    const r = await page.evaluate(async ([c, evil, elsewhere]) => {
      const call = (url) =>
        window.auth.fetch(url).then(
          async (res) => ({ status: res.status, body: res.status === 200 ? await res.json() : null }),
          (e) => ({ code: e.code, message: e.message }),
        );
      return { first: await call(`${c}/mcp/tools`), again: await call(`${c}/mcp/tools`), evil: await call(`${evil}/mcp/tools`), elsewhere: await call(`${elsewhere}/mcp/tools`) };
    }, [rsC.origin, rsEvil.origin, rsElsewhere.origin]);
    assert.equal(r.first.status, 200, JSON.stringify(r));
    assert.equal(r.first.body.aud, `${rsC.origin}/mcp`);
    assert.equal(r.again.status, 200);
    assert.equal(rsC.metadataReads, 2, 'read once per page load (the login reloaded the page)');
    assert.equal(r.evil.code, 'resource_metadata_invalid', JSON.stringify(r.evil));
    assert.match(r.evil.message, /authorization_servers/);
    assert.equal(r.elsewhere.code, 'resource_metadata_invalid', JSON.stringify(r.elsewhere));
    assert.match(r.elsewhere.message, /not the API/);
    // After the document was refused, nothing but the first request reached them.
    assert.equal(rsEvil.seen.length, 1);
    assert.equal(rsElsewhere.seen.length, 1);
  });
  await context.close();
});

test('stepUp: popup — the API asks for MFA, fetch (from a click) opens the login popup with its acr_values and max_age; the provider cannot deliver the acr: id_token_acr_not_satisfied, the session from before stays', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  await withDiagnostics(page, 'step-up-popup', async () => {
    // Without PAR, so that the test sees the authorization request's parameters.
    const opts = { resources: { [rsA.origin]: { resource: A, scope: 'a:read' } }, stepUp: 'popup', pushedAuthorizationRequests: false };
    await page.goto(`${demo.origin}/test/?opts=${encodeURIComponent(JSON.stringify(opts))}`);
    await page.waitForSelector('#status[data-done]');
    await startLogin(page);
    await signIn(page);
    await page.waitForSelector('#status[data-done]');
    const before = await page.evaluate(() => window.auth.getTokens().accessToken);
    await page.evaluate((a) => (window.fetchUrl = `${a}/admin`), rsA.origin);
    const [popup] = await Promise.all([page.waitForEvent('popup', { timeout: 15000 }), page.click('#fetch')]);
    // The provider may ask for the login again (max_age=0) or answer at once: either way the popup closes.
    await signIn(popup).catch((e) => {
      if (!popup.isClosed()) throw e;
    });
    if (!popup.isClosed()) await popup.waitForEvent('close', { timeout: 15000 }).catch(() => {});
    const r = await page.evaluate(() => window.fetchResult);
    assert.equal(r.code, 'id_token_acr_not_satisfied', JSON.stringify(r));
    assert.equal(popup.isClosed(), true);
    const sent = authorizations.at(-1);
    assert.equal(sent.acr_values, MFA, 'the login asked for what the API wants');
    assert.equal(sent.max_age, '0');
    assert.equal(await page.evaluate(() => window.auth.getTokens().accessToken), before, 'the session from before stays');
  });
  await context.close();
});

test('stepUp: popup, the provider delivering it — the user passes MFA in the popup, the new ID token has the acr, and the request goes once more and succeeds', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  try {
    await withDiagnostics(page, 'step-up-mfa', async () => {
      const opts = { resources: { [rsA.origin]: { resource: A, scope: 'a:read' } }, stepUp: 'popup' };
      await page.goto(`${demo.origin}/test/?opts=${encodeURIComponent(JSON.stringify(opts))}`);
      await page.waitForSelector('#status[data-done]');
      await startLogin(page);
      await signIn(page);
      await page.waitForSelector('#status[data-done]');
      const before = await page.evaluate(() => window.auth.getTokens().accessToken);
      // From now on the provider's login page authenticates with MFA.
      demo.idp.faults.acr = MFA;
      await page.evaluate((a) => (window.fetchUrl = `${a}/admin`), rsA.origin);
      const [popup] = await Promise.all([page.waitForEvent('popup', { timeout: 15000 }), page.click('#fetch')]);
      await signIn(popup).catch((e) => {
        if (!popup.isClosed()) throw e;
      });
      if (!popup.isClosed()) await popup.waitForEvent('close', { timeout: 15000 }).catch(() => {});
      const r = await page.evaluate(() => window.fetchResult);
      assert.equal(r.status, 200, JSON.stringify(r));
      const claims = await page.evaluate(() => window.auth.getIdTokenClaims());
      assert.equal(claims.acr, MFA, 'the new session is the stepped-up one');
      assert.notEqual(await page.evaluate(() => window.auth.getTokens().accessToken), before);
    });
  } finally {
    demo.idp.faults.acr = null;
  }
  await context.close();
});

test('DPoP (RFC 9449) with tokens for several APIs: the API\'s own token is bound to the session\'s key (cnf.jkt), checked by the resource server against each proof', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  await withDiagnostics(page, 'resources-dpop', async () => {
    const opts = { clientId: `${demo.config.clientId}-dpop`, dpop: true, resources: { [rsD.origin]: { resource: D, scope: 'd:read' } } };
    await page.goto(`${demo.origin}/test/?opts=${encodeURIComponent(JSON.stringify(opts))}`);
    await page.waitForSelector('#status[data-done]');
    await startLogin(page);
    await signIn(page);
    await page.waitForSelector('#status[data-done]');
    assert.equal(await page.textContent('#status'), 'in');
    const r = await page.evaluate(async (d) => {
      const res = await window.auth.fetch(`${d}/items`);
      const body = res.status === 200 ? await res.json() : await res.text();
      const token = await window.auth.getAccessToken({ resource: 'urn:pkce-wasm:api-dpop' });
      // The same token without its proof, as a thief would send it.
      const stolen = (await fetch(`${d}/items`, { headers: { authorization: `Bearer ${token}` } })).status;
      return { status: res.status, body, stolen };
    }, rsD.origin);
    assert.equal(r.status, 200, JSON.stringify(r) + ' ' + rsD.results.join(','));
    assert.equal(r.body.aud, D);
    assert.ok(r.body.jkt, 'bound to a key');
    assert.equal(r.stolen, 401, 'useless without the key');
  });
  await context.close();
});
