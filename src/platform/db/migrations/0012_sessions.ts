import { type Kysely, sql } from 'kysely';

/**
 * Sessions (issue 13): what ScaiKey knows of a sign-in session beside oidc-provider's own record
 * (`oidc_payloads`, model `Session`, whose id is the session cookie's value and never leaves the
 * server).
 *
 * - `user_sessions`: one row per session, written by the tenant's provider when a session signs in
 *   or is used (src/protocols/oauth/oidc-provider.ts): the session's public id (`ses_…`), its user
 *   and tenant, the browser's address and user agent at sign-in, the last authorization through it.
 *   Joined to oidc-provider's record by the session's `uid` (a random name the library keeps for
 *   the session's whole life; it is not the cookie).
 * - Sessions signed in before this migration get their row here (no address or user agent).
 * - `oidc_payloads_account_idx`: a user's sessions, grants and tokens by `accountId` (revoking a
 *   user's sessions, listing the applications a user authorized) without reading the whole table.
 */
const statements = [
  `create table user_sessions (
    tenant_id text not null,
    id text not null,
    user_id text not null,
    session_uid text not null,
    ip_address text,
    user_agent text,
    created_at timestamptz not null default now(),
    last_active_at timestamptz not null default now(),
    primary key (tenant_id, id),
    constraint user_sessions_user_fkey foreign key (tenant_id, user_id) references users (tenant_id, id)
  )`,
  `create unique index user_sessions_uid_key on user_sessions (tenant_id, session_uid)`,
  `create index user_sessions_user_idx on user_sessions (tenant_id, user_id, last_active_at desc)`,
  `create index user_sessions_activity_idx on user_sessions (tenant_id, last_active_at desc, id desc)`,
  `create index oidc_payloads_account_idx on oidc_payloads ((payload->>'accountId'))`,
  // md5 is hexadecimal: 20 of its characters are a valid session id ([0-9a-z]{20}).
  `insert into user_sessions (tenant_id, id, user_id, session_uid)
    select u.tenant_id, 'ses_' || substr(md5(p.uid || random()::text), 1, 20), u.id, p.uid
    from oidc_payloads p
    join users u on u.id = p.payload->>'accountId'
    where p.model = 'Session' and p.uid is not null`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('Migrations are not reverted');
}
