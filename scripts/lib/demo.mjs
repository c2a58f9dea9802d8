// The demo: static server + (unless ISSUER is given) the embedded provider.
// `npm start` and the end-to-end tests both start it through startDemo().
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStatic } from './static.mjs';
import { startProvider } from './idp.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

async function discover(issuer) {
  const res = await fetch(issuer.replace(/\/$/, '') + '/.well-known/openid-configuration');
  if (!res.ok) throw new Error(`discovery at ${issuer} answered ${res.status}`);
  return res.json();
}

/**
 * @param {object} [o]
 * @param {number} [o.port] app port (0 = any)
 * @param {number} [o.idpPort] provider port (0 = any)
 * @param {string} [o.issuer] an external provider instead of the embedded one
 * @param {string} [o.clientId] client id at the external provider
 * @param {string} [o.scope]
 * @param {Function} [o.hook] provider test hook (see idp.mjs)
 */
export async function startDemo({ port = 0, idpPort = 0, issuer, clientId, scope = 'openid profile email', hook, accessTokenTtl, parTtl, providerOptions = {}, extraMounts = {}, extraRedirectPaths = [], clientOptions = {}, pageHeaders } = {}) {
  let config;
  let meta;
  let idp;
  const app = await startStatic({
    port,
    headers: pageHeaders,
    // Only the embedded provider knows the demo API's introspection credentials.
    routes: { '/api/me': (req, res) => demoApi(req, res, idp ? meta?.introspection_endpoint : undefined, config?.clientId) },
    mounts: { '/': path.join(root, 'www'), '/dist/': path.join(root, 'dist'), ...extraMounts },
    config: () => config,
  });
  const redirectUri = app.origin + '/';
  if (!issuer) {
    idp = await startProvider({
      appOrigin: app.origin,
      redirectUris: [redirectUri, ...extraRedirectPaths.map((p) => app.origin + p)],
      postLogoutRedirectUris: [redirectUri, ...extraRedirectPaths.map((p) => app.origin + p)],
      port: idpPort,
      hook,
      accessTokenTtl,
      parTtl,
      ...providerOptions,
    });
    issuer = idp.issuer;
    clientId = idp.clientId;
  }
  // The demo configures only what an app would: the SDK discovers the rest.
  config = { issuer, clientId, redirectUri, scope, ...clientOptions };
  meta = await discover(issuer);
  return {
    url: redirectUri,
    origin: app.origin,
    issuer,
    config,
    meta,
    idp,
    async close() {
      await app.close();
      await idp?.close();
    },
  };
}

/**
 * The demo's API, `GET /api/me`: a resource server on the app's origin that
 * checks the bearer token by token introspection (RFC 7662) at the embedded
 * provider, as client `resource-server`, and answers who the token is for.
 * An unknown or expired token is a 401 with `error="invalid_token"`, which
 * `client.fetch` answers with one refresh and a retry.
 */
async function demoApi(req, res, introspectionEndpoint, clientId) {
  const reply = (status, body, headers = {}) => {
    res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const token = /^Bearer ([^\s]+)$/.exec(req.headers.authorization ?? '')?.[1];
  if (!token) return reply(401, { error: 'no bearer token' }, { 'WWW-Authenticate': 'Bearer realm="demo"' });
  if (!introspectionEndpoint) return reply(503, { error: 'the demo API needs the embedded provider (token introspection)' });
  try {
    const answer = await fetch(introspectionEndpoint, {
      method: 'POST',
      headers: { Authorization: 'Basic ' + Buffer.from('resource-server:rs-secret').toString('base64'), 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ token }),
    });
    // The introspection call itself failing is not the token's fault: no invalid_token (it would make the SDK refresh).
    if (!answer.ok) return reply(502, { error: `introspection answered ${answer.status}` });
    const info = await answer.json();
    // An access token of this demo's client only: oidc-provider also introspects refresh tokens (no token_type).
    if (!info.active || info.token_type !== 'Bearer' || info.client_id !== clientId) {
      return reply(401, { error: 'invalid_token' }, { 'WWW-Authenticate': 'Bearer error="invalid_token"' });
    }
    reply(200, { message: `Hello, ${info.sub}.`, sub: info.sub, scope: info.scope, client_id: info.client_id, expires_in: info.exp - Math.floor(Date.now() / 1000) });
  } catch {
    reply(502, { error: 'introspection failed' });
  }
}
