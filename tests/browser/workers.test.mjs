// The workers page shows a second worker online, then offline after it is
// stopped.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, test } from 'node:test';
import {
  env, freePort, launchBrowser, openSignedInPage, saveScreenshot, startWorker, stopProcess,
} from './lib.mjs';

const WORKER_ID = 'browser-w2';
let browser;
let worker;
before(async () => { browser = await launchBrowser(); });
after(async () => {
  await stopProcess(worker);
  await browser?.close();
});

test('stopped worker shows offline', { timeout: 90000 }, async () => {
  const page = await openSignedInPage(browser);
  await page.getByTestId('nav-workers').click();
  await page.getByTestId('workers-table').waitFor();

  worker = startWorker({
    binary: env.binary, serverUrl: env.baseUrl, port: await freePort(), id: WORKER_ID, slots: 1,
    stateDir: path.join(env.tempDir, `${WORKER_ID}-state`), workerToken: env.workerToken,
  });
  const status = page.locator(`[data-testid=worker-row][data-worker-id="${WORKER_ID}"] [data-testid=worker-status]`);
  await page.waitForFunction((id) => {
    const badge = document.querySelector(`[data-worker-id="${id}"] [data-testid=worker-status]`);
    return badge && badge.textContent === 'online';
  }, WORKER_ID, { timeout: 20000 });
  assert.equal(await page.locator(`[data-worker-id="${env.workerId}"]`).count(), 1, 'the main test worker is listed too');

  await stopProcess(worker);
  await page.waitForFunction((id) =>
    document.querySelector(`[data-worker-id="${id}"] [data-testid=worker-status]`)?.textContent === 'offline',
  WORKER_ID, { timeout: 60000 });
  assert.equal(await status.textContent(), 'offline');
  assert.deepEqual(page.errors, []);

  await saveScreenshot(page, 'workers-offline');
});
