// auth0-spa-js: createAuth0Client + loginWithRedirect / handleRedirectCallback, as its docs show.
import { createAuth0Client } from '@auth0/auth0-spa-js';

const config = await (await fetch('/config.json')).json();
const auth0 = await createAuth0Client({
  domain: config.issuer.replace(/\/$/, ''),
  clientId: config.clientId,
  authorizationParams: { redirect_uri: location.origin + location.pathname, scope: config.scope },
});
if (new URLSearchParams(location.search).has('code')) {
  await auth0.handleRedirectCallback();
  window.__done(await auth0.getTokenSilently());
} else {
  await auth0.loginWithRedirect();
}
