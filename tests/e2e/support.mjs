// Shared end-to-end helpers: real Debian Chromium via playwright-core.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDemo } from '../../scripts/lib/demo.mjs';

const pages = path.join(path.dirname(fileURLToPath(import.meta.url)), 'pages');

/** The demo plus the bare test page (`/test/`, a registered redirect URI), for tests that drive the SDK directly. */
export function startTestDemo(options = {}) {
  return startDemo({ ...options, extraMounts: { '/test/': pages, ...options.extraMounts }, extraRedirectPaths: ['/test/', ...(options.extraRedirectPaths ?? [])] });
}

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // The page can never reach past loopback.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1, EXCLUDE localhost',
];

export function launch() {
  const executablePath = process.env.CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => fs.existsSync(p));
  return chromium.launch({ executablePath, args: CHROMIUM_ARGS });
}

/**
 * Chromium with a regular (not off-the-record) profile whose third-party
 * cookie setting is `thirdPartyCookies` (Settings → Privacy → Third-party
 * cookies: allowed, or blocked). `browser.newContext()` is off the record,
 * where Chromium blocks them always. Resolves to the browser context; its
 * `close()` also deletes the profile.
 */
export async function launchProfile({ thirdPartyCookies }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'pkce-wasm-profile-'));
  fs.mkdirSync(path.join(dir, 'Default'));
  // CookieControlsMode: 0 = allow third-party cookies, 1 = block them.
  fs.writeFileSync(path.join(dir, 'Default', 'Preferences'), JSON.stringify({ profile: { cookie_controls_mode: thirdPartyCookies ? 0 : 1 } }));
  const executablePath = process.env.CHROMIUM ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find((p) => fs.existsSync(p));
  const context = await chromium.launchPersistentContext(dir, { executablePath, args: CHROMIUM_ARGS });
  const close = context.close.bind(context);
  context.close = async () => {
    await close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return context;
}

/** A page (in a fresh context unless one is given) that records its console output. */
export async function newPage(browserOrContext) {
  const context = browserOrContext.newContext ? await browserOrContext.newContext() : browserOrContext;
  const page = await context.newPage();
  page.consoleLines = [];
  page.on('console', (m) => page.consoleLines.push(m.text()));
  page.on('pageerror', (e) => page.consoleLines.push(String(e)));
  return page;
}

/**
 * Completes oidc-provider's development interactions: fills the login form
 * and consents, as far as the provider asks for them (a provider session or
 * an earlier grant skips steps), until the app's callback has been handled
 * (`done`: a selector the app shows then; the default fits the demo and the
 * test pages).
 */
export async function signIn(page, user = 'alice', done = '#status[data-state="logged-in"], #status[data-state="error"], #error:not([hidden]), #status[data-done]') {
  const LOGIN = 'input[name=login]';
  const CONSENT = 'button[type=submit]:has-text("Continue")';
  const BACK = done;
  for (let step = 0; step < 6; step++) {
    await page.waitForSelector(`${LOGIN}, ${CONSENT}, ${BACK}`, { timeout: 15000 });
    try {
      if (await page.locator(LOGIN).count()) {
        await page.fill(LOGIN, user);
        await page.fill('input[name=password]', 'any-password');
        await page.click('button[type=submit]');
      } else if (await page.locator(CONSENT).count()) {
        await page.click(CONSENT);
      } else if (await page.locator(BACK).count()) {
        return;
      }
      await page.waitForLoadState();
    } catch (e) {
      // The provider may redirect on its own (an existing session): look again.
      if (!/context was destroyed|navigat/i.test(e.message)) throw e;
    }
  }
}

/**
 * Starts `auth.loginWithRedirect(options)` in the test page and resolves once
 * the page has left for the provider. The SDK's promise is not awaited in the
 * page: the navigation may replace the document before it settles, which
 * would fail an awaited `page.evaluate` ("Execution context was destroyed").
 */
export async function startLogin(page, options) {
  const from = page.url();
  const left = page.waitForURL((u) => u.href !== from, { waitUntil: 'commit', timeout: 15000 });
  await page.evaluate((o) => {
    window.loginStarted = window.auth.loginWithRedirect(o).then(
      () => 'started',
      (e) => `error:${e.code}`,
    );
  }, options);
  await left.catch(async (e) => {
    const started = await page.evaluate(() => window.loginStarted).catch(() => undefined);
    throw new Error(`the login did not leave the page (${started ?? e.message})`);
  });
}

/**
 * Signs in on the provider's pages in a login popup, which then closes
 * itself. `onLoginPage` runs once the login form shows.
 */
export async function signInPopup(popup, { user = 'alice', onLoginPage = async () => {} } = {}) {
  await popup.waitForSelector('input[name=login]', { timeout: 15000 });
  await onLoginPage();
  await popup.fill('input[name=login]', user);
  await popup.fill('input[name=password]', 'any-password');
  await popup.click('button[type=submit]');
  await popup.waitForSelector('button[type=submit]:has-text("Continue")', { timeout: 15000 });
  await popup.click('button[type=submit]:has-text("Continue")').catch(() => {}); // the popup may close under the click
  await popup.waitForEvent('close', { timeout: 15000 }).catch(() => {});
}

export async function demoState(page, state) {
  await page.waitForSelector(`#status[data-state="${state}"]`, { timeout: 15000 });
}

export async function errorShown(page) {
  await page.waitForSelector('#error:not([hidden])', { timeout: 15000 });
  return {
    code: await page.textContent('#error-code'),
    message: await page.textContent('#error-message'),
    description: await page.textContent('#error-description'),
  };
}

/** On failure: a screenshot and the console next to the test results. */
export async function withDiagnostics(page, name, fn) {
  try {
    await fn();
  } catch (e) {
    fs.mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: `test-results/${name}.png` }).catch(() => {});
    fs.writeFileSync(`test-results/${name}.console.txt`, (page.consoleLines ?? []).join('\n'));
    throw e;
  }
}
