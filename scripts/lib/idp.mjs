// The embedded OpenID provider: oidc-provider on 127.0.0.1, with a public
// PKCE client for the app. Used by `npm start` and by the end-to-end tests.
import http from 'node:http';
import crypto from 'node:crypto';
import Provider, { errors } from 'oidc-provider';
import { generateKeyPair, exportJWK, importJWK, SignJWT, decodeProtectedHeader, decodeJwt } from 'jose';
import { listen, close } from './net.mjs';

async function signingKeys() {
  const keys = [];
  for (const [alg, kid] of [['RS256', 'rs256-1'], ['ES256', 'es256-1']]) {
    const { privateKey } = await generateKeyPair(alg, { extractable: true });
    keys.push({ ...(await exportJWK(privateKey)), kid, alg, use: 'sig' });
  }
  return { keys };
}

/**
 * Starts oidc-provider on loopback.
 * @param {object} o
 * @param {string} o.appOrigin origin allowed by CORS (the SPA)
 * @param {string[]} o.redirectUris exact redirect URIs of the public client
 * @param {string} [o.clientId]
 * @param {number} [o.port] 0 = any free port
 * @param {number} [o.accessTokenTtl] seconds
 * @param {(ctx) => Promise<boolean>|boolean} [o.hook] test-only middleware; return true when it answered
 * @param {string} [o.host] the issuer's host name (it listens on 127.0.0.1
 *   either way): `localhost` puts the provider on another site than an app
 *   on 127.0.0.1, as a provider on its own domain is (third-party cookies)
 * @param {Record<string, string>} [o.resourceServers] test-only: resource
 *   indicator → the scope it grants; refresh grants with such a `resource`
 *   (RFC 8707) get a JWT access token whose `aud` is it
 * @param {boolean} [o.crossSiteCookies] test-only: its cookies `SameSite=None;
 *   Secure` (as a provider that supports silent login from other sites sets
 *   them; Chromium takes Secure cookies from http://localhost)
 *
 * Public clients share the redirect URIs: `clientId` signs ID tokens with
 * RS256, `${clientId}-es256` with ES256, `${clientId}-dpop` gets DPoP-bound
 * access tokens (RFC 9449), `${clientId}-par` must use PAR (RFC 9126). DPoP
 * proofs at the provider must carry its nonce. A confidential client
 * `resource-server` / `rs-secret` may call token introspection.
 *
 * The returned `faults` object is for tests only (each hook edits a response
 * on its way out of the real provider):
 * - `faults.callback(url)`: the authorization response (a URL object), e.g. `state` or `iss`;
 * - `faults.tokenResponse(body)`: the token endpoint's JSON (may be async; `resign` helps);
 * - `faults.discovery(doc)`: the discovery document;
 * - `faults.par(body)`: the PAR endpoint's JSON;
 * - `faults.acr`: the `acr` the next logins at the provider's login page
 *   get (as if the user passed multi-factor authentication), also put in
 *   JWT access tokens;
 * - `faults.respond(ctx)`: answer a request instead of the provider (return
 *   true when it did), or `'hang'` to accept it and never answer.
 * `resign(idToken, edit)` re-signs an ID token with the provider's real key
 * after `edit({ header, payload })`, so a test can change one claim and keep
 * a valid signature.
 */
export async function startProvider({
  appOrigin,
  redirectUris,
  postLogoutRedirectUris = [],
  clientId = 'pkce-wasm-demo',
  port = 0,
  accessTokenTtl = 3600,
  parTtl = 60,
  hook,
  trailingSlash = false,
  routes,
  host = '127.0.0.1',
  crossSiteCookies = false,
  resourceServers = {},
}) {
  const server = http.createServer();
  const actualPort = await listen(server, port);
  const issuer = `http://${host}:${actualPort}${trailingSlash ? '/' : ''}`;
  const jwks = await signingKeys();
  const client = (id, alg, extra = {}) => ({
    client_id: id,
    application_type: 'web',
    token_endpoint_auth_method: 'none',
    grant_types: ['authorization_code', 'refresh_token'],
    response_types: ['code'],
    redirect_uris: redirectUris,
    post_logout_redirect_uris: postLogoutRedirectUris,
    id_token_signed_response_alg: alg,
    ...extra,
  });
  const provider = new Provider(issuer, {
    clients: [
      client(clientId, 'RS256'),
      client(`${clientId}-es256`, 'ES256'),
      client(`${clientId}-dpop`, 'ES256', { dpop_bound_access_tokens: true }),
      client(`${clientId}-par`, 'RS256', { require_pushed_authorization_requests: true }),
      {
        client_id: 'resource-server',
        client_secret: 'rs-secret',
        grant_types: [],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks,
    ...(routes ? { routes } : {}),
    cookies: { keys: [crypto.randomBytes(32).toString('base64url')] },
    pkce: { required: () => true },
    clientBasedCORS: (ctx, origin) => origin === appOrigin,
    issueRefreshToken: (ctx, client) => client.grantTypeAllowed('refresh_token'),
    conformIdTokenClaims: false,
    // The one authentication level the test provider knows (see faults.acr).
    acrValues: ['urn:pkce-wasm:mfa'],
    // JWT access tokens say how the user authenticated (a step-up resource server checks it).
    extraTokenClaims: (ctx) => {
      const from = ctx?.oidc?.entities?.RefreshToken ?? ctx?.oidc?.entities?.AuthorizationCode;
      return from?.acr ? { acr: from.acr } : undefined;
    },
    claims: {
      openid: ['sub'],
      profile: ['name', 'preferred_username'],
      email: ['email', 'email_verified'],
    },
    findAccount: (ctx, sub) => ({
      accountId: sub,
      claims: () => ({
        sub,
        name: sub.charAt(0).toUpperCase() + sub.slice(1),
        preferred_username: sub,
        email: `${sub}@example.test`,
        email_verified: true,
      }),
    }),
    ttl: { AccessToken: accessTokenTtl, IdToken: 3600, AuthorizationCode: 60, PushedAuthorizationRequest: parTtl },
    features: {
      devInteractions: { enabled: true },
      dPoP: { enabled: true, nonceSecret: crypto.randomBytes(32), requireNonce: () => true },
      pushedAuthorizationRequests: { enabled: true },
      introspection: { enabled: true },
      revocation: { enabled: true },
      rpInitiatedLogout: { enabled: true },
      userinfo: { enabled: true },
      resourceIndicators: {
        enabled: true,
        // No resource at the code exchange: the token is for UserInfo.
        defaultResource: () => undefined,
        useGrantedResource: () => false,
        getResourceServerInfo: (ctx, resource) => {
          if (!(resource in resourceServers)) throw new errors.InvalidTarget();
          return { scope: resourceServers[resource], audience: resource, accessTokenFormat: 'jwt', accessTokenTTL: accessTokenTtl, jwt: { sign: { alg: 'RS256' } } };
        },
      },
    },
  });
  provider.proxy = false;
  const faults = { callback: null, tokenResponse: null, discovery: null, respond: null, par: null, coop: false, acr: null };
  // Test-only: told every successful token answer as sent (after faults), so a
  // test can know the tokens without reading bodies back out of DevTools.
  const tokenListeners = new Set();
  // Test hooks first (a path only the test server has), then strip the dev
  // interaction pages' web-font @imports: this machine has no internet and the
  // page would wait on them.
  provider.use(async (ctx, next) => {
    if (hook && (await hook(ctx))) return;
    const answered = faults.respond && (await faults.respond(ctx));
    if (answered === 'hang') {
      ctx.respond = false; // keep the connection open, never answer
      return;
    }
    if (answered) return;
    // Test-only: the login page's submission finishes with the acr of faults.acr.
    if (faults.acr && ctx.method === 'POST' && /^\/interaction\/[^/]+$/.test(ctx.path)) {
      const details = await provider.interactionDetails(ctx.req, ctx.res);
      if (details.prompt.name === 'login') {
        const form = new URLSearchParams(await new Promise((resolve) => {
          let d = '';
          ctx.req.on('data', (c) => (d += c));
          ctx.req.on('end', () => resolve(d));
        }));
        ctx.respond = false;
        await provider.interactionFinished(ctx.req, ctx.res, { login: { accountId: form.get('login'), acr: faults.acr } }, { mergeWithLastSubmission: false });
        return;
      }
    }
    await next();
    if (faults.tokenResponse && ctx.method === 'POST' && ctx.path === '/token' && ctx.status === 200) {
      ctx.body = await faults.tokenResponse(ctx.body);
    }
    if (tokenListeners.size && ctx.method === 'POST' && ctx.path === '/token' && ctx.status === 200) {
      const answer = typeof ctx.body === 'string' ? ctx.body : JSON.stringify(ctx.body);
      for (const listener of tokenListeners) listener(answer);
    }
    if (faults.par && ctx.method === 'POST' && ctx.path === '/request' && ctx.status === 201) {
      ctx.body = faults.par(ctx.body);
    }
    if (faults.discovery && ctx.path === '/.well-known/openid-configuration') {
      ctx.body = faults.discovery(ctx.body);
    }
    const location = ctx.response.get('location');
    if (faults.callback && location && redirectUris.some((r) => location.startsWith(r))) {
      const url = new URL(location);
      faults.callback(url);
      ctx.response.set('location', url.href);
    }
    // Test-only: the provider's pages cut a popup off from its opener.
    if (faults.coop) ctx.set('Cross-Origin-Opener-Policy', 'same-origin');
    if (typeof ctx.body === 'string' && ctx.type?.includes('html')) {
      ctx.body = ctx.body.replace(/@import url\([^)]*\);?/g, '').replace(/<link[^>]+fonts\.[^>]+>/g, '');
    }
  });
  const handle = provider.callback();
  server.on('request', (req, res) => {
    // koa sets no Secure cookie over http: they are rewritten on the way out.
    if (crossSiteCookies) {
      const setHeader = res.setHeader.bind(res);
      res.setHeader = (name, value) =>
        setHeader(name, name.toLowerCase() === 'set-cookie' ? [value].flat().map((c) => c.replace(/samesite=lax/i, 'samesite=none; secure')) : value);
    }
    handle(req, res);
  });

  async function resign(idToken, edit = () => {}) {
    const token = { header: decodeProtectedHeader(idToken), payload: decodeJwt(idToken) };
    edit(token);
    // The key that can make this alg (RSA for RS*/PS*, EC for ES256), whatever kid the header now names.
    const family = token.header.alg.slice(0, 2) === 'ES' ? 'EC' : 'RSA';
    const { alg: _, ...jwk } = jwks.keys.find((k) => k.kid === token.header.kid && k.kty === family) ?? jwks.keys.find((k) => k.kty === family);
    const key = await importJWK(jwk, token.header.alg);
    return new SignJWT(token.payload).setProtectedHeader(token.header).sign(key);
  }

  return {
    resign,
    publicJwks: { keys: jwks.keys.map(({ d, p, q, dp, dq, qi, ...pub }) => pub) },
    issuer,
    clientId,
    provider,
    server,
    faults,
    tokenListeners,
    close: () => close(server),
  };
}
