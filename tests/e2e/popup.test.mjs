// Popup login (issue 15), real Chromium + real oidc-provider: opened from a
// real click, the login done in the popup, the response handed to the opening
// page over BroadcastChannel — also when the provider's pages send
// Cross-Origin-Opener-Policy: same-origin (window.opener is then null) — and
// the typed failures: blocked, closed, replaced.
import { test, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { launch, newPage, withDiagnostics, startTestDemo, signInPopup } from './support.mjs';

let demo;
let browser;
let tokenPosts = 0;

before(async () => {
  demo = await startTestDemo({
    hook: (ctx) => {
      if (ctx.method === 'POST' && ctx.path === '/token') tokenPosts++;
      return false;
    },
  });
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await demo?.close();
});

beforeEach(() => {
  demo.idp.faults.coop = false;
});

async function open(page, popupOptions) {
  await page.goto(`${demo.origin}/test/`);
  await page.waitForSelector('#status[data-done]');
  if (popupOptions) await page.evaluate((o) => (window.popupOptions = o), popupOptions);
}

for (const coop of [false, true]) {
  test(`popup login${coop ? ', the provider sending COOP: same-origin (no window.opener)' : ''}: the opening page gets the tokens, the popup closes itself`, async () => {
    demo.idp.faults.coop = coop;
    const context = await browser.newContext();
    const page = await newPage(context);
    await withDiagnostics(page, `popup${coop ? '-coop' : ''}`, async () => {
      await open(page);
      const posts = tokenPosts;
      const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#popup')]);
      let opener;
      await signInPopup(popup, { onLoginPage: async () => {
        opener = await popup.evaluate(() => window.opener !== null);
        // The user takes a while: the popup was open long enough that a close
        // would end the wait at once, and its closing itself must not.
        await popup.waitForTimeout(6000);
      } });
      assert.equal(opener, !coop, coop ? 'COOP cut the popup off from its opener' : 'the popup has its opener');
      const result = await page.evaluate(() => window.popupResult);
      assert.equal(result.sub, 'alice', JSON.stringify(result));
      assert.ok(result.accessToken);
      assert.equal(await page.evaluate(() => window.auth.isAuthenticated()), true);
      assert.equal(tokenPosts, posts + 1, 'one token request, from the opening page');
      assert.equal(popup.isClosed(), true, 'the popup closed itself');
    });
    await context.close();
  });
}

test('popup blocked: popup_blocked, and nothing started', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  await withDiagnostics(page, 'popup-blocked', async () => {
    await open(page);
    await page.evaluate(() => (window.open = () => null)); // what a blocker gives
    await page.click('#popup');
    assert.deepEqual(await page.evaluate(() => window.popupResult), { code: 'popup_blocked' });
    const pending = await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('pkce-wasm.tx.')));
    assert.deepEqual(pending, []);
    // And the next one may open.
    await page.evaluate(() => delete window.open);
  });
  await context.close();
});

test('popup closed by the user: popup_closed when popupTimeout ends, never earlier', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  await withDiagnostics(page, 'popup-closed', async () => {
    await open(page, { popupTimeout: 3 });
    const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#popup')]);
    await popup.waitForSelector('input[name=login]', { timeout: 15000 });
    const t = Date.now();
    await popup.close();
    assert.deepEqual(await page.evaluate(() => window.popupResult), { code: 'popup_closed' });
    assert.ok(Date.now() - t < 4000, 'by the timeout');
    assert.equal(await page.evaluate(() => window.auth.isAuthenticated()), false);
  });
  await context.close();
});

test('a second popup login replaces one still waiting: the first ends popup_replaced at once, the second reuses the window and logs in', async () => {
  const context = await browser.newContext();
  const page = await newPage(context);
  await withDiagnostics(page, 'popup-replaced', async () => {
    await open(page, { popupTimeout: 3 });
    const [popup] = await Promise.all([page.waitForEvent('popup'), page.click('#popup')]);
    await popup.waitForSelector('input[name=login]', { timeout: 15000 });
    await page.evaluate(() => {
      window.firstPopup = window.popupResult;
      window.popupOptions = {};
    });
    // The user clicks again (the first popup hidden behind the page, say):
    // the first ends at once.
    await page.click('#popup');
    const first = await page.evaluate(() => window.firstPopup);
    assert.deepEqual(first, { code: 'popup_replaced' }, JSON.stringify(first));
    await page.waitForTimeout(3500); // past the first one's own timeout: nothing of it fires
    await signInPopup(popup);
    const second = await page.evaluate(() => window.popupResult);
    assert.equal(second.sub, 'alice', JSON.stringify(second));
    assert.equal(context.pages().filter((p) => !p.isClosed()).length, 1, 'one popup window, reused and closed');
  });
  await context.close();
});
