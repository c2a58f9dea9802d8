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
  const app = await startStatic({
    port,
    headers: pageHeaders,
    mounts: { '/': path.join(root, 'www'), '/dist/': path.join(root, 'dist'), ...extraMounts },
    config: () => config,
  });
  const redirectUri = app.origin + '/';
  let idp;
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
  const meta = await discover(issuer);
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
