// oidc-client-ts: UserManager with signinRedirect / signinRedirectCallback, as its docs show.
import { UserManager } from 'oidc-client-ts';

const config = await (await fetch('/config.json')).json();
const mgr = new UserManager({
  authority: config.issuer,
  client_id: config.clientId,
  redirect_uri: location.origin + location.pathname,
  response_type: 'code',
  scope: config.scope,
  automaticSilentRenew: false,
});
if (new URLSearchParams(location.search).has('code')) {
  const user = await mgr.signinRedirectCallback();
  window.__done(user.access_token);
} else {
  await mgr.signinRedirect();
}
