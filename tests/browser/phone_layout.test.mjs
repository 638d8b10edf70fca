// At a phone's width (390 px) the pages fit without horizontal scrolling.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTask, launchBrowser, openSignedInPage, saveScreenshot, waitFor, api } from './lib.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

function overflow(page) {
  return page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    clientWidth: document.documentElement.clientWidth,
  }));
}

test('tasks page fits 390 px', { timeout: 60000 }, async () => {
  const task = await createTask('example', { note: 'phone layout test' });
  await waitFor(`task ${task.id} to finish`, async () => (await api('GET', `/api/v1/tasks/${task.id}`)).status === 'completed');

  const page = await openSignedInPage(browser, { viewport: { width: 390, height: 844 } });
  await page.getByTestId('task-row').first().waitFor();

  const tasksSize = await overflow(page);
  assert.ok(tasksSize.scrollWidth <= tasksSize.clientWidth,
    `the tasks page is ${tasksSize.scrollWidth} px wide in a ${tasksSize.clientWidth} px viewport`);
  await saveScreenshot(page, 'phone-tasks');

  await page.goto(`/tasks/${task.id}`);
  await page.locator('[data-testid=task-page][data-loaded=true]').waitFor();
  const taskSize = await overflow(page);
  assert.ok(taskSize.scrollWidth <= taskSize.clientWidth,
    `the task page is ${taskSize.scrollWidth} px wide in a ${taskSize.clientWidth} px viewport`);
  assert.deepEqual(page.errors, []);
  await saveScreenshot(page, 'phone-task');
});
