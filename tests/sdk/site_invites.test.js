// The official Wix SDK (@wix/sdk + @wix/identity_site-invite, versions pinned in package.json)
// against the real siteinvites binary on 127.0.0.1 over real https: the sample flow exactly as a
// user writes it.
//
// How https works here: the SDK builds `https://<apiBaseUrl>/...` URLs; the sample points
// apiBaseUrl at 127.0.0.1:PORT (the SDK's own custom-host setting) instead of www.wixapis.com.
// The file runs twice. The first run (the one `node --test` starts) makes a throwaway CA and a
// certificate for IP 127.0.0.1 with the openssl command, then runs this same file in a child
// node with NODE_EXTRA_CA_CERTS=<the CA> (node reads it only at start-up) and SI_SDK_TLS_DIR
// set. The child starts `serve --tls-cert --tls-key` and runs the tests: the SDK's own fetch,
// with certificate and host-name checks on (NODE_TLS_REJECT_UNAUTHORIZED is never set), and
// scheme, path, headers and body all the SDK's own. Nothing is rewritten.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const crypto = require('node:crypto');

const { createClient, ApiKeyStrategy } = require('@wix/sdk');
const siteInvites = require('@wix/identity_site-invite');

const ROLE_WEBSITE_DESIGNER = '1000000000000000003';
const ROLE_BLOG_WRITER = '1000000000000000006';
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const START_TIMEOUT_MS = 15000;
const CHILD_TIMEOUT_MS = 240000; // the child run; ctest gives the whole suite 300 s
const OPENSSL_TIMEOUT_MS = 30000;
const TLS_DIR_ENV = 'SI_SDK_TLS_DIR'; // set only in the child run
const LEAF_EXT = 'subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n' +
  'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n';

function binary() {
  if (process.env.SI_BIN) return process.env.SI_BIN;
  const src = process.env.SI_SOURCE_DIR || path.resolve(__dirname, '..', '..');
  for (const dir of ['build', 'build-itest']) {
    const cand = path.join(src, dir, 'siteinvites');
    if (fs.existsSync(cand)) return cand;
  }
  throw new Error('set SI_BIN to the siteinvites binary');
}

function openssl(cwd, ...args) {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'pipe', 'pipe'],
    timeout: OPENSSL_TIMEOUT_MS });
}

// A CA (ca.pem) and a certificate for IP 127.0.0.1 signed by it (cert.pem, key.pem) in tlsDir.
function makePki(tlsDir) {
  const ecKey = (name) => openssl(tlsDir, 'genpkey', '-algorithm', 'EC', '-pkeyopt',
    'ec_paramgen_curve:prime256v1', '-out', name);
  ecKey('ca.key');
  openssl(tlsDir, 'req', '-x509', '-new', '-key', 'ca.key', '-out', 'ca.pem', '-days', '2',
    '-subj', '/CN=siteinvites SDK test CA', '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign');
  ecKey('key.pem');
  openssl(tlsDir, 'req', '-new', '-key', 'key.pem', '-out', 'leaf.csr', '-subj', '/CN=127.0.0.1');
  fs.writeFileSync(path.join(tlsDir, 'leaf.ext'), LEAF_EXT);
  openssl(tlsDir, 'x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key',
    '-CAcreateserial', '-out', 'cert.pem', '-days', '2', '-extfile', 'leaf.ext');
  fs.chmodSync(path.join(tlsDir, 'key.pem'), 0o600);
}

// The first run: make the PKI, run the suite in a child node that trusts the CA.
if (!process.env[TLS_DIR_ENV]) {
  test('the SDK suite over https, in a node that trusts the test CA', (t) => {
    const tlsDir = fs.mkdtempSync(path.join(os.tmpdir(), 'si-sdk-tls-'));
    try {
      makePki(tlsDir);
      const env = { ...process.env, NODE_EXTRA_CA_CERTS: path.join(tlsDir, 'ca.pem'),
        [TLS_DIR_ENV]: tlsDir };
      delete env.NODE_TEST_CONTEXT; // the child reports on its own, not to our runner
      delete env.NODE_TLS_REJECT_UNAUTHORIZED;
      const r = spawnSync(process.execPath, ['--test-reporter=spec', __filename],
        { env, encoding: 'utf8', timeout: CHILD_TIMEOUT_MS });
      const out = (r.stdout || '') + (r.stderr || '');
      for (const line of out.split('\n')) if (line.trim()) t.diagnostic(line);
      assert.equal(r.error, undefined, 'child node: ' + r.error);
      assert.equal(r.status, 0, 'the child run failed (its output is above)');
      assert.match(out, /pass [1-9]/, 'the child ran no test');
      assert.match(out, /fail 0/, 'a child test failed');
    } finally {
      fs.rmSync(tlsDir, { recursive: true, force: true });
    }
  });
  return; // CommonJS: the rest of this file is the child run
}

const tlsDir = process.env[TLS_DIR_ENV];
const nodeFetch = globalThis.fetch; // for the test's own calls, which the SDK log leaves out
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'si-sdk-'));
const db = 'sqlite:' + path.join(dir, 'si.db');
const logPath = path.join(dir, 'serve.log');
let server;
let port;
let tenant;
let client;
const calls = []; // every URL the SDK fetched, as the SDK built it

function cli(...args) {
  const out = execFileSync(binary(), [...args, '--json', '--db', db],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out);
}

function logTail() {
  return fs.readFileSync(logPath, 'utf8').split('\n').slice(-30).join('\n');
}

// Starts serve like the Python harness, with TLS: spawn, read the `listening https://...` line.
function startServer() {
  return new Promise((resolve, reject) => {
    const log = fs.openSync(logPath, 'a');
    const child = spawn(binary(), ['serve', '--listen', '127.0.0.1:0', '--db', db,
      '--mail-dir', path.join(dir, 'mail'), '--secret-file', path.join(dir, 'secret.key'),
      '--tls-cert', path.join(tlsDir, 'cert.pem'), '--tls-key', path.join(tlsDir, 'key.pem')],
    { stdio: ['ignore', 'pipe', log] });
    fs.closeSync(log);
    let seen = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('serve printed no port line; stdout ' + JSON.stringify(seen) + '\n' +
        logTail()));
    }, START_TIMEOUT_MS);
    child.stdout.on('data', (chunk) => {
      seen += chunk.toString();
      const m = /^listening https:\/\/127\.0\.0\.1:(\d+)\n/.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error('serve exited early with ' + code + '\n' + logTail()));
    });
  });
}

before(async () => {
  ({ child: server, port } = await startServer());
  const account = cli('account', 'create', '--name', 'SDK Co', '--email', 'owner@sdk.example');
  const site = cli('site', 'create', '--account', account.id, '--name', 'SDK Site');
  const key = cli('key', 'create', '--account', account.id);
  tenant = { accountId: account.id, siteId: site.id, apiKey: key.key };

  // A log of the URLs the SDK fetches; the call itself goes to node's fetch unchanged.
  const realFetch = globalThis.fetch;
  globalThis.fetch = (input, init) => {
    const url = typeof input === 'string' ? input : input.url;
    calls.push({ method: (init && init.method) || 'GET', url });
    return realFetch(input, init);
  };

  // The sample, exactly as a user writes it against a custom host.
  const siteId = tenant.siteId;
  const apiKey = tenant.apiKey;
  client = createClient({
    modules: { siteInvites },
    auth: ApiKeyStrategy({ siteId, apiKey }),
    host: { apiBaseUrl: '127.0.0.1:' + port },
  });
});

after(async () => {
  if (server) {
    const exited = new Promise((resolve) => server.on('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    const code = await exited;
    assert.equal(code, 0, 'serve did not exit 0 after SIGTERM\n' + logTail());
  }
  // No API key and no accept token in the server's log.
  const log = fs.readFileSync(logPath, 'utf8');
  if (tenant) assert.ok(!log.includes(tenant.apiKey.slice(4, 20)), 'API key in the log');
  fs.rmSync(dir, { recursive: true, force: true });
});

test('this node verifies our certificate: trusted for 127.0.0.1, refused for another name',
  async () => {
    assert.equal(process.env.NODE_TLS_REJECT_UNAUTHORIZED, undefined);
    const ok = await nodeFetch('https://127.0.0.1:' + port + '/healthz');
    assert.equal(ok.status, 200);
    assert.deepEqual(await ok.json(), { status: 'ok' });
    // The certificate names only IP 127.0.0.1, so "localhost" must fail the host-name check.
    await assert.rejects(nodeFetch('https://localhost:' + port + '/healthz'), (err) => {
      assert.equal(err.cause && err.cause.code, 'ERR_TLS_CERT_ALTNAME_INVALID', String(err.cause));
      return true;
    });
  });

function unique(tag) {
  return tag + '-' + crypto.randomBytes(5).toString('hex') + '@sdk.example';
}

test('bulkInvite, resendInvite and revokeInvite through the SDK', async () => {
  const a = unique('ann');
  const b = unique('bob');
  const res = await client.siteInvites.bulkInvite([ROLE_BLOG_WRITER], {
    emails: [a, b, 'not-an-email'],
    invitePurpose: 'Write for our blog',
  });
  assert.equal(res.invites.length, 2);
  assert.deepEqual(res.failedEmails, ['not-an-email']);
  for (const inv of res.invites) {
    assert.match(inv._id, GUID, 'the SDK renames id to _id');
    assert.equal(inv.id, undefined);
    assert.equal(inv.status, 'Pending');
    assert.equal(inv.siteId, tenant.siteId);
    assert.deepEqual(inv.policyIds, [ROLE_BLOG_WRITER]);
    assert.equal(inv.invitePurpose, 'Write for our blog');
    assert.match(inv.acceptLink, /\/invite\/[A-Za-z0-9_-]+$/);
    assert.ok(!Number.isNaN(new Date(inv.expirationDate).getTime()));
  }
  assert.deepEqual(res.invites.map((i) => i.email).sort(), [a, b].sort());

  const first = res.invites[0];
  const resent = await client.siteInvites.resendInvite(first._id);
  assert.equal(resent.invite._id, first._id);
  assert.equal(resent.invite.status, 'Pending');
  assert.equal(resent.invite.acceptLink, first.acceptLink);
  assert.ok(new Date(resent.invite.expirationDate) >= new Date(first.expirationDate));

  const revoked = await client.siteInvites.revokeInvite(first._id);
  assert.equal(revoked, undefined, 'revokeInvite resolves to nothing');
  // Idempotent: revoking again succeeds too.
  await client.siteInvites.revokeInvite(first._id);

  const pathOf = (u) => new URL(u).pathname;
  const paths = calls.map((c) => c.method + ' ' + pathOf(c.url));
  assert.deepEqual(paths.slice(-4), [
    'POST /site-invite/bulk',
    'POST /site-invite/' + first._id + '/resend',
    'POST /site-invite/' + first._id + '/revoke',
    'POST /site-invite/' + first._id + '/revoke',
  ]);
  for (const c of calls) assert.ok(c.url.startsWith('https://127.0.0.1:' + port + '/'), c.url);
});

test('errors surface as SDK errors carrying our details', async () => {
  const inv = (await client.siteInvites.bulkInvite([ROLE_WEBSITE_DESIGNER],
    { emails: [unique('err')] })).invites[0];
  await client.siteInvites.revokeInvite(inv._id);

  // docs/API.md §4: the standard code a Wix client checks, our reason in data.reason; the SDK's
  // transformError keeps both in err.details and in the JSON of err.message.
  await assert.rejects(client.siteInvites.resendInvite(inv._id), (err) => {
    assert.equal(err.status, 428);
    assert.equal(err.details.applicationError.code, 'FAILED_PRECONDITION');
    assert.deepEqual(err.details.applicationError.data, { reason: 'INVITE_NOT_RESENDABLE' });
    assert.equal(err.details.applicationError.description, 'This invite cannot be resent.');
    const shown = JSON.parse(err.message);
    assert.equal(shown.message, 'This invite cannot be resent.');
    assert.equal(shown.details.applicationError.data.reason, 'INVITE_NOT_RESENDABLE');
    assert.ok(err.requestId, 'the X-Wix-Request-Id reaches the SDK error');
    return true;
  });

  await assert.rejects(client.siteInvites.revokeInvite(crypto.randomUUID()), (err) => {
    assert.equal(err.status, 404);
    assert.equal(err.details.applicationError.code, 'NOT_FOUND');
    assert.deepEqual(err.details.applicationError.data, { reason: 'INVITE_NOT_FOUND' });
    return true;
  });

  await assert.rejects(client.siteInvites.bulkInvite([ROLE_BLOG_WRITER, '9999999999999999999'],
    { emails: [unique('bad-role')] }), (err) => {
    assert.equal(err.status, 400);
    const fields = err.details.validationError.fieldViolations.map((v) => v.field);
    assert.ok(fields.includes('policyIds[1]'), JSON.stringify(fields));
    // Wix's entry shape passes through the SDK: ruleName and data beside violatedRule, and
    // the SDK's message names the field and our description.
    const v = err.details.validationError.fieldViolations.find((f) => f.field === 'policyIds[1]');
    assert.equal(v.violatedRule, 'INVALID_ENUM_VALUE');
    assert.equal(v.ruleName, 'INVALID_ENUM_VALUE');
    assert.deepEqual(v.data, {});
    assert.match(JSON.parse(err.message).message,
      /^INVALID_ARGUMENT: "policyIds\[1\]" not a role of this account/);
    return true;
  });

  const badKey = createClient({
    modules: { siteInvites },
    auth: ApiKeyStrategy({ siteId: tenant.siteId, apiKey: 'sik_not-a-real-key' }),
    host: { apiBaseUrl: '127.0.0.1:' + port },
  });
  await assert.rejects(badKey.siteInvites.bulkInvite([ROLE_BLOG_WRITER],
    { emails: [unique('nokey')] }), (err) => {
    assert.equal(err.status, 401);
    assert.equal(err.details.applicationError.code, 'UNAUTHENTICATED');
    assert.deepEqual(err.details.applicationError.data, { reason: 'UNAUTHENTICATED' });
    return true;
  });
  for (const c of calls) assert.match(new URL(c.url).pathname, /^\/site-invite\//);
});
