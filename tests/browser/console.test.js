// The site owner's console in a real browser: Debian's Chromium driven by playwright-core
// against the real siteinvites binary (on the test clock). Sign in by a link from
// `siteinvites console link`, see the invites Pending, revoke one, sign out; the link refused
// on second use; another account's site is 404; a form replayed without its CSRF token is
// refused; a session past its idle timeout goes to sign-in. axe-core checks every page for
// serious or critical violations. Screenshots (phone, desktop, Hebrew) go to tests/out/console/.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const axe = require('axe-core');
const { makeHarness } = require('./harness');

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
const ROLE_ADMIN = '6732588207941061632';
const IDLE_S = 1800;

const h = makeHarness('si-console-', 'console');
const { outDir, cli } = h;
const clockFile = path.join(h.dir, 'clock-offset-ms');
let base;
let owner; // {accountId, siteId, key}
let stranger;
let context;
const axeChecked = [];

// Moves the server's clock forward (the file is replaced whole, as sitest.py does).
function advanceClock(seconds) {
  let offset = 0;
  try { offset = parseInt(fs.readFileSync(clockFile, 'utf8'), 10) || 0; } catch (e) { /* none */ }
  const tmp = clockFile + '.tmp';
  fs.writeFileSync(tmp, String(offset + seconds * 1000) + '\n');
  fs.renameSync(tmp, clockFile);
}

function tenant(name, email, siteName) {
  const account = cli('account', 'create', '--name', name, '--email', email);
  const site = cli('site', 'create', '--account', account.id, '--name', siteName);
  const key = cli('key', 'create', '--account', account.id);
  return { accountId: account.id, siteId: site.id, key: key.key };
}

async function api(t, method, p, body) {
  const res = await fetch(base + p, {
    method,
    headers: { Authorization: t.key, 'wix-site-id': t.siteId, 'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

// A one-time link; --ttl 7d because the server's test clock runs ahead of the CLI's.
function signInLink(t) {
  return cli('console', 'link', '--account', t.accountId, '--base-url', base, '--ttl', '7d').url;
}

async function newPage(viewport, lang) {
  const page = await context.newPage();
  await page.setViewportSize(viewport);
  if (lang) await page.setExtraHTTPHeaders({ 'Accept-Language': lang });
  return page;
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(outDir, name + '.png'), fullPage: true });
}

// No serious or critical axe-core violation on the page as shown. axe runs through the
// DevTools protocol (page.evaluate), which the page's CSP does not govern: the page itself
// still runs no script.
async function assertAccessible(page, name) {
  await page.evaluate(axe.source);
  const result = await page.evaluate(() => window.axe.run(document, { resultTypes: ['violations'] }));
  const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
  assert.deepEqual(bad.map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target).join(' ')})`),
    [], `axe on ${name}`);
  axeChecked.push(name);
}

async function assertFits(page) {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  assert.ok(scroll <= client, `page is ${scroll}px wide in a ${client}px viewport`);
}

async function statusOf(t, id) {
  const r = await api(t, 'GET', '/invites/site-invite/' + id);
  assert.equal(r.status, 200);
  return r.json.invite.status;
}

// Today's row of the chart's table (newest first): Pending, Accepted, Declined, Revoked,
// Expired, Total.
async function chartToday(page) {
  return page.locator('.chart table tbody tr').first().locator('td').allInnerTexts();
}

async function signIn(page, t, name) {
  const link = signInLink(t);
  const res = await page.goto(link);
  assert.equal(res.status(), 200);
  assert.equal(res.headers()['cache-control'], 'no-store');
  assert.match(res.headers()['content-security-policy'], /default-src 'none'/);
  if (name) {
    await assertAccessible(page, name);
    await shot(page, name);
  }
  await page.getByRole('button', { name: /Sign in|כניסה/ }).click();
  await page.waitForURL(base + '/console');
  return link;
}

before(async () => {
  fs.mkdirSync(outDir, { recursive: true });
  // http:// webhooks to the loopback: the webhooks page adds one that nothing answers.
  base = await h.startServer(['--test-clock-file', clockFile,
    '--console-idle-seconds', String(IDLE_S), '--allow-http-webhooks'],
  { ...process.env, SITEINVITES_TESTS: '1' });
  owner = tenant('Maria Lopez', 'maria@shop.example', 'Flower Shop & Café');
  stranger = tenant('Other Agency', 'ops@other.example', 'Not Yours');
  const r = await api(owner, 'POST', '/invites/site-invite/bulk',
    { policyIds: [ROLE_ADMIN], emails: ['ada@example.com', 'bob@example.com',
      'a-very-long-address.for-testing-wrapping@subdomain.flower-shop.example'] });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  owner.invites = Object.fromEntries(r.json.invites.map((i) => [i.email, i.id]));
  context = await h.launchBrowser();
});

after(() => h.stop());

test('sign in by link, see the invites Pending, revoke one, sign out', async () => {
  const page = await newPage(DESKTOP);
  const link = await signIn(page, owner, 'signin-confirm-en-desktop');
  await assertAccessible(page, 'sites-en-desktop');
  await shot(page, 'sites-en-desktop');
  const row = page.locator('tr', { hasText: 'Flower Shop & Café' });
  assert.deepEqual(await row.locator('td.num').allInnerTexts(), ['3 / 100', '3', '0', '0']);
  await page.getByRole('link', { name: 'Flower Shop & Café' }).click();
  await page.waitForURL(base + '/console/sites/' + owner.siteId);
  assert.equal(await page.locator('tbody tr', { hasText: 'Pending' }).count(), 3);
  // The chart: a drawing named by its title, today's bar three Pending, the same in the table.
  const chart = page.getByRole('img', { name: /Invites created per day/ });
  assert.ok(await chart.isVisible());
  assert.equal(await chart.locator('rect').count(), 1);
  assert.deepEqual(await chartToday(page), ['3', '0', '0', '0', '0', '3']);
  await assertAccessible(page, 'site-en-desktop');
  await shot(page, 'site-en-desktop');

  await page.getByRole('button', { name: 'Revoke the invite of bob@example.com' }).click();
  await page.waitForSelector('text=The invite was revoked.');
  assert.equal(await statusOf(owner, owner.invites['bob@example.com']), 'Deleted');
  assert.match(await page.locator('tr', { hasText: 'bob@example.com' }).innerText(), /Revoked/);
  // The accept link, only on demand: the same as the API's.
  await page.getByRole('button', { name: 'Show link: ada@example.com' }).click();
  await page.waitForSelector('h1:has-text("Invite link for ada@example.com")');
  const shown = await page.locator('code.secret').innerText();
  const apiInvite = await api(owner, 'GET', '/invites/site-invite/' + owner.invites['ada@example.com']);
  assert.equal(shown.split('/').pop(), apiInvite.json.invite.acceptLink.split('/').pop());
  await assertAccessible(page, 'invite-link-en-desktop');
  await page.getByRole('link', { name: 'Back to the site' }).click();
  assert.equal(await page.locator('tbody tr', { hasText: 'Pending' }).count(), 2);
  // The revoke changed the chart and the counts together: two Pending, one Revoked today.
  assert.deepEqual(await chartToday(page), ['2', '0', '0', '1', '0', '3']);
  assert.equal(await chart.locator('rect').count(), 2);
  assert.deepEqual(await page.locator('ul.stats b').allInnerTexts(), ['2 / 100', '2', '0', '0']);
  await assertAccessible(page, 'site-revoked-en-desktop');
  await shot(page, 'site-revoked-en-desktop');

  // Filter by status through the form.
  await page.getByLabel('Status', { exact: true }).selectOption('Deleted');
  await page.getByRole('button', { name: 'Show', exact: true }).click();
  await page.waitForURL(/status=Deleted/);
  assert.deepEqual(await page.locator('td.email').allInnerTexts(), ['bob@example.com']);

  // The link is refused on second use.
  const again = await page.goto(link);
  assert.equal(again.status(), 410);
  assert.match(await page.locator('h1').innerText(), /already used/);
  await assertAccessible(page, 'signin-used-en-desktop');
  await shot(page, 'signin-used-en-desktop');

  await page.goto(base + '/console');
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForSelector('h1:has-text("You are signed out")');
  await assertAccessible(page, 'signed-out-en-desktop');
  const after = await page.goto(base + '/console');
  assert.equal(after.url(), base + '/console/signin');
  await assertAccessible(page, 'signin-en-desktop');
  await shot(page, 'signin-en-desktop');
  await page.close();
});

test('another account\'s site is 404; a form replayed without its CSRF token is refused', async () => {
  const page = await newPage(DESKTOP);
  await signIn(page, owner);
  const res = await page.goto(base + '/console/sites/' + stranger.siteId);
  assert.equal(res.status(), 404);
  assert.doesNotMatch(await page.content(), /Not Yours/);
  await assertAccessible(page, 'not-found-en-desktop');

  await page.goto(base + '/console/sites/' + owner.siteId);
  const ada = owner.invites['ada@example.com'];
  // The form as a forger would replay it: the same fields without the session's token.
  await page.evaluate(() => {
    for (const input of document.querySelectorAll('input[name="csrf"]')) input.remove();
  });
  const [post] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Revoke the invite of ada@example.com' }).click(),
  ]);
  assert.equal(post.status(), 403);
  await page.waitForSelector('h1:has-text("This form cannot be accepted")');
  await assertAccessible(page, 'forbidden-en-desktop');
  await shot(page, 'forbidden-en-desktop');
  assert.equal(await statusOf(owner, ada), 'Pending');
  await page.close();
});

test('invite people by the form: each address\'s outcome, then Pending in the table', async () => {
  const page = await newPage(DESKTOP);
  await signIn(page, owner);
  await page.goto(base + '/console/sites/' + owner.siteId);
  await page.getByRole('link', { name: 'Invite people' }).click();
  await page.waitForURL(base + '/console/sites/' + owner.siteId + '/invite');
  await assertAccessible(page, 'invite-en-desktop');
  await page.getByLabel('Email addresses').fill(
    'cleo@example.com\ndan@example.com, eve@example.com\nada@example.com\nnot-an-address');
  await page.getByLabel('Admin (Co-Owner)').check();
  await page.getByLabel('Email language').selectOption('de');
  await shot(page, 'invite-en-desktop');
  await page.getByRole('button', { name: 'Send invitations' }).click();
  await page.waitForSelector('h1:has-text("Invitations for")');
  const rows = await page.locator('tbody tr').allInnerTexts();
  assert.deepEqual(rows.map((r) => r.replace(/\s+/g, ' ').trim()), [
    'cleo@example.com Invited: an email is on its way',
    'dan@example.com Invited: an email is on its way',
    'eve@example.com Invited: an email is on its way',
    'ada@example.com Already invited: nothing sent',
    'not-an-address Not a valid email address',
  ]);
  await assertAccessible(page, 'invite-result-en-desktop');
  await shot(page, 'invite-result-en-desktop');
  await page.getByRole('link', { name: 'Back to the site' }).click();
  for (const email of ['cleo@example.com', 'dan@example.com', 'eve@example.com'])
    assert.match(await page.locator('tr', { hasText: email }).innerText(), /Pending/);
  await page.close();
});

test('invite people by a CSV file: the import reader, each row\'s outcome', async () => {
  const page = await newPage(DESKTOP);
  await signIn(page, owner);
  await page.goto(base + '/console/sites/' + owner.siteId + '/invite');
  // No JavaScript: a plain file input in a multipart form, read by `invite import`'s reader.
  await page.getByLabel('Or a CSV file').setInputFiles({
    name: 'people.csv', mimeType: 'text/csv',
    buffer: Buffer.from('Name,Email\r\n"Fay, F.",fay@example.com\r\nGus,gus@example.com\r\n' +
      'Ada,ada@example.com\r\n'),
  });
  await page.getByLabel('Admin (Co-Owner)').check();
  await shot(page, 'invite-csv-en-desktop');
  await page.getByRole('button', { name: 'Send invitations' }).click();
  await page.waitForSelector('h1:has-text("Invitations for")');
  const rows = await page.locator('tbody tr').allInnerTexts();
  assert.deepEqual(rows.map((r) => r.replace(/\s+/g, ' ').trim()), [
    'fay@example.com Invited: an email is on its way',
    'gus@example.com Invited: an email is on its way',
    'ada@example.com Already invited: nothing sent',
  ]);
  await assertAccessible(page, 'invite-csv-result-en-desktop');
  await shot(page, 'invite-csv-result-en-desktop');
  // Too large a file: 413, the form again with its notice.
  await page.goto(base + '/console/sites/' + owner.siteId + '/invite');
  await page.getByLabel('Or a CSV file').setInputFiles({
    name: 'big.csv', mimeType: 'text/csv', buffer: Buffer.alloc(600 * 1024, 'x\n'),
  });
  await page.getByLabel('Admin (Co-Owner)').check();
  const [post] = await Promise.all([
    page.waitForResponse((r) => r.request().method() === 'POST'),
    page.getByRole('button', { name: 'Send invitations' }).click(),
  ]);
  assert.equal(post.status(), 413);
  await page.waitForSelector('text=The CSV file is too large');
  await assertAccessible(page, 'invite-csv-too-big-en-desktop');
  await shot(page, 'invite-csv-too-big-en-desktop');
  await page.close();
});

test('create an API key (shown once), then revoke it', async () => {
  const page = await newPage(DESKTOP);
  await signIn(page, owner);
  await page.getByRole('link', { name: 'API keys' }).click();
  await page.waitForURL(base + '/console/keys');
  await assertAccessible(page, 'keys-en-desktop');
  await page.getByLabel('Name', { exact: true }).fill('crm sync');
  await page.getByLabel('site-users.delete-invite').uncheck();
  await page.getByRole('button', { name: 'Create key' }).click();
  await page.waitForSelector('h1:has-text("Your new API key")');
  const key = await page.locator('code.secret').innerText();
  await assertAccessible(page, 'key-created-en-desktop');
  await shot(page, 'key-created-en-desktop');
  const works = await api({ key, siteId: owner.siteId }, 'GET', '/invites/site-invites');
  assert.equal(works.status, 200);
  await page.getByRole('link', { name: 'Back to API keys' }).click();
  assert.doesNotMatch(await page.content(), new RegExp(key));
  // Its row shows the key's first 10 characters and, once the API call above is written (the
  // first use goes to the writer thread at once), when it was used.
  const row = page.locator('tr', { hasText: 'crm sync' });
  assert.ok((await row.innerText()).includes(key.slice(0, 10)), await row.innerText());
  const usedAt = /\d{4}-\d\d-\d\d \d\d:\d\d UTC/;
  for (let i = 0; i < 50 && !usedAt.test(await row.innerText()); i++) {
    await new Promise((r) => setTimeout(r, 100));
    await page.reload();
  }
  assert.match(await row.innerText(), usedAt);
  await assertAccessible(page, 'keys-used-en-desktop');
  await shot(page, 'keys-en-desktop');
  await page.getByRole('button', { name: 'Revoke the key crm sync' }).click();
  await page.waitForSelector('text=The key was revoked.');
  assert.match(await page.locator('tr', { hasText: 'crm sync' }).innerText(), /Revoked/);
  await assertAccessible(page, 'keys-revoked-en-desktop');
  const refused = await fetch(base + '/invites/site-invites',
    { headers: { Authorization: key, 'wix-site-id': owner.siteId } });
  assert.equal(refused.status, 401);
  await page.close();
});

test('change a pending invite\'s roles from its row', async () => {
  const page = await newPage(DESKTOP);
  await signIn(page, owner);
  await page.goto(base + '/console/sites/' + owner.siteId);
  await page.getByRole('link', { name: 'Change roles: ada@example.com' }).click();
  await page.waitForSelector('h1:has-text("Invite roles of ada@example.com")');
  await page.getByLabel('Admin (Co-Owner)').uncheck();
  await page.getByLabel('Blog Editor').check();
  await assertAccessible(page, 'invite-roles-en-desktop');
  await shot(page, 'invite-roles-en-desktop');
  await page.getByRole('button', { name: 'Save roles' }).click();
  await page.waitForSelector('text=The roles were changed.');
  assert.match(await page.locator('tr', { hasText: 'ada@example.com' }).innerText(), /Blog Editor/);
  const r = await api(owner, 'GET', '/invites/site-invite/' + owner.invites['ada@example.com']);
  assert.deepEqual(r.json.invite.policyIds, ['1000000000000000005']);
  await page.close();
});

test('change a contributor\'s roles', async () => {
  const inv = await api(owner, 'POST', '/invites/site-invite/bulk',
    { policyIds: ['1000000000000000006'], emails: ['fay@example.com'] });
  const token = inv.json.invites[0].acceptLink.split('/').pop();
  const accepted = await fetch(base + '/site-invite/accept', { method: 'POST',
    headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ inviteToken: token }) });
  assert.equal(accepted.status, 200);
  const page = await newPage(DESKTOP);
  await signIn(page, owner);
  await page.goto(base + '/console/sites/' + owner.siteId);
  await page.getByRole('link', { name: 'Contributors' }).click();
  await assertAccessible(page, 'contributors-en-desktop');
  await page.getByRole('link', { name: 'Change roles' }).click();
  await page.getByLabel('Blog Editor').check();
  await page.getByLabel('Blog Writer').uncheck();
  await assertAccessible(page, 'contributor-en-desktop');
  await shot(page, 'contributor-en-desktop');
  await page.getByRole('button', { name: 'Save roles' }).click();
  await page.waitForSelector('text=The roles were changed.');
  assert.match(await page.locator('tr', { hasText: 'fay@example.com' }).innerText(), /Blog Editor/);
  await shot(page, 'contributors-en-desktop');
  const c = await api(owner, 'GET', '/roles-management/v2/contributors/query');
  assert.match(JSON.stringify(c.json), /1000000000000000005/);
  await page.close();
});

test('phone and Hebrew layouts', async () => {
  const phone = await newPage(PHONE);
  await signIn(phone, owner, 'signin-confirm-en-phone');
  await assertFits(phone);
  await shot(phone, 'sites-en-phone');
  await phone.goto(base + '/console/sites/' + owner.siteId);
  await assertFits(phone);
  await assertAccessible(phone, 'site-en-phone');
  await shot(phone, 'site-en-phone');
  await phone.close();

  const he = await newPage(PHONE, 'he-IL,he;q=0.9,en;q=0.5');
  await signIn(he, owner, 'signin-confirm-he-phone');
  assert.equal(await he.getAttribute('html', 'lang'), 'he');
  assert.equal(await he.getAttribute('html', 'dir'), 'rtl');
  await assertAccessible(he, 'sites-he-phone');
  await shot(he, 'sites-he-phone');
  await he.goto(base + '/console/sites/' + owner.siteId);
  assert.equal(await he.evaluate(() => getComputedStyle(document.body).direction), 'rtl');
  await assertFits(he);
  await assertAccessible(he, 'site-he-phone');
  await shot(he, 'site-he-phone');
  await he.goto(base + '/console/sites/' + owner.siteId + '/invite');
  await assertFits(he);
  await assertAccessible(he, 'invite-he-phone');
  await shot(he, 'invite-he-phone');
  await he.goto(base + '/console/keys');
  await assertFits(he);
  await assertAccessible(he, 'keys-he-phone');
  await shot(he, 'keys-he-phone');
  await he.close();
});

// The sign-in mails in the Maildir whose text holds a link, newest last.
function signInMails() {
  const dir = path.join(h.mailDir, 'new');
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).sort().map((f) => fs.readFileSync(path.join(dir, f), 'utf8'))
    .filter((m) => /\/console\/signin\//.test(m));
}

test('email me a link: the same page for any address, the mailed link signs in', async () => {
  const page = await newPage(DESKTOP);
  await page.goto(base + '/console/signin');
  await page.getByLabel('Your owner address').fill('nobody@nowhere.example');
  await page.getByRole('button', { name: 'Email me a link' }).click();
  await page.waitForSelector('h1:has-text("Check your email")');
  await assertAccessible(page, 'signin-sent-en-desktop');
  await shot(page, 'signin-sent-en-desktop');
  const before = signInMails().length;
  await page.goto(base + '/console/signin');
  await page.getByLabel('Your owner address').fill('MARIA@shop.example');
  await page.getByRole('button', { name: 'Email me a link' }).click();
  await page.waitForSelector('h1:has-text("Check your email")');
  let mails = [];
  for (let i = 0; i < 100 && mails.length <= before; i++) {
    await new Promise((r) => setTimeout(r, 100));
    mails = signInMails();
  }
  assert.equal(mails.length, before + 1, 'one sign-in mail, for the known address only');
  const text = mails[mails.length - 1].replace(/=\r?\n/g, '');
  const link = text.match(/https?:\/\/[^\s"<>]+\/console\/signin\/[A-Za-z0-9_-]{43}/)[0];
  await page.goto(link);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(base + '/console');
  const he = await newPage(PHONE, 'he');
  await he.goto(base + '/console/signin');
  await assertAccessible(he, 'signin-he-phone');
  await shot(he, 'signin-he-phone');
  await he.getByLabel('כתובת בעל החשבון שלכם').fill('nobody@nowhere.example');
  await he.getByRole('button', { name: 'שלחו לי קישור' }).click();
  await he.waitForSelector('h1:has-text("בדקו את הדואר")');
  await assertAccessible(he, 'signin-sent-he-phone');
  await shot(he, 'signin-sent-he-phone');
  await he.close();
  await page.close();
});

test('webhooks page: add (secret once), send test, deliveries, disable; audit log', async () => {
  const page = await newPage(DESKTOP);
  await signIn(page, owner);
  await page.goto(base + '/console/sites/' + owner.siteId);
  await page.getByRole('link', { name: 'Webhooks' }).click();
  await page.waitForURL(base + '/console/sites/' + owner.siteId + '/webhooks');
  await assertAccessible(page, 'webhooks-empty-en-desktop');
  const url = 'http://127.0.0.1:9/hook';
  await page.getByLabel('URL', { exact: true }).fill(url);
  await page.getByLabel('invite.resent').uncheck();
  await page.getByLabel('Description (optional)').fill('crm');
  await page.getByRole('button', { name: 'Add endpoint' }).click();
  await page.waitForSelector('h1:has-text("Your new webhook\'s secret")');
  const secret = await page.locator('code.secret').innerText();
  assert.match(secret, /^whsec_/);
  await assertAccessible(page, 'webhook-created-en-desktop');
  await shot(page, 'webhook-created-en-desktop');
  await page.getByRole('link', { name: 'Back to webhooks' }).click();
  assert.doesNotMatch(await page.content(), new RegExp(secret.replace(/[+/=]/g, '.')));
  const hooks = await api(owner, 'GET', '/invites/webhooks');
  assert.equal(hooks.json.webhooks.length, 1);
  assert.ok(!hooks.json.webhooks[0].events.includes('invite.resent'));
  await page.getByRole('button', { name: 'Send test: ' + url }).click();
  await page.waitForSelector('text=A webhook.test event is queued');
  await assertAccessible(page, 'webhooks-en-desktop');
  await shot(page, 'webhooks-en-desktop');
  await page.getByRole('link', { name: url }).click();
  await page.waitForSelector('h1:has-text("Recent deliveries")');
  assert.match(await page.locator('tbody').innerText(), /webhook\.test/);
  await assertAccessible(page, 'webhook-deliveries-en-desktop');
  await shot(page, 'webhook-deliveries-en-desktop');
  await page.getByRole('link', { name: 'Back to webhooks' }).click();
  await page.getByRole('button', { name: 'Disable: ' + url }).click();
  await page.waitForSelector('text=The endpoint is disabled.');
  const after = await api(owner, 'GET', '/invites/webhooks');
  assert.equal(after.json.webhooks[0].enabled, false);
  await page.getByRole('link', { name: 'Back to the site' }).click();
  await page.getByRole('link', { name: 'Audit log' }).click();
  await page.waitForURL(/\/audit$/);
  await assertAccessible(page, 'audit-en-desktop');
  await shot(page, 'audit-en-desktop');
  await page.getByLabel('Action', { exact: true }).selectOption('invite.revoked');
  await page.getByRole('button', { name: 'Show', exact: true }).click();
  await page.waitForURL(/action=invite\.revoked/);
  const actions = await page.locator('tbody tr td:nth-child(2)').allInnerTexts();
  assert.ok(actions.length >= 1 && actions.every((a) => a === 'invite.revoked'), actions.join());
  const phone = await newPage(PHONE);
  await signIn(phone, owner);
  for (const [p, name] of [['/webhooks', 'webhooks-en-phone'], ['/audit', 'audit-en-phone']]) {
    await phone.goto(base + '/console/sites/' + owner.siteId + p);
    await assertFits(phone);
    await shot(phone, name);
  }
  await phone.close();
  await page.close();
});

test('axe on every console page, in English and in Hebrew', async () => {
  for (const [lang, viewport] of [['en', DESKTOP], ['he', PHONE]]) {
    const page = await newPage(viewport, lang);
    await page.goto(base + '/console/signin');
    await assertAccessible(page, `signin-${lang}`);
    const link = signInLink(owner);
    await page.goto(link);
    await assertAccessible(page, `signin-confirm-${lang}`);
    await page.locator('button[type="submit"]').click();
    await page.waitForURL(base + '/console');
    const site = '/console/sites/' + owner.siteId;
    const hook = (await api(owner, 'GET', '/invites/webhooks')).json.webhooks[0];
    const paths = ['/console', site, site + '?status=Pending', site + '/invite',
      site + '/contributors', '/console/keys', site + '/webhooks',
      site + '/webhooks/deliveries?webhook=' + hook.id, site + '/audit',
      site + '/audit?since=nonsense', '/console/sites/' + stranger.siteId];
    const contributors = await page.goto(base + site + '/contributors');
    assert.equal(contributors.status(), 200);
    const edit = await page.locator('a[href*="/contributor?account="]').first().getAttribute('href');
    paths.push(edit);
    for (const p of paths) {
      await page.goto(p.startsWith('http') ? p : base + p);
      assert.equal(await page.locator('html').getAttribute('lang'), lang, p);
      await assertAccessible(page, `${lang} ${p}`);
    }
    if (lang === 'he') {
      for (const [p, name] of [['/webhooks', 'webhooks-he-phone'], ['/audit', 'audit-he-phone']]) {
        await page.goto(base + site + p);
        assert.equal(await page.locator('html').getAttribute('dir'), 'rtl');
        await assertFits(page);
        await shot(page, name);
      }
    }
    // The answer of Invite people, and the refusal pages.
    await page.goto(base + site + '/invite');
    await page.locator('#f-emails').fill('zed-' + lang + '@example.com');
    await page.locator('input[name="role"]').first().check();
    await page.locator('form.stack button[type="submit"]').click();
    await page.waitForSelector('tbody tr');
    await assertAccessible(page, `invite-result-${lang}`);
    await page.goto(link);
    await assertAccessible(page, `signin-used-${lang}`);
    await page.goto(base + '/console/signin/' + 'A'.repeat(43));
    await assertAccessible(page, `signin-invalid-${lang}`);
    await page.close();
  }
});

test('a session past its idle timeout is sent to sign-in', async () => {
  const page = await newPage(DESKTOP);
  await signIn(page, owner);
  advanceClock(IDLE_S - 60);
  let res = await page.goto(base + '/console');
  assert.equal(res.status(), 200, 'still within the idle timeout');
  advanceClock(IDLE_S + 1);
  res = await page.goto(base + '/console/sites/' + owner.siteId);
  assert.equal(page.url(), base + '/console/signin');
  assert.equal(res.status(), 200);
  // The cookie is worth nothing now, even if the clock were to stop.
  res = await page.goto(base + '/console');
  assert.equal(page.url(), base + '/console/signin');
  await page.close();
  assert.ok(axeChecked.length >= 21, 'axe ran on every page: ' + axeChecked.join(', '));
});
