import { sql } from 'kysely';
import * as client from 'openid-client';
import { describe, expect, it } from 'vitest';
import { deleteInBatches } from '../src/platform/housekeeping.js';
import { createSignInUser, passwordSignIn, signInRealm } from './helpers/sign-in.js';
import { useTestApp } from './helpers/test-app.js';

// Issue 13 follow-up: the housekeeping tasks of the tables that hold expiring rows, each run with
// `housekeeping.runAll([name])` after backdating rows; live rows survive.

const t = useTestApp({}, { live: true });
const db = () => t.database.db;
const run = (name: string) => t.app.scaikey.housekeeping.runAll([name]);
const past = sql<Date>`now() - interval '1 minute'`;

async function signedInUser(realm: Awaited<ReturnType<typeof signInRealm>>) {
  const user = await createSignInUser(t, realm.tenant);
  const { tokens } = await passwordSignIn(t, realm.config, user.email);
  return { user, tokens };
}

describe('deleteInBatches', () => {
  it('deletes batch after batch until one is short, and stops at the most batches of a run', async () => {
    let left = 1234;
    const take = async (size: number) => {
      const removed = Math.min(size, left);
      left -= removed;
      return removed;
    };
    expect(await deleteInBatches(take, { size: 500 })).toBe(1234);
    expect(left).toBe(0);
    left = 5000;
    expect(await deleteInBatches(take, { size: 100, maxBatches: 3 })).toBe(300);
  });
});

describe('housekeeping tasks', () => {
  it('mfa-challenges: removes expired challenges of every tenant, keeps open ones', async () => {
    const [one, two] = [await signInRealm(t), await signInRealm(t)];
    const a = await signedInUser(one);
    const b = await signedInUser(two);
    for (const { tokens } of [a, b]) {
      const started = await t.post('/api/v1/me/mfa/email/enable', undefined, { token: tokens.access_token });
      expect(started.status).toBe(202);
    }
    await db()
      .updateTable('mfa_challenges')
      .set({ expires_at: past })
      .where('user_id', '=', a.user.id)
      .execute();
    expect(await run('mfa-challenges')).toEqual({ 'mfa-challenges': 1 });
    const left = await db()
      .selectFrom('mfa_challenges')
      .select('user_id')
      .where('user_id', 'in', [a.user.id, b.user.id])
      .execute();
    expect(left).toEqual([{ user_id: b.user.id }]);
    // The open enrollment still works: its code arrives and is asked for.
    const confirm = await t.post(
      '/api/v1/me/mfa/email/confirm',
      { code: '000000' },
      { token: b.tokens.access_token },
    );
    expect(confirm.body.code).toBe('INVALID_MFA_CODE');
  });

  it('oidc-payloads: removes expired provider state, keeps live sessions, grants and refresh tokens', async () => {
    const realm = await signInRealm(t);
    const gone = await signedInUser(realm);
    const kept = await signedInUser(realm);
    const accountRows = (userId: string) =>
      db()
        .selectFrom('oidc_payloads')
        .select(['model', 'id'])
        .where(sql`payload->>'accountId'`, '=', userId)
        .execute();
    const goneRows = await accountRows(gone.user.id);
    expect(goneRows.map((row) => row.model)).toEqual(
      expect.arrayContaining(['Session', 'Grant', 'RefreshToken']),
    );
    const keptBefore = await accountRows(kept.user.id);
    await db()
      .updateTable('oidc_payloads')
      .set({ expires_at: past })
      .where(sql`payload->>'accountId'`, '=', gone.user.id)
      .execute();
    const removed = await run('oidc-payloads');
    expect(removed['oidc-payloads']).toBeGreaterThanOrEqual(goneRows.length);
    expect(await accountRows(gone.user.id)).toEqual([]);
    // The other user's state is whole: its session, grant and refresh token still work.
    const keptAfter = await accountRows(kept.user.id);
    expect(keptAfter).toEqual(
      expect.arrayContaining(keptBefore.filter((row) => row.model !== 'AuthorizationCode')),
    );
    const refreshed = await client.refreshTokenGrant(realm.config, kept.tokens.refresh_token as string);
    expect(refreshed.access_token).toBeTruthy();
    await expect(
      client.refreshTokenGrant(realm.config, gone.tokens.refresh_token as string),
    ).rejects.toMatchObject({
      error: 'invalid_grant',
    });
  });

  it('user-sessions: forgets ended and expired sessions after an hour, keeps live and young ones', async () => {
    const realm = await signInRealm(t);
    const user = await createSignInUser(t, realm.tenant);
    // Four browser sessions of one user.
    for (let i = 0; i < 4; i++) await passwordSignIn(t, realm.config, user.email);
    const rows = await db()
      .selectFrom('user_sessions')
      .select(['id', 'session_uid'])
      .where('user_id', '=', user.id)
      .orderBy('id')
      .execute();
    expect(rows).toHaveLength(4);
    const [ended, expired, idle, young] = rows as [
      (typeof rows)[0],
      (typeof rows)[0],
      (typeof rows)[0],
      (typeof rows)[0],
    ];
    // Ended (its provider session is gone) and expired sessions, inactive for two hours.
    await db()
      .deleteFrom('oidc_payloads')
      .where('model', '=', 'Session')
      .where('uid', '=', ended.session_uid)
      .execute();
    await db()
      .updateTable('oidc_payloads')
      .set({ expires_at: past })
      .where('model', '=', 'Session')
      .where('uid', '=', expired.session_uid)
      .execute();
    // A live session, idle for two hours; an ended one, active a minute ago (its row may be newer
    // than its provider session).
    await db()
      .deleteFrom('oidc_payloads')
      .where('model', '=', 'Session')
      .where('uid', '=', young.session_uid)
      .execute();
    await db()
      .updateTable('user_sessions')
      .set({ last_active_at: sql<Date>`now() - interval '2 hours'` })
      .where('id', 'in', [ended.id, expired.id, idle.id])
      .execute();
    const before = await t.get(`/api/v1/admin/sessions/?user_id=${user.id}`);
    expect(before.body.data.map((session: { id: string }) => session.id)).toEqual([idle.id]);

    expect(await run('user-sessions')).toEqual({ 'user-sessions': 2 });
    const left = await db()
      .selectFrom('user_sessions')
      .select('id')
      .where('user_id', '=', user.id)
      .orderBy('id')
      .execute();
    expect(left.map((row) => row.id)).toEqual([idle.id, young.id].sort());
    // What the sessions API shows is unchanged.
    const after = await t.get(`/api/v1/admin/sessions/?user_id=${user.id}`);
    expect(after.body.data).toEqual(before.body.data);
  });

  it('action-tokens: removes expired link tokens (used or not), keeps live and used-but-unexpired ones', async () => {
    const realm = await signInRealm(t);
    const users = [await signedInUser(realm), await signedInUser(realm), await signedInUser(realm)];
    for (const { tokens } of users) {
      const sent = await t.post('/api/v1/me/verify-email', undefined, { token: tokens.access_token });
      expect(sent.status).toBe(202);
    }
    const [expiredUnused, expiredUsed, live] = users.map(({ user }) => user.id) as [string, string, string];
    await db()
      .updateTable('user_action_tokens')
      .set({ expires_at: past })
      .where('user_id', '=', expiredUnused)
      .execute();
    await db()
      .updateTable('user_action_tokens')
      .set({ expires_at: past, used_at: past })
      .where('user_id', '=', expiredUsed)
      .execute();
    await db().updateTable('user_action_tokens').set({ used_at: past }).where('user_id', '=', live).execute();
    const sentAgain = await t.post('/api/v1/me/verify-email', undefined, {
      token: users[2]?.tokens.access_token,
    });
    expect(sentAgain.status).toBe(202);

    expect(await run('action-tokens')).toEqual({ 'action-tokens': 2 });
    const left = await db()
      .selectFrom('user_action_tokens')
      .select(['user_id', 'used_at'])
      .where('user_id', 'in', [expiredUnused, expiredUsed, live])
      .execute();
    expect(left).toHaveLength(2);
    expect(left.every((row) => row.user_id === live)).toBe(true);
  });
});
