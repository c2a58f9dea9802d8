// oauth4webapi micro-benchmarks (network stubbed), the same two steps as its
// README flow. Note: oauth4webapi does not verify the ID token signature.
import * as oauth from 'oauth4webapi';
import { ISSUER, CLIENT_ID, BATCH, signingKey, idToken, tokenBody, median } from './micro-common.js';

window.__micro = async (n) => {
  await signingKey();
  const as = { issuer: ISSUER, authorization_endpoint: ISSUER + '/authorize', token_endpoint: ISSUER + '/token', id_token_signing_alg_values_supported: ['ES256'] };
  const client = { client_id: CLIENT_ID };
  const redirectUri = location.origin + '/cb';
  const start = async () => {
    const verifier = oauth.generateRandomCodeVerifier();
    const state = oauth.generateRandomState();
    const nonce = oauth.generateRandomNonce();
    sessionStorage.setItem('tx', JSON.stringify({ verifier, state, nonce }));
    const url = new URL(as.authorization_endpoint);
    for (const [k, v] of Object.entries({ client_id: CLIENT_ID, redirect_uri: redirectUri, response_type: 'code', scope: 'openid', code_challenge: await oauth.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', state, nonce })) url.searchParams.set(k, v);
    return { url, state, nonce };
  };
  // Batches of BATCH: the page's clock is coarsened to 0.1 ms.
  const a = [];
  for (let r = 0; r < n / BATCH; r++) {
    const t = performance.now();
    for (let i = 0; i < BATCH; i++) await start();
    a.push((performance.now() - t) / BATCH);
  }
  const b = [];
  for (let r = 0; r < n / BATCH; r++) {
    const calls = [];
    for (let i = 0; i < BATCH; i++) {
      const tx = await start();
      calls.push({ ...tx, saved: sessionStorage.getItem('tx'), body: tokenBody(await idToken(tx.nonce)) });
    }
    const t = performance.now();
    for (const { state, saved, body } of calls) {
      const { state: expected, nonce: expectedNonce } = JSON.parse(saved);
      oauth.validateAuthResponse(as, client, new URL(`${redirectUri}?code=c&state=${state}&iss=${encodeURIComponent(ISSUER)}`), expected);
      const response = new Response(body, { headers: { 'content-type': 'application/json' } });
      await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce, requireIdToken: true });
    }
    b.push((performance.now() - t) / BATCH);
  }
  return { authorize: median(a), callback: median(b) };
};
