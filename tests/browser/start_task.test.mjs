// Signs in, starts the example task from the form and follows it to the end.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { launchBrowser, openSignedInPage, pageProgress, saveScreenshot } from './lib.mjs';

// Stores every value the task page's progress bar takes in window.progressValues.
function recordProgressValues(page) {
  return page.evaluate(() => {
    const bar = document.querySelector('[data-testid=task-progress]');
    window.progressValues = [Number(bar.getAttribute('aria-valuenow'))];
    new MutationObserver(() => window.progressValues.push(Number(bar.getAttribute('aria-valuenow'))))
      .observe(bar, { attributes: true, attributeFilter: ['aria-valuenow'] });
  });
}

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test('start example task from form', { timeout: 60000 }, async () => {
  const page = await openSignedInPage(browser);

  await page.getByTestId('nav-new').click();
  await page.getByTestId('new-kind').selectOption('example');
  await page.getByTestId('new-payload').fill('{"note": "started from the browser test"');
  assert.match(await page.getByTestId('new-payload-status').textContent(), /line 1/,
    'an unfinished payload shows where the JSON is invalid');

  await page.getByTestId('new-payload').fill('{"note": "started from the browser test"}');
  assert.equal(await page.getByTestId('new-payload-status').textContent(), 'Valid JSON.');
  await page.getByTestId('new-submit').click();

  await page.waitForURL(/\/tasks\/\d+$/);
  await page.locator('[data-testid=task-page][data-loaded=true]').waitFor();
  await recordProgressValues(page);
  await page.waitForFunction(() =>
    document.querySelector('[data-testid=task-status]')?.textContent === 'completed', null, { timeout: 30000 });

  const seen = await page.evaluate(() => window.progressValues);
  assert.ok(seen.some((value) => value > 0 && value < 100),
    `the bar moved through values between 0 and 100 while the page was open: ${seen}`);
  assert.equal(await pageProgress(page), 100);
  assert.equal(await page.getByTestId('task-status').textContent(), 'completed');
  assert.equal(await page.locator('[data-testid=timeline-row][data-type=completed]').count(), 1,
    'the timeline has one completed event');
  assert.match(await page.getByTestId('task-log').textContent(), /example step 10 of 10/);
  assert.deepEqual(page.errors, []);

  await saveScreenshot(page, 'start-task');
});
