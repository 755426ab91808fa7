import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  batchAdapterWrites,
  createOidcAdapterClass,
} from '../src/protocols/oauth/oidc-adapter.repository.js';
import { TestBrowser } from './helpers/browser.js';
import {
  authorizationRequest,
  createSignInUser,
  PASSWORD,
  passwordSignIn,
  passwordSignInCallback,
  type SignInRealm,
  signInRealm,
} from './helpers/sign-in.js';
import { useTestApp } from './helpers/test-app.js';

/**
 * Issue 17: the statements one hosted sign-in makes through the HTTP API, step by step (authorize,
 * the login page, the password POST, the resume), counted where they reach the database driver
 * (this file's process runs the server). Only statements on oidc-provider's rows and the tenant's
 * identity providers are counted: background work (webhook fan-out, housekeeping) may run at any
 * time, these come only from the request.
 */
const seen: string[] = [];
let counting = false;
const note = (query: unknown) => {
  if (!counting) return;
  const text = typeof query === 'string' ? query : (query as { text?: string } | null)?.text;
  if (typeof text === 'string') seen.push(text.replace(/\s+/g, ' ').trim());
};
const pgQuery = pg.Client.prototype.query;
pg.Client.prototype.query = function countedQuery(this: pg.Client, ...args: unknown[]) {
  note(args[0]);
  return (pgQuery as (...a: unknown[]) => unknown).apply(this, args);
} as typeof pg.Client.prototype.query;
const pgliteQuery = PGlite.prototype.query;
PGlite.prototype.query = function countedQuery(this: PGlite, ...args: unknown[]) {
  note(args[0]);
  return (pgliteQuery as (...a: unknown[]) => unknown).apply(this, args);
} as typeof PGlite.prototype.query;

/** The statements that reached the driver while `run` ran (its own, and any background work's). */
async function recorded(run: () => Promise<unknown>): Promise<string[]> {
  seen.length = 0;
  counting = true;
  try {
    await run();
  } finally {
    counting = false;
  }
  return [...seen];
}

/** The counted statements of `run`: oidc_payloads by kind, and reads of identity providers. */
async function statementsOf(run: () => Promise<unknown>) {
  const statements = await recorded(run);
  const payloads = statements.filter(
    (text) => /\boidc_payloads\b/.test(text) && !/expires_at" < now\(\)/.test(text),
  );
  const kind = (pattern: RegExp) => payloads.filter((text) => pattern.test(text)).length;
  return {
    reads: kind(/^select/i),
    writes: kind(/^insert/i),
    deletes: kind(/^delete/i),
    identityProviderReads: statements.filter((text) => /from "identity_providers"/.test(text)).length,
  };
}

/** Reads of the applications table (the client) while `run` runs. */
async function applicationReadsOf(run: () => Promise<unknown>) {
  return (await recorded(run)).filter((text) => /^select .*from "applications"/i.test(text)).length;
}

/**
 * The request's own statements on the rate-limit counters (not the housekeeping sweep) and on the
 * users table, as they reached the driver.
 */
async function writesOf(run: () => Promise<unknown>) {
  const statements = await recorded(run);
  return {
    rateLimits: statements.filter(
      (text) =>
        /^(insert into|update|with) "?rate_limits"?|\brate_limits\b/i.test(text) && !/^delete/i.test(text),
    ),
    users: statements.filter((text) => /\bupdate "?users"?\b/i.test(text)),
    /** Reads of an account by its email that are statements of their own. */
    accountReads: statements.filter((text) =>
      /^select [\s\S]*from "?users"?[\s\S]*lower\(.?email.?\)/i.test(text),
    ),
    factorReads: statements.filter((text) => /from "mfa_factors"/.test(text)).length,
  };
}

const t = useTestApp({}, { live: true });
let realm: SignInRealm;
let user: { email: string };

beforeAll(async () => {
  realm = await signInRealm(t);
  user = await createSignInUser(t, realm.tenant);
});

describe('statements of a hosted sign-in (issue 17)', () => {
  it('authorize, login page, password, resume: one round trip for what each step reads or writes', async () => {
    const browser = new TestBrowser(t.origin);
    const request = await authorizationRequest(realm.config);

    // The client is read from the applications table; the interaction is stored.
    let answer = { status: 0, body: '', url: '', location: null as string | null };
    expect(
      await statementsOf(async () => {
        answer = await browser.request(request.url);
      }),
    ).toEqual({ reads: 0, writes: 1, deletes: 0, identityProviderReads: 0 });
    expect(answer.status).toBe(303);
    const pageUrl = new URL(answer.location as string, request.url).href;

    let page = { status: 0, body: '', url: pageUrl, location: null as string | null };
    expect(
      await statementsOf(async () => {
        page = await browser.request(pageUrl);
      }),
    ).toEqual({ reads: 1, writes: 0, deletes: 0, identityProviderReads: 1 });
    expect(page.status).toBe(200);

    // The password POST: the interaction read once (not again to store its result), the
    // identity providers once (home realm and directory steps share them), the result stored.
    const action = /<form method="post" action="([^"]*)"/.exec(page.body)?.[1] as string;
    const csrf = /<input type="hidden" name="csrf" value="([^"]*)">/.exec(page.body)?.[1] as string;
    expect(
      await statementsOf(async () => {
        answer = await browser.request(new URL(action.replace(/&amp;/g, '&'), pageUrl).href, {
          form: { csrf, email: user.email, password: PASSWORD },
        });
      }),
    ).toEqual({ reads: 1, writes: 1, deletes: 0, identityProviderReads: 1 });
    expect(answer.status).toBe(303);

    // The resume: the interaction read and removed; grant, session and code in one statement.
    const resumeUrl = new URL(answer.location as string, pageUrl).href;
    expect(
      await statementsOf(async () => {
        answer = await browser.request(resumeUrl);
      }),
    ).toEqual({ reads: 1, writes: 1, deletes: 1, identityProviderReads: 0 });
    expect(answer.status).toBe(303);

    // What the one statement wrote is all there: the code is exchanged, and the session signs
    // the same browser in again without a form.
    const tokens = await request.tokens(answer.location);
    expect(tokens.access_token).toBeTruthy();
    expect(tokens.refresh_token).toBeTruthy();
    const again = await authorizationRequest(realm.config);
    const silent = await browser.follow(again.url);
    expect(silent.location).toContain('code=');
    expect((await again.tokens(silent.location)).access_token).toBeTruthy();
  });
});

describe('writes of the password POST (issue 17)', () => {
  it('count both failure limits in one statement and give them back in one; the sign-in and its audit are one statement', async () => {
    const someone = await createSignInUser(t, realm.tenant);
    const read = async () =>
      (await t.get(`/api/v1/tenants/${realm.tenant.id}/users/${someone.id}`)).body.data;
    expect((await read()).last_login_at).toBeNull(); // now kept in the row cache

    const browser = new TestBrowser(t.origin);
    const request = await authorizationRequest(realm.config);
    const page = await browser.follow(request.url);
    let done = { location: null as string | null };
    const writes = await writesOf(async () => {
      done = await browser.submitForm(page, { email: someone.email, password: PASSWORD });
      // The counters are given back once the answer has left (onResponse): wait for that statement.
      await vi.waitFor(
        () => expect(seen.filter((text) => /^update rate_limits/i.test(text))).toHaveLength(1),
        {
          timeout: 10_000,
        },
      );
    });
    expect(done.location).toContain('code=');
    // One upsert of both counters (address and account), one update giving both back.
    expect(writes.rateLimits).toHaveLength(2);
    expect(writes.rateLimits[0]).toMatch(/^with hit as .*insert into rate_limits/i);
    expect(writes.rateLimits[1]).toMatch(/^update rate_limits .* any\(/i);
    // The account found by its email and the attempt reserved before the hash in one statement,
    // then the sign-in: its user row and audit row together.
    expect(writes.users).toHaveLength(2);
    expect(writes.users[0]).toMatch(
      /^with account as \(\s*select \* from users[\s\S]*reserved as \(\s*update users/i,
    );
    expect(writes.accountReads).toEqual([]);
    expect(writes.users[1]).toMatch(/^with signed_in as \(update users .*insert into audit_events/i);
    // A user without a second factor (mfa_enabled false): no factors to read.
    expect(writes.factorReads).toBe(0);

    // This instance answers the write at once (its kept copy was dropped), and the audit says so.
    const after = await read();
    expect(after.last_login_at).not.toBeNull();
    expect(Date.parse(after.last_login_at)).toBeGreaterThan(Date.now() - 60_000);
    const audit = await t.database.db
      .selectFrom('audit_events')
      .select(['action', 'result'])
      .where('resource_id', '=', someone.id)
      .where('action', '=', 'user.login')
      .execute();
    expect(audit).toEqual([{ action: 'user.login', result: 'SUCCESS' }]);
    const events = await t.database.db
      .selectFrom('event_outbox')
      .select('type')
      .where('resource_id', '=', someone.id)
      .where('type', '=', 'user.login')
      .execute();
    expect(events).toHaveLength(1);
  });

  it('a wrong password stays counted on both limits; the right one then resets the account count', async () => {
    const someone = await createSignInUser(t, realm.tenant);
    const browser = new TestBrowser(t.origin);
    const request = await authorizationRequest(realm.config);
    const page = await browser.follow(request.url);
    const wrong = await browser.submitForm(page, { email: someone.email, password: 'not the password' });
    expect(wrong.status).toBe(401);
    const counters = await t.database.db.selectFrom('rate_limits').select(['key', 'hits']).execute();
    const account = counters.filter((row) => row.key.startsWith('signInFailuresPerAccount:'));
    expect(account.some((row) => Number(row.hits) >= 1)).toBe(true);
    const row = await t.database.db
      .selectFrom('users')
      .select('failed_login_attempts')
      .where('id', '=', someone.id)
      .executeTakeFirstOrThrow();
    expect(row.failed_login_attempts).toBe(1);

    const right = await browser.submitForm(wrong, { email: someone.email, password: PASSWORD });
    expect(right.location).toContain('code=');
    const reset = await t.database.db
      .selectFrom('users')
      .select(['failed_login_attempts', 'last_login_at'])
      .where('id', '=', someone.id)
      .executeTakeFirstOrThrow();
    expect(reset.failed_login_attempts).toBe(0);
    expect(reset.last_login_at).not.toBeNull();
  });
});

describe('the client of a sign-in (issue 17)', () => {
  it('comes from the client cache on every step, and a change to the application applies at the next sign-in', async () => {
    const someone = await createSignInUser(t, realm.tenant);
    await passwordSignIn(t, realm.config, someone.email); // the client is kept from here on
    // authorize, the login page, the password POST (assignment check), the resume, the exchange.
    expect(await applicationReadsOf(() => passwordSignIn(t, realm.config, someone.email))).toBe(0);

    // Only assigned users now: the next sign-in reads the changed client and is refused.
    const changed = await t.patch(`/api/v1/admin/applications/${realm.web.id}`, {
      assignment_required: true,
    });
    expect(changed.status).toBe(200);
    try {
      const { callback } = await passwordSignInCallback(t, realm.config, someone.email);
      const answer = new URL(callback as string);
      expect(answer.searchParams.get('error')).toBe('access_denied');
      expect(answer.searchParams.get('code')).toBeNull();
    } finally {
      expect(
        (await t.patch(`/api/v1/admin/applications/${realm.web.id}`, { assignment_required: false })).status,
      ).toBe(200);
    }
    // And back: signs in again.
    expect((await passwordSignIn(t, realm.config, someone.email)).tokens.access_token).toBeTruthy();
  });
});

describe('adapter upserts batched per provider request', () => {
  const Adapter = () => createOidcAdapterClass(t.database.db);

  it('are written when the request has run, the last upsert of a row counting', async () => {
    const Grant = Adapter();
    const grants = new Grant('Grant');
    const sessions = new Grant('Session');
    const written = await statementsOf(() =>
      batchAdapterWrites(t.database.db, async () => {
        await grants.upsert('batch-grant-1', { accountId: 'first', kind: 'Grant' }, 60);
        await grants.upsert('batch-grant-1', { accountId: 'second', kind: 'Grant' }, 60);
        await sessions.upsert('batch-session-1', { uid: 'batch-uid-1', kind: 'Session' }, 60);
      }),
    );
    expect(written).toMatchObject({ reads: 0, writes: 1 });
    expect(await grants.find('batch-grant-1')).toMatchObject({ accountId: 'second' });
    expect(await sessions.findByUid('batch-uid-1')).toMatchObject({ kind: 'Session' });
  });

  it('are written before any other adapter call of the same request, which then sees them', async () => {
    const Model = Adapter();
    const codes = new Model('AuthorizationCode');
    const found = await batchAdapterWrites(t.database.db, async () => {
      await codes.upsert('batch-code-1', { grantId: 'batch-grant-2', kind: 'AuthorizationCode' }, 60);
      const before = await codes.find('batch-code-1');
      await codes.consume('batch-code-1');
      const consumed = await codes.find('batch-code-1');
      await codes.upsert('batch-code-2', { grantId: 'batch-grant-2', kind: 'AuthorizationCode' }, 60);
      await codes.revokeByGrantId('batch-grant-2');
      return { before, consumed, revoked: await codes.find('batch-code-2') };
    });
    expect(found.before).toMatchObject({ grantId: 'batch-grant-2' });
    expect(found.before?.consumed).toBeUndefined();
    expect(found.consumed?.consumed).toEqual(expect.any(Number));
    // Written before the revocation, so revoked with the grant.
    expect(found.revoked).toBeUndefined();
    expect(await codes.find('batch-code-2')).toBeUndefined();
  });

  it('after the request has answered are written at once', async () => {
    const Model = Adapter();
    const tokens = new Model('RefreshToken');
    let late: Promise<void> = Promise.resolve();
    await batchAdapterWrites(t.database.db, async () => {
      // Work the request started and did not wait for (it runs in the request's async context).
      late = new Promise((resolve) => setImmediate(resolve)).then(() =>
        tokens.upsert('batch-late-1', { kind: 'RefreshToken' }, 60),
      );
    });
    await late;
    expect(await new Model('RefreshToken').find('batch-late-1')).toMatchObject({ kind: 'RefreshToken' });
  });
});
