// The official Wix SDK (@wix/sdk + @wix/identity_site-invite, versions pinned in package.json)
// against the real siteinvites binary on 127.0.0.1: the sample flow exactly as a user writes it.
//
// NOTE on https: the SDK always builds `https://<apiBaseUrl>/...` URLs. siteinvites has no native
// TLS yet (a later issue), so this test wraps globalThis.fetch and rewrites
// `https://127.0.0.1:PORT` to `http://127.0.0.1:PORT`. Nothing else about the requests is touched:
// method, path, headers and body are the SDK's own. Remove the rewrite once serve speaks TLS.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, execFileSync } = require('node:child_process');
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

function binary() {
  if (process.env.SI_BIN) return process.env.SI_BIN;
  const src = process.env.SI_SOURCE_DIR || path.resolve(__dirname, '..', '..');
  for (const dir of ['build', 'build-itest']) {
    const cand = path.join(src, dir, 'siteinvites');
    if (fs.existsSync(cand)) return cand;
  }
  throw new Error('set SI_BIN to the siteinvites binary');
}

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

// Starts serve like the Python harness: spawn, read the one `listening http://...` line.
function startServer() {
  return new Promise((resolve, reject) => {
    const log = fs.openSync(logPath, 'a');
    const child = spawn(binary(), ['serve', '--listen', '127.0.0.1:0', '--db', db,
      '--mail-dir', path.join(dir, 'mail'), '--secret-file', path.join(dir, 'secret.key')],
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
      const m = /^listening http:\/\/127\.0\.0\.1:(\d+)\n/.exec(seen);
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

  // The https -> http rewrite described at the top of this file, and a log of the URLs.
  const realFetch = globalThis.fetch;
  const httpsBase = 'https://127.0.0.1:' + port + '/';
  globalThis.fetch = (input, init) => {
    const url = typeof input === 'string' ? input : input.url;
    calls.push({ method: (init && init.method) || 'GET', url });
    const rewritten = url.startsWith(httpsBase) ? 'http://' + url.slice('https://'.length) : url;
    return realFetch(rewritten, init);
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

  await assert.rejects(client.siteInvites.resendInvite(inv._id), (err) => {
    assert.equal(err.status, 428);
    assert.equal(err.details.applicationError.code, 'INVITE_NOT_RESENDABLE');
    assert.ok(err.details.applicationError.description);
    assert.ok(err.requestId, 'the X-Wix-Request-Id reaches the SDK error');
    return true;
  });

  await assert.rejects(client.siteInvites.revokeInvite(crypto.randomUUID()), (err) => {
    assert.equal(err.status, 404);
    assert.equal(err.details.applicationError.code, 'INVITE_NOT_FOUND');
    return true;
  });

  await assert.rejects(client.siteInvites.bulkInvite([ROLE_BLOG_WRITER, '9999999999999999999'],
    { emails: [unique('bad-role')] }), (err) => {
    assert.equal(err.status, 400);
    const fields = err.details.validationError.fieldViolations.map((v) => v.field);
    assert.ok(fields.includes('policyIds[1]'), JSON.stringify(fields));
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
    return true;
  });
  for (const c of calls) assert.match(new URL(c.url).pathname, /^\/site-invite\//);
});
