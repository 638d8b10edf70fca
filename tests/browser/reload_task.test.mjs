// Reloads the task page while the task runs: the bar must resume from the
// task's current progress and keep moving live.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTask, launchBrowser, openSignedInPage, pageProgress, saveScreenshot } from './lib.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test('reload keeps live progress', { timeout: 60000 }, async () => {
  const page = await openSignedInPage(browser);
  const task = await createTask('slow', { note: 'reload test' });

  await page.goto(`/tasks/${task.id}`);
  await page.waitForFunction(() => {
    const value = Number(document.querySelector('[data-testid=task-progress]')?.getAttribute('aria-valuenow'));
    return value >= 30 && value < 80;
  }, null, { timeout: 30000 });
  const beforeReload = await pageProgress(page);

  await page.reload();
  await page.locator('[data-testid=task-page][data-loaded=true]').waitFor();
  const afterReload = await pageProgress(page);
  assert.ok(afterReload >= beforeReload,
    `after the reload the bar shows ${afterReload}%, not less than the ${beforeReload}% before it`);
  assert.equal(await page.getByTestId('task-status').textContent(), 'running');

  await page.waitForFunction((start) =>
    Number(document.querySelector('[data-testid=task-progress]').getAttribute('aria-valuenow')) > start,
  afterReload, { timeout: 10000 });
  await page.waitForFunction(() =>
    document.querySelector('[data-testid=task-status]')?.textContent === 'completed', null, { timeout: 30000 });
  assert.equal(await pageProgress(page), 100);
  assert.deepEqual(page.errors, []);

  await saveScreenshot(page, 'reload-task');
});
