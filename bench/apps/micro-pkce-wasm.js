// pkce-wasm micro-benchmarks (network stubbed): (a) PKCE pair + authorize URL,
// (b) callback parse + token response parse + ID token validation (signature included).
import { createClient } from 'pkce-wasm';
import { ISSUER, BATCH, signingKey, idToken, tokenBody, median, pkceWasmOptions } from './micro-common.js';

window.__micro = async (n, { stubVerify = false } = {}) => {
  const jwk = await signingKey();
  let next = null; // the token response for the next callback
  const realFetch = globalThis.fetch;
  globalThis.fetch = async (url, init) => {
    if (!String(url).startsWith(ISSUER)) return realFetch(url, init); // the wasm itself
    if (String(url).endsWith('/jwks')) return new Response(JSON.stringify({ keys: [jwk] }), { headers: { 'content-type': 'application/json' } });
    return new Response(next, { headers: { 'content-type': 'application/json' } });
  };
  const auth = await createClient(pkceWasmOptions());
  // Batches of BATCH: the page's clock is coarsened to 0.1 ms.
  const a = [];
  for (let r = 0; r < n / BATCH; r++) {
    sessionStorage.clear(); // as in real use: one or a few logins pending
    const t = performance.now();
    for (let i = 0; i < BATCH; i++) await auth.authorizeUrl();
    a.push((performance.now() - t) / BATCH);
  }
  const b = [];
  for (let r = 0; r < n / BATCH; r++) {
    sessionStorage.clear();
    const calls = [];
    for (let i = 0; i < BATCH; i++) {
      const url = new URL(await auth.authorizeUrl());
      const body = tokenBody(await idToken(url.searchParams.get('nonce')));
      calls.push([`${location.origin}/cb?code=c${r}-${i}&state=${url.searchParams.get('state')}&iss=${encodeURIComponent(ISSUER)}`, body]);
    }
    // stubVerify: the signature check answers at once (what the peers skip).
    const verify = crypto.subtle.verify;
    if (stubVerify) crypto.subtle.verify = async () => true;
    const t = performance.now();
    try {
      for (const [url, body] of calls) {
        next = body;
        await auth.handleRedirectCallback(url);
      }
    } finally {
      crypto.subtle.verify = verify;
    }
    b.push((performance.now() - t) / BATCH);
  }
  return { authorize: median(a), callback: median(b) };
};
