// `npm start` (after setup and build): serves the demo and, unless ISSUER is
// set, the embedded OpenID provider, both on 127.0.0.1.
import { startDemo } from './lib/demo.mjs';

const port = Number(process.env.PORT ?? 5500);
const idpPort = Number(process.env.IDP_PORT ?? 5501);
const demo = await startDemo({
  port,
  idpPort,
  issuer: process.env.ISSUER,
  clientId: process.env.CLIENT_ID,
  scope: process.env.SCOPE,
});

console.log(`
pkce-wasm demo:   ${demo.url}
OpenID provider:  ${demo.issuer}${demo.idp ? ' (embedded oidc-provider)' : ''}
client_id:        ${demo.config.clientId}   redirect_uri: ${demo.config.redirectUri}
${demo.idp ? 'Log in with any username and any password (development interactions).' : 'Register the redirect_uri above with your provider.'}
Ctrl+C to stop.`);

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    await demo.close();
    process.exit(0);
  });
}
