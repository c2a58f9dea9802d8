// pkce-wasm with its default pushedAuthorizationRequests: 'auto' (the provider
// offers PAR): the login page pushes the request first. Reported beside the
// PAR-less run so the round trip's cost is visible; not a peer.
import { createClient } from 'pkce-wasm';

const config = await (await fetch('/config.json')).json();
const auth = await createClient({
  issuer: config.issuer,
  clientId: config.clientId,
  redirectUri: location.origin + location.pathname,
  scope: config.scope,
});
if (auth.isCallback()) {
  const { tokens } = await auth.handleRedirectCallback();
  window.__done(tokens.accessToken);
} else {
  await auth.loginWithRedirect();
}
