// Helpers shared by the browser tests: the environment that run.mjs sets,
// Chromium, sign-in, API calls, waiting, screenshots and processes.

import { spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const testsDir = path.dirname(fileURLToPath(import.meta.url));
export const repoDir = path.resolve(testsDir, '..', '..');
export const outputDir = path.join(repoDir, 'test-output', 'browser');

// Reads a variable that run.mjs sets. The tests cannot run without it.
function requiredEnv(name) {
  const value = process.env[name];
  if (!value) {
    throw new Error(`${name} is not set: run the browser tests through "node run.mjs", which starts the server and worker`);
  }
  return value;
}

export const env = {
  get baseUrl() { return requiredEnv('TR_BASE_URL'); },
  get apiToken() { return requiredEnv('TR_API_TOKEN'); },
  get workerToken() { return requiredEnv('TR_WORKER_TOKEN'); },
  get workerUrl() { return requiredEnv('TR_WORKER_URL'); },
  get workerId() { return requiredEnv('TR_WORKER_ID'); },
  get binary() { return requiredEnv('TR_BIN'); },
  get tempDir() { return requiredEnv('TR_TMP'); },
};

// Heartbeat interval of the test server and workers, so a stopped worker
// shows offline within seconds. The worker does not take the interval from
// the server's register response, so both get it.
export const HEARTBEAT_MS = 500;

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--disable-quic',
];

// Launches Debian's Chromium. playwright-core is imported here, not at the
// top, so run.mjs can report a missing `npm ci` in its own words.
export async function launchBrowser() {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS });
}

// Opens a new browser context and signs in through the sign-in page.
// Page errors are collected in `page.errors` so a test can assert none.
export async function openSignedInPage(browser, { viewport = { width: 1280, height: 900 } } = {}) {
  const context = await browser.newContext({ viewport, baseURL: env.baseUrl });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (error) => page.errors.push(error.message));

  await page.goto('/tasks');
  await page.getByTestId('signin-token').fill(env.apiToken);
  await page.getByTestId('signin-submit').click();
  await page.getByTestId('tasks-table').waitFor();
  return page;
}

// Calls the server's API with the API token and returns the parsed body.
export async function api(method, apiPath, body) {
  const response = await fetch(env.baseUrl + apiPath, {
    method,
    headers: {
      Authorization: `Bearer ${env.apiToken}`,
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${apiPath} returned ${response.status}: ${text}`);
  return text ? JSON.parse(text) : null;
}

export function createTask(kind, payload = {}) {
  return api('POST', '/api/v1/tasks', { kind, payload });
}

// Calls a worker agent route with the worker token.
export async function workerApi(apiPath) {
  const response = await fetch(env.workerUrl + apiPath, {
    headers: { Authorization: `Bearer ${env.workerToken}` },
  });
  if (!response.ok) throw new Error(`worker GET ${apiPath} returned ${response.status}: ${await response.text()}`);
  return response.json();
}

// Calls `check` every `intervalMs` until it returns a truthy value, which is
// returned. Throws after `timeoutMs` with `description` and the last value.
export async function waitFor(description, check, { timeoutMs = 30000, intervalMs = 200 } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    last = await check();
    if (last) return last;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}; last value: ${JSON.stringify(last)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

// Saves a full-page screenshot as test-output/browser/NAME.png for review.
export async function saveScreenshot(page, name) {
  fs.mkdirSync(outputDir, { recursive: true });
  // Lets the progress bar's 0.3 s width transition finish.
  await page.waitForTimeout(400);
  const file = path.join(outputDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

// Reads the task page's progress bar value (0-100).
export async function pageProgress(page) {
  return Number(await page.getByTestId('task-progress').getAttribute('aria-valuenow'));
}

export function freePort() {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

// Starts `taskrelay worker` with the test kinds. Its output goes to
// test-output/browser/worker-ID.log.
export function startWorker({ binary, serverUrl, port, id, slots, stateDir, workerToken, extraArgs = [] }) {
  fs.mkdirSync(outputDir, { recursive: true });
  fs.mkdirSync(stateDir, { recursive: true });
  const logFd = fs.openSync(path.join(outputDir, `worker-${id}.log`), 'w');
  const args = [
    'worker', '--server', serverUrl, '--listen', `127.0.0.1:${port}`, '--id', id,
    '--slots', String(slots), '--state-dir', stateDir, '--heartbeat-ms', String(HEARTBEAT_MS),
    ...taskKindArgs(), ...extraArgs,
  ];
  const child = spawn(binary, args, {
    env: { ...process.env, TASKRELAY_WORKER_TOKEN: workerToken },
    stdio: ['ignore', logFd, logFd],
  });
  fs.closeSync(logFd);
  return child;
}

// The program of the "screenshot" kind: TR_SCREENSHOT_PROGRAM if set, else
// examples/tasks/screenshot.js once its npm packages are installed, else a
// fixture that writes a PNG artifact.
export function screenshotProgram() {
  if (process.env.TR_SCREENSHOT_PROGRAM) return process.env.TR_SCREENSHOT_PROGRAM;

  const examplesDir = path.join(repoDir, 'examples', 'tasks');
  const example = path.join(examplesDir, 'screenshot.js');
  if (fs.existsSync(example) && fs.existsSync(path.join(examplesDir, 'node_modules', 'puppeteer-core'))) return example;
  return path.join(testsDir, 'fixtures', 'png.sh');
}

// The --kind options of the test workers.
export function taskKindArgs() {
  const fixtures = path.join(testsDir, 'fixtures');
  const screenshot = screenshotProgram();
  return [
    '--kind', `example=${path.join(fixtures, 'example.sh')}`,
    '--kind', `slow=${path.join(fixtures, 'slow.sh')}`,
    '--kind', `sleepy=${path.join(fixtures, 'sleepy.sh')}`,
    '--kind', `screenshot=${screenshot}`,
  ];
}

// Sends SIGTERM to a child by its PID, then SIGKILL if it has not exited
// after `graceMs`. Resolves once it has exited.
export async function stopProcess(child, graceMs = 5000) {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;

  const exited = new Promise((resolve) => child.once('exit', resolve));
  process.kill(child.pid, 'SIGTERM');
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid, 'SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

// Whether a process with this PID exists and is not a zombie.
export function processAlive(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

// Returns the value of an environment variable of a running process, or
// null when the process or the variable is missing.
export function processEnv(pid, name) {
  let environ;
  try {
    environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return null;
  }
  const entry = environ.split('\0').find((item) => item.startsWith(`${name}=`));
  return entry === undefined ? null : entry.slice(name.length + 1);
}

// PIDs of live processes whose environment has NAME=VALUE. The worker sets
// TASKRELAY_RUN_TOKEN for each run, and the children of a task program
// inherit it, so this finds every process of one run.
export function findProcessesWithEnv(name, value) {
  const pids = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    if (processEnv(entry, name) === value && processAlive(entry)) pids.push(Number(entry));
  }
  return pids;
}
