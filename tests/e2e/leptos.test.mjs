// The Leptos example (examples/leptos: the Rust API in a Leptos CSR app), in
// real headless Chromium against a real oidc-provider on 127.0.0.1: a login
// by redirect, the user on screen, an API call with the access token, logout.
// Builds the app first (scripts/build-leptos.sh) when its output is missing or
// older than its sources; and checks that the README's Leptos snippets are
// the example's own code.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startDemo } from '../../scripts/lib/demo.mjs';
import { launch, newPage, signIn, demoState, withDiagnostics } from './support.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const example = path.join(root, 'examples/leptos');
const dist = path.join(example, 'dist');

/** The newest modification time under `p` (a file or a directory). */
function newest(p) {
  const st = fs.statSync(p);
  if (!st.isDirectory()) return st.mtimeMs;
  return Math.max(0, ...fs.readdirSync(p).map((f) => newest(path.join(p, f))));
}

function buildIfStale() {
  const inputs = ['src', 'Cargo.toml', 'Cargo.lock', 'index.html'].map((f) => path.join(example, f));
  inputs.push(path.join(root, 'src'), path.join(root, 'Cargo.toml'), path.join(root, 'scripts/build-leptos.sh'));
  const output = path.join(dist, 'app_bg.wasm');
  if (fs.existsSync(output) && fs.existsSync(path.join(dist, 'index.html')) && newest(output) >= Math.max(...inputs.map(newest))) return;
  execFileSync('bash', [path.join(root, 'scripts/build-leptos.sh')], { stdio: ['ignore', 'inherit', 'inherit'] });
}

let demo;
let browser;
let app;

before(async () => {
  buildIfStale();
  demo = await startDemo({ extraMounts: { '/leptos/': dist }, extraRedirectPaths: ['/leptos/'] });
  app = demo.origin + '/leptos/';
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await demo?.close();
});

test('Leptos example: login by redirect, the user and claims on screen, UserInfo with the access token, logout', async () => {
  const page = await newPage(browser);
  await withDiagnostics(page, 'leptos-login', async () => {
    await page.goto(app);
    await demoState(page, 'logged-out');
    assert.equal(await page.textContent('#status'), 'Logged out.');
    await page.getByRole('button', { name: 'Log in' }).click();
    await signIn(page);
    await demoState(page, 'logged-in');
    assert.equal(page.url(), app, 'code, state and iss are removed from the address bar');
    assert.equal(await page.textContent('#status'), 'Logged in as Alice.');
    const claims = JSON.parse(await page.textContent('#claims'));
    assert.equal(claims.sub, 'alice');
    assert.equal(claims.iss, demo.issuer);
    assert.equal(claims.aud, demo.config.clientId);
    await page.waitForFunction(() => /…/.test(document.querySelector('#access-token')?.textContent ?? ''));
    assert.match(await page.textContent('#access-token'), /^.{4}….{4} \(\d+ chars\)$/, 'the access token, masked');
    assert.equal(await page.isVisible('#error'), false);

    // A reload keeps the session (sessionStorage).
    await page.reload();
    await demoState(page, 'logged-in');

    await page.getByRole('button', { name: 'Call API (userinfo)' }).click();
    await page.waitForSelector('#userinfo');
    const answer = await page.textContent('#userinfo');
    assert.match(answer, /^OK\n/, answer);
    const userinfo = JSON.parse(answer.slice(3));
    assert.equal(userinfo.sub, 'alice');
    assert.equal(userinfo.email, 'alice@example.test');

    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForSelector('button[value=yes]');
    await page.click('button[value=yes]');
    await page.waitForURL((u) => u.href.startsWith(app));
    await demoState(page, 'logged-out');
    assert.equal(await page.textContent('#status'), 'Logged out.');
    assert.equal(await page.isVisible('#claims'), false);
    assert.equal(await page.getByRole('button', { name: 'Log in' }).isEnabled(), true);
    const records = await page.evaluate(() => Object.keys(sessionStorage).filter((k) => k.startsWith('pkce-wasm.session.')).map((k) => sessionStorage.getItem(k)));
    assert.ok(records.length > 0 && records.every((r) => /(^|&)out=1(&|$)/.test(r) && !/(^|&)at=/.test(r)), 'the stored session is a logout tombstone, no token left');
    await page.reload();
    await demoState(page, 'logged-out');
  });
  await page.context().close();
});

test('Leptos example: a typed error on screen (code and message) when the provider refuses the login', async () => {
  const page = await newPage(browser);
  await withDiagnostics(page, 'leptos-error', async () => {
    await page.goto(app);
    await demoState(page, 'logged-out');
    // Back from the provider with an error, as after "Cancel".
    demo.idp.faults.callback = (url) => {
      url.searchParams.delete('code');
      url.searchParams.set('error', 'access_denied');
      url.searchParams.set('error_description', 'The user said no');
    };
    try {
      await page.getByRole('button', { name: 'Log in' }).click();
      await signIn(page);
    } finally {
      demo.idp.faults.callback = null;
    }
    await demoState(page, 'error');
    assert.equal(await page.textContent('#error-code'), 'access_denied');
    assert.match(await page.textContent('#error-message'), /authorization server returned access_denied/);
    assert.equal(await page.textContent('#error-description'), 'Provider said: The user said no');
  });
  await page.context().close();
});

/** Whether `snippet`'s lines are consecutive lines of `source`, each indented by the same extra whitespace. */
function containsIndented(source, snippet) {
  const lines = source.split('\n');
  const want = snippet.split('\n');
  return lines.some((line, i) => {
    const indent = line.slice(0, line.length - line.trimStart().length - (want[0].length - want[0].trimStart().length));
    if (/\S/.test(indent)) return false;
    return want.every((w, j) => lines[i + j] === (w === '' ? '' : indent + w));
  });
}

test("README: the Leptos section's code blocks are the example's code, verbatim (up to indentation)", () => {
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  const section = readme.split(/^### Leptos\b/m)[1]?.split(/^##+ /m)[0];
  assert.ok(section, 'the README has a "### Leptos" section');
  const blocks = [...section.matchAll(/^```(\w+)[^\n]*\n([\s\S]*?)^```$/gm)].map(([, lang, code]) => ({ lang, code: code.trimEnd() }));
  assert.ok(blocks.filter((b) => b.lang === 'rust').length >= 3, 'the Rust snippets');
  const sources = ['src/auth.rs', 'src/main.rs', 'Cargo.toml'].map((f) => fs.readFileSync(path.join(example, f), 'utf8'));
  for (const { code } of blocks.filter((b) => b.lang === 'rust' || b.lang === 'toml')) {
    assert.ok(sources.some((s) => containsIndented(s, code)), `README snippet not found verbatim in examples/leptos:\n${code}`);
  }
  assert.ok(!sources.some((s) => containsIndented(s, 'not in the example')), 'the check can fail');
});
