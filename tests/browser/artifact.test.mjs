// The screenshot task's PNG artifact shows inline on its task page.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { api, createTask, env, launchBrowser, openSignedInPage, saveScreenshot } from './lib.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test('screenshot artifact shows inline', { timeout: 90000 }, async () => {
  const page = await openSignedInPage(browser);
  const task = await createTask('screenshot', { url: `${env.baseUrl}/signin` });

  await page.goto(`/tasks/${task.id}`);
  await page.waitForFunction(() =>
    ['completed', 'failed', 'canceled'].includes(document.querySelector('[data-testid=task-status]')?.textContent),
  null, { timeout: 60000 });
  const final = await api('GET', `/api/v1/tasks/${task.id}`);
  assert.equal(final.status, 'completed', `the screenshot task ended ${final.status}: ${final.error}\n${final.log_tail}`);

  const image = page.getByTestId('artifact-image').first();
  await image.waitFor({ timeout: 10000 });
  await page.waitForFunction(() => {
    const img = document.querySelector('[data-testid=artifact-image]');
    return img && img.complete && img.naturalWidth > 0;
  }, null, { timeout: 10000 });
  const size = await image.evaluate((img) => ({ width: img.naturalWidth, height: img.naturalHeight }));
  assert.ok(size.width > 0, `the image has a width after decoding: ${JSON.stringify(size)}`);
  assert.ok(size.height > 0, `the image has a height after decoding: ${JSON.stringify(size)}`);
  assert.match(await image.getAttribute('src'), new RegExp(`/api/v1/tasks/${task.id}/artifacts/.+\\.png$`));
  assert.deepEqual(page.errors, []);

  await saveScreenshot(page, 'artifact');
});
