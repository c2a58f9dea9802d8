// Type-checked with `tsc --noEmit --strict` against the types in the tarball.
import { createClient, PkceWasmError, type Client, type Tokens, type IdTokenClaims } from 'pkce-wasm';

async function main(): Promise<void> {
  const auth: Client = await createClient({
    issuer: 'https://idp.example.com',
    clientId: 'spa',
    redirectUri: 'https://app.example.com/',
    scope: 'openid profile',
    cacheLocation: 'localStorage',
    apiOrigins: ['https://api.example.com'],
  });
  if (auth.isCallback()) {
    const { tokens, appState, claims } = await auth.handleRedirectCallback<{ returnTo: string }>();
    const t: Tokens = tokens;
    const back: string | undefined = appState?.returnTo;
    const sub: string | undefined = claims?.sub;
    void [t.accessToken, t.expiresAt, back, sub];
  }
  await auth.loginWithRedirect({ appState: { returnTo: '/' }, extraParams: { prompt: 'login', max_age: 0, resource: ['a', 'b'] } });
  const token: string = await auth.getAccessToken({ forceRefresh: true });
  const claims: IdTokenClaims | undefined = auth.getIdTokenClaims();
  const res: Response = await auth.fetch('/api', { method: 'POST' });
  const off: () => void = auth.on('error', (e) => console.warn(e.code, e.errorDescription));
  off();
  try {
    await auth.logout({ returnTo: '/', localOnly: false });
  } catch (e) {
    if (e instanceof PkceWasmError) {
      const code: string = e.code;
      const status: number | undefined = e.status;
      void [code, status];
    }
  }
  void [token, claims, res];
  // The types are real, not `any`: these must be rejected.
  // @ts-expect-error clientId is required
  await createClient({ redirectUri: 'x' });
  // @ts-expect-error no such cache location
  await createClient({ clientId: 'a', redirectUri: 'b', cacheLocation: 'cookie' });
  // @ts-expect-error no such event
  auth.on('tokensRevoked', () => {});
}
void main;
