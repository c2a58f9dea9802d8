// bench/prof.mjs's page: authorizeUrl only, in a loop, for a CPU profile.
import { createClient } from 'pkce-wasm';
import { pkceWasmOptions } from './micro-common.js';

window.__micro = async (n) => {
  const auth = await createClient(pkceWasmOptions());
  const t = performance.now();
  for (let i = 0; i < n; i++) {
    if (i % 10 === 0) sessionStorage.clear();
    await auth.authorizeUrl();
  }
  return { authorize: (performance.now() - t) / n };
};
