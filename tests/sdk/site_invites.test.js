// The official Wix SDK (@wix/sdk with @wix/identity_site-invite, @wix/identity_contributor and
// @wix/identity_user, versions pinned in package.json) against the real siteinvites binary on
// 127.0.0.1 over real https: the sample flow exactly as a user writes it, with Wix's own role IDs,
// then the neighbour calls (Get Roles Info, Query Site Contributors, Change Role).
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
const contributors = require('@wix/identity_contributor');
const users = require('@wix/identity_user');

// Wix's own role IDs (docs/API.md §1, from Wix's Get Roles Info example). Admin (Co-Owner) is the
// only one a site may grant; Owner and Account Admin (Co-Owner) are refused.
const ROLE_OWNER = '6601492336091027458';
const ROLE_ACCOUNT_ADMIN = '6642345101181663232';
const ROLE_ADMIN = '6732588207941061632';
const ROLE_ADMIN_OLD = '1000000000000000001'; // our retired Admin ID, an alias on input
const ROLE_WEBSITE_DESIGNER = '1000000000000000003'; // ours: Wix publishes no ID for it
const NUMERAL19 = /^[1-9]\d{18}$/;
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
    modules: { siteInvites, contributors, users },
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
  const res = await client.siteInvites.bulkInvite([ROLE_ADMIN], {
    emails: [a, b, 'not-an-email'],
    invitePurpose: 'Run the site with us',
  });
  assert.equal(res.invites.length, 2);
  assert.deepEqual(res.failedEmails, ['not-an-email']);
  for (const inv of res.invites) {
    assert.match(inv._id, GUID, 'the SDK renames id to _id');
    assert.equal(inv.id, undefined);
    assert.equal(inv.status, 'Pending');
    assert.equal(inv.siteId, tenant.siteId);
    assert.deepEqual(inv.policyIds, [ROLE_ADMIN]);
    assert.equal(inv.invitePurpose, 'Run the site with us');
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
  const inv = (await client.siteInvites.bulkInvite([ROLE_ADMIN],
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

  await assert.rejects(client.siteInvites.bulkInvite([ROLE_ADMIN, '9999999999999999999'],
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
  await assert.rejects(badKey.siteInvites.bulkInvite([ROLE_ADMIN],
    { emails: [unique('nokey')] }), (err) => {
    assert.equal(err.status, 401);
    assert.equal(err.details.applicationError.code, 'UNAUTHENTICATED');
    assert.deepEqual(err.details.applicationError.data, { reason: 'UNAUTHENTICATED' });
    return true;
  });
  for (const c of calls) assert.match(new URL(c.url).pathname, /^\/site-invite\//);
});

// The bare (custom-host) path of each call the SDK made since `from`, with its query string:
// docs/API.md §3 serves these forms beside Wix's prefixed ones.
function sentSince(from) {
  return calls.slice(from).map((c) => {
    const u = new URL(c.url);
    return c.method + ' ' + u.pathname + u.search;
  });
}

test('Owner and Account Admin (Co-Owner) are refused through the SDK; the old Admin ID is an alias',
  async () => {
    // docs/API.md §1: no site may grant Owner or an account-level role.
    for (const [role, why] of [[ROLE_OWNER, 'Owner'], [ROLE_ACCOUNT_ADMIN, 'account-level']]) {
      await assert.rejects(client.siteInvites.bulkInvite([role], { emails: [unique('boss')] }),
        (err) => {
          assert.equal(err.status, 400);
          assert.equal(err.details.applicationError, undefined);
          const vs = err.details.validationError.fieldViolations;
          assert.deepEqual(vs.map((v) => v.field), ['policyIds[0]'], JSON.stringify(vs));
          assert.equal(vs[0].ruleName, 'OTHER');
          assert.ok(vs[0].description.includes(why), vs[0].description);
          return true;
        });
    }
    const inv = (await client.siteInvites.bulkInvite([ROLE_ADMIN_OLD],
      { emails: [unique('alias')] })).invites[0];
    assert.deepEqual(inv.policyIds, [ROLE_ADMIN], 'answers carry Wix\'s ID for the alias');
    await client.siteInvites.revokeInvite(inv._id);
  });

test('getRolesInfo (@wix/identity_user): Wix\'s IDs and RoleInfo, locale and roleLevel',
  async () => {
    const from = calls.length;
    const src = process.env.SI_SOURCE_DIR || path.resolve(__dirname, '..', '..');
    const fr = JSON.parse(fs.readFileSync(path.join(src, 'templates', 'roles', 'fr',
      'roles.json'), 'utf8'));
    const site = await client.users.getRolesInfo({ locale: 'fr',
      filter: { roleLevel: users.RoleLevel.SITE_LEVEL } });
    const account = await client.users.getRolesInfo({ locale: 'fr',
      filter: { roleLevel: users.RoleLevel.ACCOUNT_LEVEL } });
    const en = await client.users.getRolesInfo();
    for (const res of [site, account, en]) {
      assert.deepEqual(Object.keys(res).sort(), ['customRoles', 'predefinedRoles']);
      assert.deepEqual(res.customRoles, []);
      for (const r of res.predefinedRoles) {
        // RoleInfo's four fields, `id` renamed `_id` by the SDK as for every Wix entity.
        assert.deepEqual(Object.keys(r).sort(),
          ['_id', 'description', 'restrictFromLevel', 'title'], JSON.stringify(r));
        assert.match(r._id, NUMERAL19);
        assert.ok(r.title.length > 0 && r.description.length > 0, JSON.stringify(r));
        assert.ok(Object.values(users.RoleLevelRestriction).includes(r.restrictFromLevel));
      }
    }
    const byId = (res) => new Map(res.predefinedRoles.map((r) => [r._id, r]));
    // Wix's three roles with Wix's English titles and levels (docs/API.md §1).
    const wix = [[ROLE_OWNER, 'Owner', 'NoRestriction'],
      [ROLE_ACCOUNT_ADMIN, 'Account Admin (Co-Owner)', 'Site'],
      [ROLE_ADMIN, 'Admin (Co-Owner)', 'Account']];
    const enRoles = byId(en);
    assert.deepEqual(en.predefinedRoles.slice(0, 3).map((r) => r._id), wix.map((w) => w[0]));
    for (const [id, title, level] of wix) {
      assert.equal(enRoles.get(id).title, title);
      assert.equal(enRoles.get(id).restrictFromLevel, level);
    }
    // roleLevel: SITE_LEVEL leaves out only Account Admin; ACCOUNT_LEVEL holds Owner and it.
    assert.deepEqual([...byId(site).keys()],
      [...enRoles.keys()].filter((id) => id !== ROLE_ACCOUNT_ADMIN));
    assert.deepEqual([...byId(account).keys()], [ROLE_OWNER, ROLE_ACCOUNT_ADMIN]);
    // locale fr: the French texts of templates/roles/fr, not the English ones.
    const frRoles = new Map([...byId(site), ...byId(account)]);
    for (const [id] of wix) {
      assert.equal(frRoles.get(id).title, fr[id].title);
      assert.equal(frRoles.get(id).description, fr[id].description);
      assert.notEqual(frRoles.get(id).title, enRoles.get(id).title);
      assert.equal(frRoles.get(id).restrictFromLevel, enRoles.get(id).restrictFromLevel);
    }
    assert.deepEqual(sentSince(from), [
      'GET /roles?locale=fr&filter.roleLevel=SITE_LEVEL',
      'GET /roles?locale=fr&filter.roleLevel=ACCOUNT_LEVEL',
      'GET /roles',
    ]);
  });

test('an invitee joins; querySiteContributors and changeRole (@wix/identity_contributor)',
  async () => {
    const from = calls.length;
    const email = unique('cat');
    const inv = (await client.siteInvites.bulkInvite([ROLE_ADMIN], { emails: [email] }))
      .invites[0];
    // The invitee accepts over the HTTP API (docs/API.md §3.3.6), as a browser would.
    const r = await nodeFetch('https://127.0.0.1:' + port + '/site-invite/accept', {
      method: 'POST', headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ inviteToken: inv.acceptLink.split('/').pop() }),
    });
    assert.equal(r.status, 200);
    const joined = (await r.json()).contributor;
    assert.match(joined.accountId, GUID);

    const accountIds = (res) => res.contributors.map((c) => c.accountId);
    const query = (policyIds) => client.contributors.querySiteContributors(
      policyIds ? { filter: { policyIds } } : undefined);
    const all = await query();
    assert.deepEqual(accountIds(all), [joined.accountId]);
    const c = all.contributors[0];
    // ContributorV2 (the SDK's type): accountId and accountOwnerId; the Contributor members
    // beside them, `id` renamed `_id` by the SDK.
    assert.equal(c.accountOwnerId, tenant.accountId);
    assert.equal(c._id, joined.accountId);
    assert.equal(c.invitedEmail, email);
    assert.equal(c.metaData._id, joined.accountId);
    assert.deepEqual(c.metaData.assignments.map((a) => a.policy.policyId), [ROLE_ADMIN]);
    const adminAssignment = c.metaData.assignments[0].assignmentId;
    assert.match(adminAssignment, NUMERAL19);
    assert.deepEqual(accountIds(await query([ROLE_ADMIN])), [joined.accountId]);
    assert.deepEqual(accountIds(await query([ROLE_WEBSITE_DESIGNER])), []);

    const changed = await client.contributors.changeRole(joined.accountId,
      { newRoles: [{ roleId: ROLE_WEBSITE_DESIGNER }] });
    assert.deepEqual(Object.keys(changed), ['newAssignedRoles']);
    assert.equal(changed.newAssignedRoles.length, 1);
    assert.equal(changed.newAssignedRoles[0].roleId, ROLE_WEBSITE_DESIGNER);
    const designerAssignment = changed.newAssignedRoles[0].assignmentId;
    assert.match(designerAssignment, NUMERAL19);
    assert.notEqual(designerAssignment, adminAssignment);
    // The filter follows the new role, and the assignment is the one Change Role answered.
    assert.deepEqual(accountIds(await query([ROLE_ADMIN])), []);
    const designers = await query([ROLE_WEBSITE_DESIGNER]);
    assert.deepEqual(accountIds(designers), [joined.accountId]);
    assert.deepEqual(designers.contributors[0].metaData.assignments.map((a) =>
      [a.policy.policyId, a.assignmentId]), [[ROLE_WEBSITE_DESIGNER, designerAssignment]]);
    assert.deepEqual(accountIds(await query([ROLE_ADMIN, ROLE_WEBSITE_DESIGNER])),
      [joined.accountId]);

    // Back to Admin by the old alias: Wix's ID in the answer, and the old assignment ID again.
    const back = await client.contributors.changeRole(joined.accountId,
      { newRoles: [{ roleId: ROLE_ADMIN_OLD }] });
    assert.deepEqual(back.newAssignedRoles, [{ roleId: ROLE_ADMIN, assignmentId: adminAssignment }]);
    assert.deepEqual(accountIds(await query([ROLE_ADMIN])), [joined.accountId]);

    await assert.rejects(client.contributors.changeRole(joined.accountId,
      { newRoles: [{ roleId: ROLE_OWNER }] }), (err) => {
      assert.equal(err.status, 400);
      // We name `newRoles[0]` (docs/API.md §3.3.8); the SDK's transformError rewrites a field to
      // the path of its own argument, here `options` (changeRole(accountId, options)).
      const vs = err.details.validationError.fieldViolations;
      assert.deepEqual(vs.map((v) => v.field), ['options.newRoles[0]'], JSON.stringify(vs));
      assert.equal(vs[0].ruleName, 'OTHER');
      return true;
    });
    await assert.rejects(client.contributors.changeRole(crypto.randomUUID(),
      { newRoles: [{ roleId: ROLE_ADMIN }] }), (err) => {
      assert.equal(err.status, 404);
      assert.equal(err.details.applicationError.code, 'NOT_FOUND');
      return true;
    });

    // Every call went to the bare proto path the SDK builds for a custom host (wix-facts §8).
    const q = '/v2/contributors/query';
    const p = (ids) => q + '?' + ids.map((id) => 'filter.policyIds=' + id).join('&');
    assert.deepEqual(sentSince(from), [
      'POST /site-invite/bulk',
      'GET ' + q, 'GET ' + p([ROLE_ADMIN]), 'GET ' + p([ROLE_WEBSITE_DESIGNER]),
      'PUT /contributor/change/role',
      'GET ' + p([ROLE_ADMIN]), 'GET ' + p([ROLE_WEBSITE_DESIGNER]),
      'GET ' + p([ROLE_ADMIN, ROLE_WEBSITE_DESIGNER]),
      'PUT /contributor/change/role', 'GET ' + p([ROLE_ADMIN]),
      'PUT /contributor/change/role', 'PUT /contributor/change/role',
    ]);
    for (const s of sentSince(0)) {
      assert.doesNotMatch(s, /^\w+ \/(invites|roles-management)\//, s);
    }
  });
