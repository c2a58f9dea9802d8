// The demo as a person sees it (issue 17): every state of the lifecycle —
// logged out, login by redirect and by popup, the claims, the access token's
// expiry counting down, an API call, refresh, the events log, a typed error,
// logout — asserted by what is visible on the page (each button's label and
// enabled state, which panels show, their text), with a screenshot of each
// state in test-results/demo/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { launch, newPage, signIn, signInPopup, demoState, withDiagnostics } from './support.mjs';
import { startDemo } from '../../scripts/lib/demo.mjs';

const SHOTS = 'test-results/demo';
let demo;
let browser;

before(async () => {
  demo = await startDemo();
  browser = await launch();
  fs.mkdirSync(SHOTS, { recursive: true });
});

after(async () => {
  await browser?.close();
  await demo?.close();
});

/** What a person sees: the status line, the visible buttons (label, and whether usable), the visible panels' headings. */
function seen(page) {
  return page.evaluate(() => {
    const visible = (el) => el.checkVisibility();
    return {
      status: document.getElementById('status').innerText,
      buttons: [...document.querySelectorAll('button')].filter(visible).map((b) => (b.disabled ? `${b.innerText} (disabled)` : b.innerText)),
      panels: [...document.querySelectorAll('main > section')].filter(visible).map((s) => s.querySelector('h2')?.innerText ?? s.getAttribute('aria-label')),
    };
  });
}

const text = (page, selector) => page.locator(selector).innerText();
const events = (page) => page.locator('#events li').allInnerTexts();
const shot = (page, name) => page.screenshot({ path: `${SHOTS}/${name}.png`, fullPage: true });

const LOGGED_OUT_BUTTONS = ['Log in', 'Log in with a popup', 'Call UserInfo (disabled)', 'Call the demo API (disabled)', 'Refresh tokens (disabled)', 'Log out (disabled)'];
const LOGGED_IN_BUTTONS = ['Log in (disabled)', 'Log in with a popup (disabled)', 'Call UserInfo', 'Call the demo API', 'Refresh tokens', 'Log out'];

async function assertLoggedIn(page, user) {
  assert.deepEqual(await seen(page), {
    status: `Logged in as ${user}.`,
    buttons: LOGGED_IN_BUTTONS,
    panels: ['Session controls', 'Tokens', 'Events'],
  });
  assert.match(await text(page, '#access-token'), /^.{4}….{4} \(\d+ chars\)$/, 'the access token is shown masked');
  assert.equal(await text(page, '#refresh-token'), 'issued (kept in memory)');
  // The decoded claims as a table a person reads: name → value, times as times.
  const rows = Object.fromEntries(
    await page.locator('#claims-table tr').evaluateAll((trs) => trs.map((tr) => [tr.cells[0].innerText, tr.cells[1].innerText])),
  );
  assert.equal(rows.sub, user);
  assert.equal(rows.name, user.charAt(0).toUpperCase() + user.slice(1));
  assert.equal(rows.iss, demo.issuer);
  assert.match(rows.exp, /^\d{1,2}:\d{2}:\d{2}.* \(\d+\)$/, 'exp shown as a time');
  assert.equal(await page.locator('#claims').isVisible(), false, 'the raw JSON stays folded');
}

test('demo, by redirect: logged out → login → claims and a countdown → API calls → refresh → logout, each state as seen', async () => {
  const page = await newPage(browser);
  await withDiagnostics(page, 'demo-lifecycle', async () => {
    await page.goto(demo.url);
    await demoState(page, 'logged-out');
    assert.deepEqual(await seen(page), { status: 'Not logged in.', buttons: LOGGED_OUT_BUTTONS, panels: ['Session controls', 'Events'] });
    assert.match(await text(page, '#issuer'), /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match((await events(page)).join('\n'), /Client ready/);
    await shot(page, '1-logged-out');

    await page.getByRole('button', { name: 'Log in', exact: true }).click();
    await signIn(page, 'alice');
    await demoState(page, 'logged-in');
    await assertLoggedIn(page, 'alice');
    assert.match((await events(page)).join('\n'), /Callback checked: state, iss, code exchange/);
    // The expiry counts down, once a second.
    const left = async () => Number(/in (\d+) s\)$/.exec(await text(page, '#expires'))?.[1]);
    const first = await left();
    assert.ok(first > 3500 && first <= 3600, `expires in about an hour (${first} s)`);
    await page.waitForTimeout(2200);
    assert.ok((await left()) < first, 'the countdown moves');
    await shot(page, '2-logged-in');

    await page.getByRole('button', { name: 'Call the demo API' }).click();
    await page.waitForFunction(() => document.getElementById('demo-api').innerText.length > 0);
    assert.match(await text(page, '#demo-api'), /^200 OK\n[\s\S]*"message": "Hello, alice\."/, 'the demo API saw the bearer token');
    await page.getByRole('button', { name: 'Call UserInfo' }).click();
    await page.waitForFunction(() => document.getElementById('userinfo').innerText.length > 0);
    assert.match(await text(page, '#userinfo'), /^OK\n[\s\S]*"email": "alice@example.test"/);
    assert.deepEqual((await seen(page)).panels, ['Session controls', 'Tokens', 'API answers', 'Events']);
    assert.match((await events(page)).slice(0, 2).join('\n'), /UserInfo answered[\s\S]*Demo API answered 200/);
    await shot(page, '3-api-answers');

    const before = await text(page, '#access-token');
    await page.getByRole('button', { name: 'Refresh tokens' }).click();
    await demoState(page, 'refreshed');
    assert.equal((await seen(page)).status, 'Tokens refreshed.');
    assert.notEqual(await text(page, '#access-token'), before, 'a new access token is shown');
    assert.match((await events(page))[0], /Event tokensRefreshed/);
    await page.waitForFunction(() => !document.getElementById('refresh').disabled);
    assert.deepEqual((await seen(page)).buttons, LOGGED_IN_BUTTONS, 'Refresh tokens usable again');
    await shot(page, '4-refreshed');

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForSelector('button[value=yes]');
    await page.click('button[value=yes]');
    await page.waitForURL((u) => u.href.startsWith(demo.url));
    await demoState(page, 'logged-out');
    assert.deepEqual(await seen(page), { status: 'Logged out.', buttons: LOGGED_OUT_BUTTONS, panels: ['Session controls', 'Events'] });
    assert.match((await events(page)).join('\n'), /Back from the provider’s logout page/);
    await shot(page, '5-logged-out-again');
    await page.reload();
    await demoState(page, 'logged-out');
    assert.equal((await seen(page)).status, 'Not logged in.', 'said once');
  });
  await page.context().close();
});

test('demo, by popup: the page stays; a popup closed and opened again takes over; it closes itself, the session shows', async () => {
  const page = await newPage(browser);
  await withDiagnostics(page, 'demo-popup', async () => {
    await page.goto(demo.url);
    await demoState(page, 'logged-out');
    let [popup] = await Promise.all([page.waitForEvent('popup'), page.getByRole('button', { name: 'Log in with a popup' }).click()]);
    await demoState(page, 'popup');
    assert.deepEqual(await seen(page), {
      status: 'Waiting for the popup… Closed it? Click “Log in with a popup” again.',
      buttons: LOGGED_OUT_BUTTONS,
      panels: ['Session controls', 'Events'],
    });
    await shot(page, '6-popup-waiting');
    // The user closes the popup and clicks again: the new popup takes over, no error shows.
    await popup.close();
    [popup] = await Promise.all([page.waitForEvent('popup'), page.getByRole('button', { name: 'Log in with a popup' }).click()]);
    await popup.waitForSelector('input[name=login]');
    assert.equal(await page.locator('#error').isVisible(), false, 'the replaced login shows no error');
    await signInPopup(popup, { user: 'bob' });
    await demoState(page, 'logged-in');
    await assertLoggedIn(page, 'bob');
    assert.equal(await page.locator('#error').isVisible(), false);
    assert.equal(JSON.parse(await page.locator('#app-state').innerText()).via, 'popup');
    assert.match((await events(page)).join('\n'), /Event loggedIn[\s\S]*The popup login was started again/);
    await popup.waitForEvent('close', { timeout: 10000 }).catch(() => {});
    assert.equal(popup.isClosed(), true, 'the popup closed itself');
    await shot(page, '7-popup-logged-in');
  });
  await page.context().close();
});

test('demo, a typed error: a callback URL with no login behind it shows the error panel, and login stays possible', async () => {
  const page = await newPage(browser);
  await withDiagnostics(page, 'demo-error', async () => {
    await page.goto(`${demo.url}?code=bookmarked&state=stale`);
    await demoState(page, 'error');
    assert.deepEqual(await seen(page), {
      status: 'Login failed.',
      buttons: [...LOGGED_OUT_BUTTONS, 'Dismiss'],
      panels: ['Session controls', 'Error', 'Events'],
    });
    assert.equal(await text(page, '#error-code'), 'no_pending_login');
    const message = await text(page, '#error-message');
    assert.ok(message.length > 20 && !message.includes('bookmarked'), `a readable message of ours, without the code: ${message}`);
    await shot(page, '8-error');
    await page.getByRole('button', { name: 'Dismiss' }).click();
    assert.deepEqual((await seen(page)).panels, ['Session controls', 'Events']);
  });
  await page.context().close();
});
