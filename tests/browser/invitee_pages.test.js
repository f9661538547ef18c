// The invitee pages in a real browser: Debian's Chromium driven by playwright-core (pinned in
// package.json) against the real siteinvites binary. Links come from the emails the server wrote
// to its Maildir; outcomes are checked through the API. Screenshots (phone 390 px, desktop, and
// Hebrew right to left) land in tests/out/browser/ for a person to look at.
'use strict';

const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { makeHarness } = require('./harness');

const MAIL_TIMEOUT_MS = 10000;
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 800 };
const ROLE_BLOG_WRITER = '1000000000000000006';
const ROLE_BLOG_EDITOR = '1000000000000000005';

const h = makeHarness('si-browser-', 'browser');
const { mailDir, outDir, cli, logTail } = h;
let base;
let tenant;
let context;

async function api(method, p, body) {
  const res = await fetch(base + p, {
    method,
    headers: { Authorization: tenant.key, 'wix-site-id': tenant.siteId,
      'Content-Type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json() };
}

// The text/plain part of a delivered message, quoted-printable decoded.
function plainText(raw) {
  const m = /Content-Type: text\/plain[^]*?\r?\n\r?\n([^]*?)\r?\n--/.exec(raw);
  assert.ok(m, 'no text/plain part');
  const qp = m[1].replace(/=\r?\n/g, '');
  return Buffer.from(qp.replace(/=([0-9A-F]{2})/g, (_, h) => String.fromCharCode(parseInt(h, 16))),
    'latin1').toString('utf8');
}

// Waits for the email to addr in the Maildir and returns the accept link written in it.
async function linkFromMail(addr) {
  const deadline = Date.now() + MAIL_TIMEOUT_MS;
  const newDir = path.join(mailDir, 'new');
  for (;;) {
    const names = fs.existsSync(newDir) ? fs.readdirSync(newDir) : [];
    for (const name of names) {
      const raw = fs.readFileSync(path.join(newDir, name), 'utf8');
      if (!raw.includes('To: <' + addr + '>')) continue;
      const link = /https?:\/\/\S+\/invite\/[A-Za-z0-9_-]+/.exec(plainText(raw));
      assert.ok(link, 'no accept link in the email to ' + addr);
      return link[0];
    }
    if (Date.now() > deadline) throw new Error('no email to ' + addr + '\n' + logTail());
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function invite(email, lang) {
  const r = await api('POST', '/invites/site-invite/bulk',
    { policyIds: [ROLE_BLOG_EDITOR, ROLE_BLOG_WRITER], emails: [email],
      defaultEmailLanguage: lang, invitePurpose: 'Help us write the spring posts.' });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  const inv = r.json.invites[0];
  const link = await linkFromMail(email);
  assert.equal(link, inv.acceptLink, 'the email carries the invite\'s link');
  return inv;
}

async function statusOf(inv) {
  const r = await api('GET', '/invites/site-invite/' + inv.id);
  assert.equal(r.status, 200);
  return r.json.invite.status;
}

async function open(link, viewport) {
  const page = await context.newPage();
  await page.setViewportSize(viewport);
  const res = await page.goto(link);
  return { page, res };
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(outDir, name + '.png'), fullPage: true });
}

// No horizontal scrolling: the page fits the viewport it is shown in.
async function assertFits(page) {
  const { scroll, client } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth, client: document.documentElement.clientWidth }));
  assert.ok(scroll <= client, `page is ${scroll}px wide in a ${client}px viewport`);
}

before(async () => {
  fs.mkdirSync(outDir, { recursive: true });
  base = await h.startServer();
  const account = cli('account', 'create', '--name', 'Maria Lopez', '--email', 'maria@shop.example');
  const site = cli('site', 'create', '--account', account.id, '--name', 'Flower Shop & Café');
  const key = cli('key', 'create', '--account', account.id);
  tenant = { siteId: site.id, key: key.key };
  context = await h.launchBrowser();
});

after(() => h.stop());

test('accept on a phone: the page, the button, the result, the API', async () => {
  const inv = await invite('ada@example.com', 'en');
  const { page, res } = await open(inv.acceptLink, PHONE);
  assert.equal(res.status(), 200);
  assert.equal(res.headers()['cache-control'], 'no-store');
  assert.equal(res.headers()['referrer-policy'], 'no-referrer');
  assert.equal(await page.getAttribute('html', 'lang'), 'en');
  assert.match(await page.locator('h1').innerText(), /Flower Shop & Café/);
  assert.match(await page.locator('main').innerText(), /Blog Editor, Blog Writer/);
  await assertFits(page);
  await shot(page, 'invite-en-phone');
  await page.getByRole('button', { name: 'Accept invitation' }).click();
  await page.waitForSelector('text=You joined');
  await assertFits(page);
  await shot(page, 'accepted-en-phone');
  assert.equal(await statusOf(inv), 'Used');
  const c = await api('GET', '/roles-management/v2/contributors/query');
  assert.deepEqual(c.json.contributors.map((x) => x.metaData.email), ['ada@example.com']);
  // Back and submit again: the link is spent.
  const again = await page.goto(inv.acceptLink);
  assert.equal(again.status(), 410);
  await page.close();
});

test('decline on a desktop', async () => {
  const inv = await invite('bob@example.com', 'fr');
  const { page, res } = await open(inv.acceptLink, DESKTOP);
  assert.equal(res.status(), 200);
  assert.equal(await page.getAttribute('html', 'lang'), 'fr');
  await shot(page, 'invite-fr-desktop');
  await page.getByRole('button', { name: 'Refuser' }).click();
  await page.waitForSelector('text=Invitation refusée');
  await shot(page, 'declined-fr-desktop');
  assert.equal(await statusOf(inv), 'Declined');
  await page.close();
});

test('Hebrew reads right to left; a revoked link says so', async () => {
  const inv = await invite('dana@example.com', 'he');
  const { page } = await open(inv.acceptLink, PHONE);
  assert.equal(await page.getAttribute('html', 'dir'), 'rtl');
  assert.equal(await page.getAttribute('html', 'lang'), 'he');
  assert.equal(await page.evaluate(() => getComputedStyle(document.body).direction), 'rtl');
  await assertFits(page);
  await shot(page, 'invite-he-phone');
  const r = await api('POST', '/invites/site-invite/' + inv.id + '/revoke', {});
  assert.equal(r.status, 200);
  // The form still on screen was made before the revoke: submitting it changes nothing.
  await page.getByRole('button', { name: 'קבלת ההזמנה' }).click();
  await page.waitForSelector('h1:has-text("בוטלה")');
  await shot(page, 'revoked-he-phone');
  assert.equal(await statusOf(inv), 'Deleted');
  const res = await page.goto(inv.acceptLink);
  assert.equal(res.status(), 410);
  await page.close();
});

test('a used link and a broken link', async () => {
  const inv = await invite('cy@example.com', 'ja');
  const token = inv.acceptLink.split('/').pop();
  const accepted = await fetch(base + '/site-invite/accept', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ inviteToken: token }) });
  assert.equal(accepted.status, 200);
  const { page, res } = await open(inv.acceptLink, DESKTOP);
  assert.equal(res.status(), 410);
  assert.equal(await page.getAttribute('html', 'lang'), 'ja');
  assert.equal(await page.locator('form').count(), 0);
  await shot(page, 'used-ja-desktop');
  const broken = await page.goto(inv.acceptLink.slice(0, -3));
  assert.equal(broken.status(), 404);
  await shot(page, 'invalid-en-desktop');
  assert.equal(await statusOf(inv), 'Used');
  await page.close();
});

test('with the site\'s acceptRedirectUrl the accepted page offers "Continue to {site}"', async () => {
  const set = await api('PATCH', '/invites/site-settings',
    { acceptRedirectUrl: 'https://shop.example/welcome?from=invite' });
  assert.equal(set.status, 200, JSON.stringify(set.json));
  try {
    const inv = await invite('eve@example.com', 'de');
    const { page } = await open(inv.acceptLink, PHONE);
    await page.getByRole('button', { name: 'Einladung annehmen' }).click();
    const link = page.getByRole('link', { name: 'Weiter zu Flower Shop & Café' });
    await link.waitFor();
    assert.equal(await link.getAttribute('href'), 'https://shop.example/welcome?from=invite' +
      '&inviteId=' + inv.id + '&siteId=' + tenant.siteId);
    await assertFits(page);
    await shot(page, 'accepted-continue-de-phone');
    assert.equal(await statusOf(inv), 'Used');
    await page.close();
  } finally {
    await api('PATCH', '/invites/site-settings', { acceptRedirectUrl: null });
  }
});
