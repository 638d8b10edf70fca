// Runs the browser tests against a real server and worker.
//
// Starts `taskrelay server` and one `taskrelay worker` on free loopback
// ports, with temporary --db, --data-dir and --state-dir and tokens made for
// this run. Then runs every *.test.mjs here with node's test runner, one
// file at a time because they share the worker, and stops both by PID.
//
// Environment: TASKRELAY_BIN is the binary (default ../../build/taskrelay
// from this folder). Logs and screenshots go to test-output/browser/.
// Exits with the test runner's status, or 1 if the services do not start.

import { execFileSync, spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  freePort, HEARTBEAT_MS, outputDir, screenshotProgram, startWorker, stopProcess, testsDir, waitFor,
} from './lib.mjs';

const RUN_TIMEOUT_MS = 10 * 60 * 1000;
const START_TIMEOUT_MS = 20000;
const WORKER_ID = 'browser-w1';

const binary = path.resolve(testsDir, process.env.TASKRELAY_BIN || '../../build/taskrelay');
const apiToken = crypto.randomBytes(24).toString('hex');
const workerToken = crypto.randomBytes(24).toString('hex');

// Returns the server options that set the heartbeat interval, if the server
// has one, so a stopped worker shows offline within seconds.
function heartbeatArgs() {
  const help = execFileSync(binary, ['server', '--help'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  const match = /--(heartbeat[a-z-]*-ms)\b/.exec(help);
  return match ? [`--${match[1]}`, String(HEARTBEAT_MS)] : [];
}

function startServer(port, tempDir) {
  const logFd = fs.openSync(path.join(outputDir, 'server.log'), 'w');
  const args = [
    'server', '--listen', `127.0.0.1:${port}`,
    '--db', path.join(tempDir, 'taskrelay.db'),
    '--data-dir', path.join(tempDir, 'data'),
    ...heartbeatArgs(),
  ];
  const child = spawn(binary, args, {
    env: { ...process.env, TASKRELAY_API_TOKEN: apiToken, TASKRELAY_WORKER_TOKEN: workerToken },
    stdio: ['ignore', logFd, logFd],
  });
  fs.closeSync(logFd);
  return child;
}

async function getJson(url, token) {
  try {
    const response = await fetch(url, { headers: { Authorization: `Bearer ${token}` } });
    return response.ok ? await response.json() : null;
  } catch {
    return null;
  }
}

function exitedEarly(child, name) {
  if (child.exitCode !== null || child.signalCode !== null) {
    throw new Error(`${name} exited with ${child.exitCode ?? child.signalCode} during start-up; see test-output/browser/`);
  }
}

function runTests(environment) {
  const files = fs.readdirSync(testsDir).filter((name) => name.endsWith('.test.mjs')).sort();
  const child = spawn(process.execPath, ['--test', '--test-concurrency=1', ...files], {
    cwd: testsDir,
    env: { ...process.env, ...environment },
    stdio: 'inherit',
  });
  const timer = setTimeout(() => {
    console.error(`browser tests did not finish within ${RUN_TIMEOUT_MS / 1000} s; stopping them`);
    child.kill('SIGTERM');
  }, RUN_TIMEOUT_MS);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

async function main() {
  if (!fs.existsSync(binary)) {
    console.error(`taskrelay binary not found at ${binary}: build it (cmake --build build) or set TASKRELAY_BIN`);
    return 1;
  }
  if (!fs.existsSync(path.join(testsDir, 'node_modules', 'playwright-core'))) {
    console.error(`playwright-core is not installed: run "npm ci" in ${testsDir} (or scripts/setup.sh)`);
    return 1;
  }
  if (!fs.existsSync('/usr/bin/chromium')) {
    console.error('/usr/bin/chromium not found: install Debian\'s chromium package (apt-get install chromium)');
    return 1;
  }
  fs.mkdirSync(outputDir, { recursive: true });
  const tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskrelay-browser-'));
  let server = null;
  let worker = null;

  try {
    const serverPort = await freePort();
    const workerPort = await freePort();
    const baseUrl = `http://127.0.0.1:${serverPort}`;

    console.log(`browser tests: kind "screenshot" runs ${path.relative(process.cwd(), screenshotProgram())}`);
    server = startServer(serverPort, tempDir);
    await waitFor('the server to answer', async () => {
      exitedEarly(server, 'taskrelay server');
      return getJson(`${baseUrl}/api/v1/kinds`, apiToken);
    }, { timeoutMs: START_TIMEOUT_MS });

    worker = startWorker({
      binary, serverUrl: baseUrl, port: workerPort, id: WORKER_ID, slots: 2,
      stateDir: path.join(tempDir, 'worker-state'), workerToken,
    });
    await waitFor(`worker ${WORKER_ID} to register`, async () => {
      exitedEarly(worker, 'taskrelay worker');
      const body = await getJson(`${baseUrl}/api/v1/workers`, apiToken);
      return body && body.workers.some((entry) => entry.id === WORKER_ID && entry.status !== 'offline');
    }, { timeoutMs: START_TIMEOUT_MS });

    return await runTests({
      TR_BASE_URL: baseUrl,
      TR_API_TOKEN: apiToken,
      TR_WORKER_TOKEN: workerToken,
      TR_WORKER_URL: `http://127.0.0.1:${workerPort}`,
      TR_WORKER_ID: WORKER_ID,
      TR_BIN: binary,
      TR_TMP: tempDir,
    });
  } catch (error) {
    console.error(`browser tests not run: ${error.message}`);
    return 1;
  } finally {
    await stopProcess(worker);
    await stopProcess(server);
    fs.rmSync(tempDir, { recursive: true, force: true });
  }
}

process.exitCode = await main();
