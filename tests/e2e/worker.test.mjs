// Workers and no window (issue 17): in a dedicated worker `createClient`
// fails at once with `no_window` (a typed error that says what is missing and
// what to do), importing the package there fetches nothing, and the pattern
// the README gives instead works: the page's access token, posted to the
// worker, authorizes the worker's own request to an API.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, signIn, withDiagnostics, startTestDemo, startLogin } from './support.mjs';

let demo;
let browser;

before(async () => {
  demo = await startTestDemo();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await demo?.close();
});

/** Starts the test worker in the page; resolves once it has imported the SDK. */
function startWorker(page) {
  return page.evaluate(
    () =>
      new Promise((resolve, reject) => {
        const worker = new Worker('/test/worker.js', { type: 'module' });
        window.ask = (message) =>
          new Promise((res) => {
            worker.onmessage = ({ data }) => res(data);
            worker.postMessage(message);
          });
        worker.onmessage = ({ data }) => (data.ready ? resolve() : reject(new Error(JSON.stringify(data))));
        worker.onerror = (e) => reject(new Error(e.message));
      }),
  );
}

test('createClient in a dedicated worker: no_window, a PkceWasmError that names the way out; importing fetched nothing', async () => {
  const page = await newPage(browser);
  await withDiagnostics(page, 'worker-no-window', async () => {
    await page.goto(`${demo.origin}/test/`);
    await page.waitForSelector('#status[data-done]');
    await startWorker(page);
    const answer = await page.evaluate((config) => window.ask({ config }), demo.config);
    assert.equal(answer.typed, true, JSON.stringify(answer));
    assert.equal(answer.name, 'PkceWasmError');
    assert.equal(answer.code, 'no_window');
    assert.match(answer.message, /worker/);
    assert.match(answer.message, /access token/);
    assert.deepEqual(answer.afterImport, [...answer.before, '/dist/pkce-wasm.js'], 'importing fetched the module itself and nothing else (no wasm)');
  });
  await page.context().close();
});

test("the README's worker pattern: the page's access token, posted to a worker, authorizes the worker's API call", async () => {
  const page = await newPage(browser);
  await withDiagnostics(page, 'worker-token', async () => {
    await page.goto(`${demo.origin}/test/`);
    await page.waitForSelector('#status[data-done]');
    await startLogin(page);
    await signIn(page);
    await page.waitForSelector('#status[data-done]');
    assert.equal(await page.textContent('#status'), 'in');
    await startWorker(page);
    const answer = await page.evaluate(async (url) => window.ask({ accessToken: await window.auth.getAccessToken(), url }), `${demo.origin}/api/me`);
    assert.equal(answer.status, 200, JSON.stringify(answer));
    assert.equal(answer.body.sub, 'alice');
    // Without the token the same request is refused: the 200 is the token's doing.
    const refused = await page.evaluate((url) => window.ask({ accessToken: 'not-a-token', url }), `${demo.origin}/api/me`);
    assert.equal(refused.status, 401);
    // The demo API takes access tokens of the demo's client only: not its refresh token, which introspects as active.
    const refresh = await page.evaluate((url) => window.ask({ accessToken: window.auth.getTokens().refreshToken, url }), `${demo.origin}/api/me`);
    assert.equal(refresh.status, 401, 'a refresh token is no bearer token');
  });
  await page.context().close();
});
