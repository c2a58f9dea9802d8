// Shared by the micro-benchmarks: a signing key, ID tokens, a fetch stub.
export const ISSUER = 'https://idp.bench.example';
export const CLIENT_ID = 'bench';
export const BATCH = 10;
/** pkce-wasm's client for the stubbed pages: metadata supplied, no PAR. */
export const pkceWasmOptions = () => ({
  issuer: ISSUER,
  clientId: CLIENT_ID,
  redirectUri: location.origin + '/cb',
  scope: 'openid',
  pushedAuthorizationRequests: false,
  metadata: { issuer: ISSUER, authorization_endpoint: ISSUER + '/authorize', token_endpoint: ISSUER + '/token', jwks_uri: ISSUER + '/jwks', id_token_signing_alg_values_supported: ['ES256'] },
});
const enc = (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
const text = (s) => enc(new TextEncoder().encode(s));
let key;
export async function signingKey() {
  key ??= await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify']);
  const jwk = await crypto.subtle.exportKey('jwk', key.publicKey);
  return { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y, kid: 'k1', alg: 'ES256', use: 'sig' };
}
export async function idToken(nonce) {
  const now = Math.floor(Date.now() / 1000);
  const input = `${text(JSON.stringify({ alg: 'ES256', kid: 'k1' }))}.${text(JSON.stringify({ iss: ISSUER, aud: CLIENT_ID, sub: 'alice', iat: now, exp: now + 600, nonce }))}`;
  const sig = await crypto.subtle.sign({ name: 'ECDSA', hash: 'SHA-256' }, key.privateKey, new TextEncoder().encode(input));
  return `${input}.${enc(sig)}`;
}
export const tokenBody = (id) => JSON.stringify({ access_token: 'at-' + Math.random(), token_type: 'Bearer', expires_in: 300, id_token: id });
export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

// What this browser's sessionStorage costs, in the same page: one setItem and
// one getItem of a record the size of a login transaction (µs, median of batches).
window.__storage = (n = 400) => {
  const value = 'x'.repeat(420);
  const set = [];
  const get = [];
  for (let r = 0; r < n / BATCH; r++) {
    sessionStorage.clear();
    let t = performance.now();
    for (let i = 0; i < BATCH; i++) sessionStorage.setItem('bench.' + i, value + i);
    set.push(((performance.now() - t) / BATCH) * 1000);
    t = performance.now();
    for (let i = 0; i < BATCH; i++) sessionStorage.getItem('bench.' + i);
    get.push(((performance.now() - t) / BATCH) * 1000);
  }
  sessionStorage.clear();
  return { set: median(set), get: median(get) };
};
