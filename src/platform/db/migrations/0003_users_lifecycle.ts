import { type Kysely, sql } from 'kysely';

/** Users issue: lookups by id across tenants, sort indexes, single-use link tokens, the mail outbox. */
const statements = [
  // Admin routes address a user by id alone; ids are globally unique.
  `create unique index users_id_key on users (id)`,
  `create index users_email_sort_idx on users (tenant_id, email, id) where deleted_at is null`,
  `create index users_display_name_sort_idx on users (tenant_id, display_name, id) where deleted_at is null`,
  `create index users_last_login_sort_idx on users (tenant_id, last_login_at, id) where deleted_at is null`,
  `create index users_status_idx on users (tenant_id, status, created_at desc, id desc) where deleted_at is null`,

  `create table user_action_tokens (
    tenant_id text not null,
    id text not null,
    user_id text not null,
    purpose text not null check (purpose in ('INVITATION', 'PASSWORD_RESET')),
    token_digest text not null,
    redirect_uri text,
    expires_at timestamptz not null,
    used_at timestamptz,
    created_at timestamptz not null default now(),
    primary key (tenant_id, id),
    constraint user_action_tokens_user_fkey foreign key (tenant_id, user_id) references users (tenant_id, id)
  )`,
  `create unique index user_action_tokens_digest_key on user_action_tokens (token_digest)`,
  `create index user_action_tokens_user_idx on user_action_tokens (tenant_id, user_id, purpose)`,

  `create table email_outbox (
    id text primary key,
    tenant_id text,
    recipient text not null,
    subject text not null,
    text_body text not null,
    html_body text,
    kind text not null,
    status text not null default 'PENDING' check (status in ('PENDING', 'SENT', 'LOGGED', 'FAILED')),
    attempts integer not null default 0,
    last_error text,
    created_at timestamptz not null default now(),
    sent_at timestamptz
  )`,
  `create index email_outbox_pending_idx on email_outbox (created_at) where status = 'PENDING'`,
  `create index email_outbox_tenant_idx on email_outbox (tenant_id, created_at desc)`,
];

export async function up(db: Kysely<unknown>): Promise<void> {
  for (const statement of statements) await sql.raw(statement).execute(db);
}

export async function down(): Promise<void> {
  throw new Error('Migrations are not reverted');
}
