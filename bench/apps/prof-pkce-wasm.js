// bench/prof.mjs's page: authorizeUrl only, in a loop, for a CPU profile.
import { createClient } from 'pkce-wasm';
import { ISSUER, CLIENT_ID } from './micro-common.js';

window.__micro = async (n) => {
  const auth = await createClient({
    issuer: ISSUER,
    clientId: CLIENT_ID,
    redirectUri: location.origin + '/cb',
    scope: 'openid',
    pushedAuthorizationRequests: false,
    metadata: { issuer: ISSUER, authorization_endpoint: ISSUER + '/authorize', token_endpoint: ISSUER + '/token', jwks_uri: ISSUER + '/jwks', id_token_signing_alg_values_supported: ['ES256'] },
  });
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    if (i % 10 === 0) sessionStorage.clear();
    await auth.authorizeUrl();
  }
  return { authorize: (performance.now() - t) / n };
};
