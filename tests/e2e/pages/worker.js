// A dedicated module worker for tests/e2e/worker.test.mjs. Import maps do not
// reach workers, so it imports the SDK by path.
const before = performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname);
const { createClient, PkceWasmError } = await import('/dist/pkce-wasm.js');
// Importing has no side effect here: nothing is fetched until createClient.
await new Promise((r) => setTimeout(r, 50));
const afterImport = performance.getEntriesByType('resource').map((e) => new URL(e.name).pathname);

self.onmessage = async ({ data }) => {
  if (data.config) {
    try {
      await createClient(data.config);
      postMessage({ created: true });
    } catch (e) {
      postMessage({ typed: e instanceof PkceWasmError, name: e.name, code: e.code, message: e.message, before, afterImport });
    }
  } else if (data.accessToken) {
    // The README's pattern: the page's access token, used for the worker's own request.
    const res = await fetch(data.url, { headers: { Authorization: `Bearer ${data.accessToken}` } });
    postMessage({ status: res.status, body: await res.json() });
  }
};
postMessage({ ready: true });
