// `make run`'s promise, tested for real: serve --dev with an HTTPS listener (the flags the
// Makefile's run target passes, on a temporary folder and free ports) makes a local CA, prints a
// Wix SDK script and the NODE_EXTRA_CA_CERTS line, and that script, saved to a file and run by
// the printed command in a folder that has @wix/sdk and @wix/identity_site-invite, creates the
// invite over https (certificate checks on) and its email lands in the Maildir.
'use strict';

const { test } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const START_TIMEOUT_MS = 30000; // the first start runs openssl five times
const SNIPPET_TIMEOUT_MS = 30000;
const MAIL_TIMEOUT_MS = 15000;
const MARK = '  ---- 8< ----';

function binary() {
  if (process.env.SI_BIN) return process.env.SI_BIN;
  const src = process.env.SI_SOURCE_DIR || path.resolve(__dirname, '..', '..');
  const cand = path.join(src, 'build', 'siteinvites');
  if (fs.existsSync(cand)) return cand;
  throw new Error('set SI_BIN to the siteinvites binary');
}

// serve --dev as `make run` starts it (Makefile: LISTEN and TLS_LISTEN, var/ for the data), in
// cwd; resolves with the child and its stdout up to the listening line.
function startDev(cwd) {
  return new Promise((resolve, reject) => {
    const log = fs.openSync(path.join(cwd, 'serve.log'), 'a');
    const child = spawn(binary(), ['serve', '--dev', '--listen', '127.0.0.1:0',
      '--tls-listen', '127.0.0.1:0', '--db', 'sqlite:var/siteinvites.db',
      '--mail-dir', 'var/mail'], { cwd, stdio: ['ignore', 'pipe', log] });
    fs.closeSync(log);
    let seen = '';
    const fail = (why) => reject(new Error(why + '; stdout ' + JSON.stringify(seen) + '\n' +
      fs.readFileSync(path.join(cwd, 'serve.log'), 'utf8')));
    const timer = setTimeout(() => { child.kill('SIGKILL'); fail('no listening line'); },
      START_TIMEOUT_MS);
    child.stdout.on('data', (chunk) => {
      seen += chunk.toString();
      if (/(^|\n)listening http:\/\/127\.0\.0\.1:\d+\n$/.test(seen)) {
        clearTimeout(timer);
        resolve({ child, out: seen });
      }
    });
    child.on('exit', (code) => { clearTimeout(timer); fail('serve exited with ' + code); });
  });
}

async function stop(child) {
  const exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  child.kill('SIGTERM');
  assert.equal(await exited, 0, 'serve did not exit 0 after SIGTERM');
}

// The script between the two marks, and the command line that runs it.
function printed(out) {
  const lines = out.split('\n');
  const first = lines.indexOf(MARK);
  const last = lines.indexOf(MARK, first + 1);
  assert.ok(first >= 0 && last > first, 'no SDK script between marks:\n' + out);
  const run = lines.slice(last + 1).map((l) => l.trim())
    .filter((l) => l.startsWith('NODE_EXTRA_CA_CERTS='));
  assert.equal(run.length, 1, 'one NODE_EXTRA_CA_CERTS line:\n' + out);
  return { script: lines.slice(first + 1, last).join('\n') + '\n', run: run[0] };
}

function waitFor(fn, what) {
  const deadline = Date.now() + MAIL_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const poll = () => {
      const v = fn();
      if (v && v.length) return resolve(v);
      if (Date.now() > deadline) return reject(new Error('timed out waiting for ' + what));
      setTimeout(poll, 100);
    };
    poll();
  });
}

test('the SDK script printed by serve --dev runs as printed and creates the invite', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'si-dev-snippet-'));
  // Inside tests/sdk, so the script's require() finds the SDK as in a user's npm folder.
  const work = fs.mkdtempSync(path.join(__dirname, '.tmp-dev-snippet-'));
  let child;
  try {
    let out;
    ({ child, out } = await startDev(home));
    const tlsLine = /^listening-tls https:\/\/(127\.0\.0\.1:\d+)$/m.exec(out);
    assert.ok(tlsLine, 'no listening-tls line:\n' + out);
    const { script, run } = printed(out);
    assert.ok(script.includes("apiBaseUrl: '" + tlsLine[1] + "'"), script);
    const ca = path.join(fs.realpathSync(home), 'var', 'tls', 'ca.pem');
    assert.equal(run, 'NODE_EXTRA_CA_CERTS=' + ca + ' node invite.js');
    for (const key of ['ca.key', 'key.pem']) {
      assert.equal(fs.statSync(path.join(home, 'var', 'tls', key)).mode & 0o777, 0o600, key);
    }

    fs.writeFileSync(path.join(work, 'invite.js'), script);
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS; // only the printed line may make node trust the CA
    delete env.NODE_TLS_REJECT_UNAUTHORIZED;
    delete env.NODE_TEST_CONTEXT;
    const r = spawnSync('sh', ['-c', run], { cwd: work, env, encoding: 'utf8',
      timeout: SNIPPET_TIMEOUT_MS });
    assert.equal(r.status, 0, 'the script failed: ' + r.stdout + r.stderr);
    const answer = JSON.parse(r.stdout);
    assert.deepEqual(answer.invites.map((i) => [i.email, i.status]),
      [['ada@example.com', 'Pending']]);
    assert.deepEqual(answer.failedEmails, []);
    const mailNew = path.join(home, 'var', 'mail', 'new');
    const mails = await waitFor(() => fs.existsSync(mailNew) &&
      fs.readdirSync(mailNew).map((f) => fs.readFileSync(path.join(mailNew, f), 'utf8')),
    'the invite email');
    assert.equal(mails.length, 1);
    assert.match(mails[0], /^To: .*ada@example\.com/m);

    // Without the printed variable node refuses the local CA: the line is really needed.
    const bare = spawnSync(process.execPath, ['invite.js'], { cwd: work, env, encoding: 'utf8',
      timeout: SNIPPET_TIMEOUT_MS });
    assert.notEqual(bare.status, 0, 'node trusted the local CA without NODE_EXTRA_CA_CERTS');

    // A second start keeps the CA a user may already trust.
    const caBefore = fs.readFileSync(ca, 'utf8');
    await stop(child);
    child = null;
    ({ child, out } = await startDev(home));
    assert.equal(fs.readFileSync(ca, 'utf8'), caBefore);
    assert.equal(printed(out).run, run);
  } finally {
    if (child) await stop(child);
    fs.rmSync(work, { recursive: true, force: true });
    fs.rmSync(home, { recursive: true, force: true });
  }
});
