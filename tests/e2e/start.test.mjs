// `npm start` serves a demo that a headless browser can log in through. The
// setup and build halves of `npm start` are the same scripts `npm test` runs
// first; this spawns the serving half as its own process, as a user would.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { launch, newPage, signIn, demoState, withDiagnostics } from './support.mjs';

test('npm start: the demo it serves completes a headless login', async () => {
  const child = spawn(process.execPath, ['scripts/start.mjs'], {
    env: { ...process.env, PORT: '0', IDP_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  const browser = await launch();
  try {
    const url = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('npm start printed no URL:\n' + out)), 20000);
      child.stdout.on('data', () => {
        const m = out.match(/pkce-wasm demo:\s+(\S+)/);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.once('exit', (code) => reject(new Error(`npm start exited with ${code}:\n${out}`)));
    });
    assert.match(out, /Log in with any username and any password/);
    const page = await newPage(browser);
    await withDiagnostics(page, 'npm-start', async () => {
      await page.goto(url);
      await demoState(page, 'logged-out');
      await page.click('#login');
      await signIn(page, 'bob');
      await demoState(page, 'logged-in');
      assert.equal(JSON.parse(await page.textContent('#claims')).sub, 'bob');
    });
  } finally {
    await browser.close();
    child.kill('SIGTERM');
  }
});
