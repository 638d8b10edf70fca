#!/usr/bin/env node
// screenshot: opens a local page in Debian's Chromium and saves a PNG of it.
//
// Payload (JSON in $TASKRELAY_PAYLOAD_FILE), one of:
//   {"url": "http://127.0.0.1:8000/page.html"}  http(s) on 127.0.0.1, localhost or [::1]
//   {"file": "/path/page.html"}                  a local HTML file
// Optional: "width" and "height" of the viewport in CSS pixels (100-4000,
// default 1280 x 800), "full_page" (bool, default false) and "timeout_ms"
// for loading the page (1000-120000, default 30000).
//
// Requests from the page to any other host are blocked, so the example only
// ever touches local pages. Progress goes to the descriptor in
// $TASKRELAY_PROGRESS_FD as "PERCENT MESSAGE" lines, screenshot.png to
// $TASKRELAY_ARTIFACTS_DIR, and {"title", "url", "bytes"} to
// $TASKRELAY_RESULT_FILE. Exit status: 0 on success, 2 for invalid input,
// 1 when the browser or the page failed.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { pathToFileURL } = require('url');
const puppeteer = require('puppeteer-core');

const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

class InputError extends Error {}

function report(percent, message) {
  const line = `${percent} ${message}\n`;
  const fd = Number.parseInt(process.env.TASKRELAY_PROGRESS_FD || '', 10);

  if (Number.isInteger(fd) && fd >= 0) {
    fs.writeSync(fd, line);
  } else {
    process.stderr.write(`progress ${line}`);
  }
}

function requireEnv(name) {
  const value = process.env[name];

  if (!value) {
    throw new InputError(`${name} is not set; run this as a taskrelay task or set it by hand`);
  }
  return value;
}

function intField(payload, name, min, max, fallback) {
  const value = payload[name];

  if (value === undefined || value === null) {
    return fallback;
  }
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new InputError(`payload field '${name}' must be a whole number from ${min} to ${max}`);
  }
  return value;
}

// Returns true for a URL this example may load: local http(s) pages, files
// and the browser's own data:, blob: and about: URLs.
function isLocalUrl(text) {
  let url;

  try {
    url = new URL(text);
  } catch {
    return false;
  }
  if (['file:', 'data:', 'blob:', 'about:'].includes(url.protocol)) {
    return true;
  }
  return (url.protocol === 'http:' || url.protocol === 'https:') && LOCAL_HOSTS.has(url.hostname);
}

// Turns the payload's "url" or "file" into the URL to open.
function targetUrl(payload) {
  if (typeof payload.url === 'string' && payload.file === undefined) {
    const url = payload.url;

    if (!/^https?:\/\//i.test(url) || !isLocalUrl(url)) {
      throw new InputError(
        `payload field 'url' is '${url}': only http(s) URLs on 127.0.0.1, localhost or [::1] ` +
          'are allowed, such as http://127.0.0.1:8000/page.html');
    }
    return url;
  }
  if (typeof payload.file === 'string' && payload.url === undefined) {
    const file = path.resolve(payload.file);

    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) {
      throw new InputError(`payload field 'file' is '${payload.file}', which is not an existing file`);
    }
    return pathToFileURL(file).href;
  }
  throw new InputError(
    'the payload needs exactly one of "url" (a local http(s) URL) or "file" (a path), ' +
      'such as {"file": "examples/tasks/sample-page.html"}');
}

function readInput() {
  const payloadFile = requireEnv('TASKRELAY_PAYLOAD_FILE');
  const input = {
    resultFile: requireEnv('TASKRELAY_RESULT_FILE'),
    artifactsDir: requireEnv('TASKRELAY_ARTIFACTS_DIR'),
    chromium: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  };
  let payload;

  try {
    payload = JSON.parse(fs.readFileSync(payloadFile, 'utf8'));
  } catch (err) {
    throw new InputError(`cannot read the payload from ${payloadFile}: ${err.message}`);
  }
  if (payload === null || typeof payload !== 'object' || Array.isArray(payload)) {
    throw new InputError('the payload must be a JSON object such as {"url": "http://127.0.0.1:8000/"}');
  }
  if (payload.full_page !== undefined && typeof payload.full_page !== 'boolean') {
    throw new InputError("payload field 'full_page' must be true or false");
  }
  input.url = targetUrl(payload);
  input.width = intField(payload, 'width', 100, 4000, 1280);
  input.height = intField(payload, 'height', 100, 4000, 800);
  input.timeoutMs = intField(payload, 'timeout_ms', 1000, 120000, 30000);
  input.fullPage = payload.full_page === true;
  if (!fs.existsSync(input.chromium)) {
    throw new InputError(
      `Chromium not found at ${input.chromium}: install Debian's chromium package or set CHROMIUM_PATH`);
  }
  return input;
}

async function takeScreenshot(input, profileDir) {
  let browser = null;
  let blocked = 0;

  try {
    report(10, 'launching Chromium');
    browser = await puppeteer.launch({
      executablePath: input.chromium,
      headless: true,
      args: [...CHROMIUM_ARGS, `--user-data-dir=${profileDir}`],
    });
    const page = await browser.newPage();

    await page.setViewport({ width: input.width, height: input.height });
    await page.setRequestInterception(true);
    page.on('request', (request) => {
      if (isLocalUrl(request.url())) {
        request.continue();
      } else {
        blocked += 1;
        request.abort('blockedbyclient');
      }
    });

    report(30, `opening ${input.url}`);
    const response = await page.goto(input.url, { waitUntil: 'load', timeout: input.timeoutMs });
    if (response && !response.ok() && response.status() !== 0) {
      throw new Error(`${input.url} returned HTTP ${response.status()}`);
    }
    const title = await page.title();
    report(60, `loaded "${title}"${blocked ? `, blocked ${blocked} non-local requests` : ''}`);

    const file = path.join(input.artifactsDir, 'screenshot.png');
    report(80, 'taking the screenshot');
    await page.screenshot({ path: file, fullPage: input.fullPage });
    const bytes = fs.statSync(file).size;

    fs.writeFileSync(input.resultFile, JSON.stringify({ title, url: page.url(), bytes }) + '\n');
    report(100, `saved screenshot.png, ${bytes} bytes`);
  } finally {
    if (browser) {
      await browser.close().catch(() => {});
    }
  }
}

async function main() {
  let input;

  try {
    input = readInput();
  } catch (err) {
    process.stderr.write(`screenshot: ${err.message}\n`);
    return err instanceof InputError ? 2 : 1;
  }

  const profileDir = fs.mkdtempSync(path.join(os.tmpdir(), 'taskrelay-chromium-'));
  try {
    await takeScreenshot(input, profileDir);
    return 0;
  } catch (err) {
    process.stderr.write(`screenshot: ${err.message}\n`);
    return 1;
  } finally {
    fs.rmSync(profileDir, { recursive: true, force: true });
  }
}

main().then((status) => {
  process.exitCode = status;
});
