// Cancels a running task from its page: the task ends canceled and its
// process is gone from the worker's machine.

import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  api, createTask, findProcessesWithEnv, launchBrowser, openSignedInPage, processAlive, processEnv, saveScreenshot,
  waitFor, workerApi,
} from './lib.mjs';

let browser;
before(async () => { browser = await launchBrowser(); });
after(async () => { await browser?.close(); });

test('cancel stops task process', { timeout: 60000 }, async () => {
  const page = await openSignedInPage(browser);
  const task = await createTask('sleepy', { note: 'cancel test' });

  await page.goto(`/tasks/${task.id}`);
  await page.waitForFunction(() =>
    document.querySelector('[data-testid=task-status]')?.textContent === 'running', null, { timeout: 20000 });
  const run = await waitFor(`a running run of task ${task.id} on the worker`, async () => {
    const body = await workerApi('/tasks');
    return body.runs.find((entry) => entry.task_id === task.id && entry.state === 'running' && entry.pid > 0);
  });
  assert.ok(processAlive(run.pid), `the task's process ${run.pid} runs before the cancel`);
  const runToken = processEnv(run.pid, 'TASKRELAY_RUN_TOKEN');
  assert.ok(runToken, `process ${run.pid} has TASKRELAY_RUN_TOKEN in its environment`);
  const runProcesses = await waitFor('the task program and its sleep child', () => {
    const pids = findProcessesWithEnv('TASKRELAY_RUN_TOKEN', runToken);
    return pids.length >= 2 && pids;
  }, { timeoutMs: 5000 });

  await page.getByRole('button', { name: `Cancel task ${task.id}` }).click();
  await page.waitForFunction(() =>
    document.querySelector('[data-testid=task-status]')?.textContent === 'canceled', null, { timeout: 15000 });
  assert.ok(await page.getByTestId('task-cancel').isHidden(), 'Cancel is hidden for a canceled task');
  assert.ok(await page.getByTestId('task-retry').isVisible(), 'Retry is offered for a canceled task');

  await waitFor(`process ${run.pid} of task ${task.id} to exit`, () => !processAlive(run.pid), { timeoutMs: 15000 });
  await waitFor(`no process of the run left (were ${runProcesses})`,
    () => findProcessesWithEnv('TASKRELAY_RUN_TOKEN', runToken).length === 0, { timeoutMs: 15000 });
  const body = await workerApi('/tasks');
  const stillRunning = body.runs.filter((entry) => entry.task_id === task.id && entry.state === 'running');
  assert.deepEqual(stillRunning, [], 'the worker lists no running run of the canceled task');
  assert.deepEqual(page.errors, []);

  await saveScreenshot(page, 'cancel-task');
});

test('retry starts second attempt', { timeout: 60000 }, async () => {
  const task = await createTask('sleepy', { note: 'retry test' });
  await waitFor(`task ${task.id} to run`, async () => (await api('GET', `/api/v1/tasks/${task.id}`)).status === 'running');
  await api('POST', `/api/v1/tasks/${task.id}/cancel`);

  const page = await openSignedInPage(browser);
  await page.goto(`/tasks/${task.id}`);
  await page.locator('[data-testid=task-page][data-loaded=true]').waitFor();
  assert.equal(await page.getByTestId('task-status').textContent(), 'canceled');

  await page.getByRole('button', { name: `Retry task ${task.id}` }).click();
  await page.waitForFunction(() =>
    document.querySelector('[data-testid=task-status]')?.textContent === 'running', null, { timeout: 20000 });
  assert.match(await page.getByTestId('task-subtitle').textContent(), /attempt 2\b/);
  await page.locator('[data-testid=attempt-row][data-attempt="2"]').waitFor({ timeout: 5000 });
  assert.equal(await page.getByTestId('attempt-row').count(), 2, 'the attempt history lists both attempts');

  await page.getByRole('button', { name: `Cancel task ${task.id}` }).click();
  await page.waitForFunction(() =>
    document.querySelector('[data-testid=task-status]')?.textContent === 'canceled', null, { timeout: 15000 });
  assert.deepEqual(page.errors, []);

  await saveScreenshot(page, 'retry-task');
});
