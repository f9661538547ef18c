// What the browser suites share: a scratch folder with a SQLite database, the real siteinvites
// binary started on 127.0.0.1:0 (its log kept for failure messages), the admin CLI on the same
// database, and Debian's Chromium through playwright-core. Each suite makes one harness.
'use strict';

const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { chromium } = require('playwright-core');

const CHROMIUM = '/usr/bin/chromium';
const START_TIMEOUT_MS = 15000;
const SOURCE_DIR = process.env.SI_SOURCE_DIR || path.resolve(__dirname, '..', '..');

function binary() {
  if (process.env.SI_BIN) return process.env.SI_BIN;
  for (const dir of ['build', 'build-itest']) {
    const cand = path.join(SOURCE_DIR, dir, 'siteinvites');
    if (fs.existsSync(cand)) return cand;
  }
  throw new Error('set SI_BIN to the siteinvites binary');
}

// prefix names the scratch folder; outName the folder under tests/out/ for screenshots.
function makeHarness(prefix, outName) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  const h = {
    dir,
    db: 'sqlite:' + path.join(dir, 'si.db'),
    mailDir: path.join(dir, 'mail'),
    logPath: path.join(dir, 'serve.log'),
    outDir: path.join(SOURCE_DIR, 'tests', 'out', outName),
    server: null,
    base: null,
    context: null,
  };

  h.cli = (...args) => JSON.parse(execFileSync(binary(), [...args, '--json', '--db', h.db],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }));

  h.logTail = () => fs.readFileSync(h.logPath, 'utf8').split('\n').slice(-30).join('\n');

  // Starts serve with the harness's database, Maildir and secret, plus extraArgs; resolves once
  // it printed its address (h.server, h.base).
  h.startServer = (extraArgs = [], env = process.env) => new Promise((resolve, reject) => {
    const log = fs.openSync(h.logPath, 'a');
    const child = spawn(binary(), ['serve', '--listen', '127.0.0.1:0', '--db', h.db,
      '--mail-dir', h.mailDir, '--secret-file', path.join(dir, 'secret.key'), ...extraArgs],
    { stdio: ['ignore', 'pipe', log], env });
    fs.closeSync(log);
    let seen = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('serve printed no port line\n' + h.logTail()));
    }, START_TIMEOUT_MS);
    child.stdout.on('data', (chunk) => {
      seen += chunk.toString();
      const m = /^listening (http:\/\/127\.0\.0\.1:\d+)\n/.exec(seen);
      if (m) {
        clearTimeout(timer);
        h.server = child;
        h.base = m[1];
        resolve(h.base);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error('serve exited early with ' + code + '\n' + h.logTail()));
    });
  });

  h.launchBrowser = async () => {
    h.context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
        '--disable-component-update', '--disable-sync', '--no-first-run'],
    });
    return h.context;
  };

  // Closes the browser, stops serve (which must exit 0 on SIGTERM) and removes the folder.
  h.stop = async () => {
    if (h.context) await h.context.close();
    if (h.server) {
      const exited = new Promise((resolve) => h.server.on('exit', (code) => resolve(code)));
      h.server.kill('SIGTERM');
      assert.equal(await exited, 0, 'serve did not exit 0 after SIGTERM\n' + h.logTail());
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };

  return h;
}

module.exports = { makeHarness };
