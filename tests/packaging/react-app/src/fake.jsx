// Test-only: pkce-wasm/react driven by a scripted client (`client={…}`), for
// the states a real provider cannot easily be made to reach: a login that
// fails, a background error, a logout that stays on the page, a popup
// replaced by a second click. Every client call is recorded in `fake.calls`
// and left pending in `fake.open` until the test settles it.
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { AuthProvider, RequireAuth, useAuth } from 'pkce-wasm/react';

const handlers = {};
let authenticated = new URLSearchParams(location.search).has('in');
const fake = {
  calls: [],
  open: [],
  setAuthenticated: (v) => (authenticated = v),
  emit: (event, payload) => (handlers[event] ?? []).slice().forEach((h) => h(payload)),
  settle(name, ok, value) {
    const i = this.open.findIndex((o) => o.name === name);
    if (i < 0) throw new Error(`no ${name} call is open`);
    const [o] = this.open.splice(i, 1);
    if (ok) o.resolve(value);
    else o.reject(Object.assign(new Error(value.code), value));
  },
  on(event, handler) {
    (handlers[event] ??= []).push(handler);
    return () => (handlers[event] = handlers[event].filter((h) => h !== handler));
  },
  isCallback: () => false,
  isAuthenticated: () => authenticated,
  getIdTokenClaims: () => (authenticated ? { sub: 'fake' } : undefined),
};
for (const name of ['loginWithRedirect', 'loginWithPopup', 'logout']) {
  fake[name] = () => {
    fake.calls.push(name);
    return new Promise((resolve, reject) => fake.open.push({ name, resolve, reject }));
  };
}
window.fake = fake;

function Status() {
  const { isAuthenticated, error, loginWithPopup, logout } = useAuth();
  return (
    <>
      <p id="state">{isAuthenticated ? 'in' : 'out'}</p>
      {error && <p role="alert">Error: {error.code}</p>}
      <button onClick={() => loginWithPopup()}>Popup</button>
      <button onClick={() => logout()}>Log out</button>
    </>
  );
}

createRoot(document.getElementById('root')).render(
  <StrictMode>
    <AuthProvider client={fake}>
      <Status />
      <RequireAuth fallback={<p id="fallback">Sending you to log in…</p>}>
        <p id="guarded">Guarded</p>
      </RequireAuth>
    </AuthProvider>
  </StrictMode>,
);
