// pkce-wasm: the README's quick start.
import { createClient } from 'pkce-wasm';

const config = await (await fetch('/config.json')).json();
const auth = await createClient({
  issuer: config.issuer,
  clientId: config.clientId,
  redirectUri: location.origin + location.pathname,
  scope: config.scope,
  pushedAuthorizationRequests: false, // the peers do not use PAR: compare the same protocol
});
if (auth.isCallback()) {
  const { tokens } = await auth.handleRedirectCallback();
  window.__done(tokens.accessToken);
} else {
  await auth.loginWithRedirect();
}
