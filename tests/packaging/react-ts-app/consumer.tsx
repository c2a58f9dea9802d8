// Type-checked with `tsc --noEmit --strict` against the types in the tarball (js/react.d.ts).
import { createClient, PkceWasmError, type CallbackResult, type Client, type IdTokenClaims } from 'pkce-wasm';
import {
  AuthProvider,
  RequireAuth,
  useAuth,
  withAuthenticationRequired,
  type AuthContextValue,
  type AuthProviderProps,
} from 'pkce-wasm/react';

const options = { issuer: 'https://idp.example.com', clientId: 'spa', redirectUri: 'https://app.example.com/' };
const clientPromise: Promise<Client> = createClient(options);

function Profile({ greeting }: { greeting: string }) {
  const auth: AuthContextValue = useAuth();
  const { isLoading, isAuthenticated, user, error, client, loginWithRedirect, loginWithPopup, logout, getAccessToken, fetch } = auth;
  const claims: IdTokenClaims | undefined = user;
  const code: string | undefined = error?.code;
  const isError: boolean = error instanceof PkceWasmError;
  const c: Client | undefined = client;
  void [isLoading, claims, code, isError, c, auth.getIdTokenClaims()?.sub];
  const onPopup = async () => {
    const result: CallbackResult<{ returnTo: string }> | undefined = await loginWithPopup<{ returnTo: string }>({ popupTimeout: 60 });
    const back: string | undefined = result?.appState?.returnTo;
    const token: string = await getAccessToken({ forceRefresh: true, resource: 'https://api.example.com' });
    const res: Response = await fetch('https://api.example.com/orders', { method: 'POST' });
    const info: Record<string, unknown> | undefined = await auth.getUser({ userInfo: true });
    void [back, token, res.status, info];
  };
  return (
    <div>
      <p>
        {greeting} {user?.sub}
      </p>
      {!isAuthenticated && <button onClick={() => loginWithRedirect({ appState: { returnTo: '/' }, extraParams: { prompt: 'login' } })}>in</button>}
      <button onClick={onPopup}>popup</button>
      <button onClick={() => logout({ returnTo: new URL('https://app.example.com/'), localOnly: false })}>out</button>
    </div>
  );
}

const Guarded = withAuthenticationRequired(Profile, { onRedirecting: () => <p>…</p>, loginOptions: { extraParams: { ui_locales: 'en' } } });

export function App() {
  return (
    <>
      <AuthProvider options={options} onRedirectCallback={(appState: { returnTo: string } | undefined, result) => void [appState?.returnTo, result.tokens.accessToken]}>
        <Guarded greeting="hi" />
        <RequireAuth fallback={<p>redirecting</p>} loginOptions={{ appState: { returnTo: '/x' } }}>
          <Profile greeting="hello" />
        </RequireAuth>
      </AuthProvider>
      <AuthProvider client={clientPromise}>
        <Profile greeting="hey" />
      </AuthProvider>
    </>
  );
}

// The props are one or the other.
// @ts-expect-error `client` and `options` together
const both: AuthProviderProps = { options, client: clientPromise };
// @ts-expect-error neither `client` nor `options`
const neither: AuthProviderProps = { children: null };
// @ts-expect-error the guard keeps the wrapped component's props
const missingProp = <Guarded />;
void [both, neither, missingProp];
