// oauth4webapi: its README's Authorization Code + PKCE flow (public client).
import * as oauth from 'oauth4webapi';

const config = await (await fetch('/config.json')).json();
const issuer = new URL(config.issuer);
const as = await oauth.processDiscoveryResponse(issuer, await oauth.discoveryRequest(issuer, { [oauth.allowInsecureRequests]: true }));
const client = { client_id: config.clientId };
const clientAuth = oauth.None();
const redirectUri = location.origin + location.pathname;
const params = new URLSearchParams(location.search);
if (params.has('code') || params.has('error')) {
  const { verifier, state, nonce } = JSON.parse(sessionStorage.getItem('tx'));
  sessionStorage.removeItem('tx');
  const cb = oauth.validateAuthResponse(as, client, new URL(location.href), state);
  const response = await oauth.authorizationCodeGrantRequest(as, client, clientAuth, cb, redirectUri, verifier, { [oauth.allowInsecureRequests]: true });
  const result = await oauth.processAuthorizationCodeResponse(as, client, response, { expectedNonce: nonce, requireIdToken: true });
  window.__done(result.access_token);
} else {
  const verifier = oauth.generateRandomCodeVerifier();
  const state = oauth.generateRandomState();
  const nonce = oauth.generateRandomNonce();
  sessionStorage.setItem('tx', JSON.stringify({ verifier, state, nonce }));
  const url = new URL(as.authorization_endpoint);
  url.searchParams.set('client_id', client.client_id);
  url.searchParams.set('redirect_uri', redirectUri);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('scope', config.scope);
  url.searchParams.set('code_challenge', await oauth.calculatePKCECodeChallenge(verifier));
  url.searchParams.set('code_challenge_method', 'S256');
  url.searchParams.set('state', state);
  url.searchParams.set('nonce', nonce);
  location.assign(url.href);
}
