import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { accountUrl, backupCodesOf, formOf, signInToAccount, submit } from './helpers/account-page.js';
import { TestBrowser } from './helpers/browser.js';
import {
  authorizationRequest,
  createSignInUser,
  PASSWORD,
  passwordSignIn,
  signInRealm,
} from './helpers/sign-in.js';
import { useTestApp } from './helpers/test-app.js';

/**
 * SMS codes through the webhook sender (SCAIKEY_SMS_WEBHOOK_URL): a real HTTP server on loopback
 * stands for the SMS gateway and records what it is sent; `refuse` makes it answer 500.
 */
const texts: { to: string; text: string; kind: string; tenant_id: string }[] = [];
let refuse = false;
const gateway = createServer((request, response) => {
  let body = '';
  request.on('data', (chunk) => {
    body += chunk;
  });
  request.on('end', () => {
    if (refuse) {
      response.writeHead(500).end();
      return;
    }
    texts.push(JSON.parse(body));
    response.writeHead(202).end();
  });
});
gateway.listen(0, '127.0.0.1');
await once(gateway, 'listening');
afterAll(() => new Promise<void>((done) => gateway.close(() => done())));

const t = useTestApp(
  { sms: { webhookUrl: `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/sms` } },
  { live: true },
);
const PHONE = '+31612345678';
const codeIn = (text: string) => /^(\d{6}) /.exec(text)?.[1] as string;

describe('SMS codes', () => {
  it('enrolls a number with a texted code and signs in with one (amr sms)', async () => {
    const r = await signInRealm(t, { settings: { mfa_methods: ['totp', 'sms'] } });
    const user = await createSignInUser(t, r.tenant);
    const {
      tokens: { access_token: token },
    } = await passwordSignIn(t, r.config, user.email);

    const badNumber = await t.post('/api/v1/me/mfa/sms/enable', { phone_number: '0612345678' }, { token });
    expect(badNumber.status).toBe(422);
    refuse = true;
    const down = await t.post('/api/v1/me/mfa/sms/enable', { phone_number: PHONE }, { token });
    refuse = false;
    expect(down.status).toBe(503);
    // Nothing is left of the enrollment whose text failed: no factor, and a new request goes out at once.
    const pending = await t.database.db
      .selectFrom('mfa_factors')
      .select('id')
      .where('user_id', '=', user.id)
      .execute();
    expect(pending).toEqual([]);
    const sent = await t.post('/api/v1/me/mfa/sms/enable', { phone_number: PHONE }, { token });
    expect(sent.status).toBe(202);
    expect(sent.body.data.sent_to).toBe('+31•••••••78');
    const tooSoon = await t.post('/api/v1/me/mfa/sms/enable', { phone_number: PHONE }, { token });
    expect(tooSoon.status).toBe(429);
    const enrollText = texts.at(-1) as (typeof texts)[number];
    expect(enrollText).toMatchObject({ to: PHONE, kind: 'mfa_code', tenant_id: r.tenant.id });
    const confirmed = await t.post(
      '/api/v1/me/mfa/sms/confirm',
      { code: codeIn(enrollText.text) },
      { token },
    );
    expect(confirmed.status).toBe(200);
    expect(confirmed.body.data.factor).toMatchObject({ type: 'sms', confirmed: true });
    expect(confirmed.body.data.backup_codes).toHaveLength(10);

    const signInBrowser = new TestBrowser(t.origin);
    const request = await authorizationRequest(r.config);
    const mfaPage = await signInBrowser.submitForm(await signInBrowser.follow(request.url), {
      email: user.email,
      password: PASSWORD,
    });
    expect(mfaPage.body).toContain('Text me a code');
    const textForm = mfaPage.body.slice(mfaPage.body.lastIndexOf('<form'));
    const textedPage = await signInBrowser.submitForm({ body: textForm, url: mfaPage.url }, {});
    expect(textedPage.body).toContain('+31•••••••78');
    const done = await signInBrowser.submitForm(textedPage, {
      code: codeIn((texts.at(-1) as (typeof texts)[number]).text),
    });
    const tokens = await request.tokens(done.location);
    expect(decodeJwt(tokens.id_token as string).amr).toEqual(['pwd', 'sms', 'mfa']);
  });
  it('the account page enrolls a number with a texted code, then removes the factor with a backup code', async () => {
    const r = await signInRealm(t, { settings: { mfa_methods: ['totp', 'sms'] } });
    const user = await createSignInUser(t, r.tenant);
    const { browser, page } = await signInToAccount(t, user, r.tenant.slug);
    expect(page.body).toContain('id="sms-form"');

    const badNumber = await submit(browser, page, 'sms-form', { phone_number: '0612345678' });
    expect(badNumber.status).toBe(400);
    expect(badNumber.body).toMatch(/class="error" role="alert">Enter your mobile number/);

    const textsBefore = texts.length;
    const codePage = await submit(browser, badNumber, 'sms-form', { phone_number: '+31 6 1234 5678' });
    expect(codePage.status).toBe(200);
    expect(codePage.body).toContain('+31•••••••78');
    expect(texts.length).toBe(textsBefore + 1);
    const text = texts.at(-1) as (typeof texts)[number];
    expect(text).toMatchObject({ to: PHONE, tenant_id: r.tenant.id });
    // Asking again at once: 429, the page says how long to wait.
    const tooSoon = await submit(browser, codePage, 'sms-resend-form');
    expect(tooSoon.status).toBe(429);
    expect(tooSoon.body).toContain('Wait');

    const code = codeIn(text.text);
    const wrong = await submit(browser, codePage, 'sms-confirm-form', {
      code: code === '000000' ? '111111' : '000000',
    });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toMatch(/class="error" role="alert">The code is wrong/);
    expect(wrong.body).toContain('id="sms-resend-form"');
    const codesPage = await submit(browser, wrong, 'sms-confirm-form', { code });
    expect(codesPage.status).toBe(200);
    const backupCodes = backupCodesOf(codesPage);
    expect(backupCodes).toHaveLength(10);

    const account = await browser.follow(accountUrl(t, r.tenant.slug));
    expect(account.body).toContain('(text messages)');
    expect(account.body).not.toContain('id="sms-form"');
    const factorId = /name="factor_id" value="([^"]+)"/.exec(account.body)?.[1] as string;
    const removed = await submit(browser, account, `remove-${factorId}`, { code: backupCodes[0] as string });
    expect(removed.status).toBe(200);
    expect(removed.body).toContain('The factor was removed.');
    expect(removed.body).toContain('id="sms-form"');
    expect((await t.get(`/api/v1/tenants/${r.tenant.id}/users/${user.id}`)).body.data.mfa_enabled).toBe(
      false,
    );
  });

  it('the account page offers no SMS where the tenant does not allow it', async () => {
    const r = await signInRealm(t, { settings: { mfa_methods: ['totp', 'email'] } });
    const user = await createSignInUser(t, r.tenant);
    const { browser, page } = await signInToAccount(t, user, r.tenant.slug);
    expect(page.body).not.toContain('id="sms-form"');
    const csrf = formOf(page, 'totp-form').hidden.csrf as string;
    const refused = await browser.follow(`${accountUrl(t, r.tenant.slug)}/mfa/sms`, {
      form: { csrf, phone_number: PHONE },
    });
    expect(refused.status).toBe(409);
    expect(refused.body).toMatch(/class="error" role="alert">The tenant does not allow sms/);
  });
});

describe('SMS codes in the development outbox (SCAIKEY_SMS_SENDER=dev-outbox)', () => {
  const dev = useTestApp({ sms: { webhookUrl: null, devOutbox: true } }, { live: true });

  it('keeps the text instead of sending it: the code is read from the outbox and turns SMS codes on', async () => {
    const r = await signInRealm(dev, { settings: { mfa_methods: ['totp', 'sms'] } });
    const user = await createSignInUser(dev, r.tenant);
    const { browser, page } = await signInToAccount(dev, user, r.tenant.slug);
    const outbox = dev.app.scaikey.smsOutbox;
    expect(outbox).not.toBeNull();
    const phone = '+32470123456';
    const codePage = await submit(browser, page, 'sms-form', { phone_number: phone });
    expect(codePage.status).toBe(200);
    const [kept] = outbox?.messages(phone) ?? [];
    expect(kept).toMatchObject({ kind: 'mfa_code', tenantId: r.tenant.id });
    const codesPage = await submit(browser, codePage, 'sms-confirm-form', { code: codeIn(kept?.text ?? '') });
    expect(backupCodesOf(codesPage)).toHaveLength(10);
    expect((await dev.get(`/api/v1/tenants/${r.tenant.id}/users/${user.id}`)).body.data.mfa_enabled).toBe(
      true,
    );
  });
});
