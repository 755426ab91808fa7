import { Migrator, sql } from 'kysely';
import { newId } from '../src/lib/ids.js';
import { hashPassword } from '../src/lib/passwords.js';
import { sha256Hex } from '../src/lib/secrets.js';
import { type Db, migrateToLatest } from '../src/platform/db/database.js';
import { migrations } from '../src/platform/db/migrations/index.js';
import { SecretBox } from '../src/platform/secret-box.js';
import {
  type DatasetPlan,
  datasetCounts,
  feedEventCount,
  generateMemberships,
  generateUsers,
  type TenantPlan,
} from './dataset.js';

/**
 * The schema the rows are written into: the tables they fill are those of the initial migration.
 * Every later migration then runs over the seeded data, exactly as on an installation that
 * upgrades, and derives what it derives (e.g. the group closure of 0002) from those rows.
 */
export const SEED_SCHEMA = '0001_initial';

/** The one password every seeded user with a password has (login scenarios of later issues use it). */
export const BENCH_USER_PASSWORD = 'Bench-password-1!';

/**
 * The users of the first tenant the sign-in scenarios use, from its active users with a password:
 * the first 200 sign in with the password alone (oidc.sign-in, oidc.refresh; at most half of them
 * on a tiny dataset), the next 2,000 with a password and TOTP (oidc.sign-in-totp). A TOTP time
 * step is accepted once per user, so at the argon2id ceiling of one core (~40 sign-ins/s) that
 * many users keep each user's sign-ins about 30 s apart (the scenario also uses the next step).
 */
export function signInUsers(plan: DatasetPlan): {
  password: { id: string; email: string }[];
  totp: { id: string; email: string }[];
} {
  const tenant = plan.tenants[0] as TenantPlan;
  const eligible = [...generateUsers(plan, tenant)]
    .filter((user) => user.status === 'ACTIVE' && user.hasPassword)
    .map((user) => ({ id: user.id, email: user.email }));
  const passwordOnly = Math.min(200, Math.ceil(eligible.length / 2));
  return {
    password: eligible.slice(0, passwordOnly),
    totp: eligible.slice(passwordOnly, passwordOnly + 2_000),
  };
}

/** The TOTP seed (base32) of a bench user, derived from its id: the scenario computes its codes. */
export function benchTotpSecret(userId: string): string {
  const bytes = Buffer.from(sha256Hex(`bench-totp:${userId}`).slice(0, 40), 'hex');
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const byte of bytes) bits += byte.toString(2).padStart(8, '0');
  let out = '';
  for (let i = 0; i + 5 <= bits.length; i += 5) out += alphabet[Number.parseInt(bits.slice(i, i + 5), 2)];
  return out;
}

/** A confirmed TOTP factor (sealed seed, as enrollment stores it) for each of `totpUsers`. */
async function seedTotpFactors(db: Db, plan: DatasetPlan): Promise<void> {
  const tenant = plan.tenants[0] as TenantPlan;
  const box = await SecretBox.open(db);
  const users = signInUsers(plan).totp;
  await inBatches(users, OTHER_BATCH, async (batch) => {
    await db
      .insertInto('mfa_factors')
      .values(
        batch.map((user) => {
          const id = newId('mfaFactor');
          return {
            tenant_id: tenant.id,
            id,
            user_id: user.id,
            factor_type: 'TOTP' as const,
            label: 'Authenticator app',
            secret: box.seal(benchTotpSecret(user.id), id),
            confirmed_at: new Date(),
          };
        }),
      )
      .execute();
    await db
      .updateTable('users')
      .set({ mfa_enabled: true })
      .where('tenant_id', '=', tenant.id)
      .where(
        'id',
        'in',
        batch.map((user) => user.id),
      )
      .execute();
  });
}

/**
 * The change feed of the first tenant (issue 14, scenario events.feed): `feedEventCount` events in
 * the outbox, as `user.updated` events of its users carrying the user's row (what an update's
 * event carries: the row after the change, `previous` what it replaced), one transaction per
 * 1,000 (so they come from 50 transactions, as a feed sees many). The webhook fan-out cursor is
 * then moved past them, as migration 0015 does on a new installation: they are history, no
 * endpoint is owed them (and the dispatcher does not read 50,000 events when the server starts).
 */
async function seedFeedEvents(db: Db, plan: DatasetPlan): Promise<void> {
  const tenant = plan.tenants[0] as TenantPlan;
  const count = feedEventCount(plan.shape);
  const users = [...generateUsers(plan, tenant)];
  const rows = Array.from({ length: count }, (_, index) => {
    const user = users[index % users.length] as (typeof users)[number];
    return {
      id: newId('event'),
      type: 'user.updated',
      tenant_id: tenant.id,
      partner_id: plan.partner.id,
      resource_type: 'user',
      resource_id: user.id,
      actor_type: 'application',
      actor_id: null,
      request_id: null,
      data: JSON.stringify({
        id: user.id,
        tenant_id: tenant.id,
        email: user.email,
        username: user.username,
        first_name: user.firstName,
        last_name: user.lastName,
        display_name: `${user.displayName} (${index})`,
        status: user.status,
        email_verified: user.emailVerified,
        ou_id: user.ouId,
        previous: { display_name: user.displayName },
      }),
    };
  });
  await inBatches(rows, OTHER_BATCH, (batch) =>
    db.transaction().execute((trx) => trx.insertInto('event_outbox').values(batch).execute()),
  );
  await sql`update webhook_fanout set
    txid = (select txid from event_outbox order by txid desc, seq desc limit 1),
    seq = (select seq from event_outbox order by txid desc, seq desc limit 1),
    updated_at = now()
    where id = 1`.execute(db);
}

const USER_BATCH = 1_000;
const MEMBERSHIP_BATCH = 5_000;
const OTHER_BATCH = 1_000;

export interface SeedReport {
  /** How the rows went in; docs/performance.md describes it. */
  method: string;
  seconds: number;
  rows: Record<string, number>;
}

async function inBatches<T>(rows: Iterable<T>, size: number, insert: (batch: T[]) => Promise<unknown>) {
  let batch: T[] = [];
  for (const row of rows) {
    batch.push(row);
    if (batch.length >= size) {
      await insert(batch);
      batch = [];
    }
  }
  if (batch.length > 0) await insert(batch);
}

async function seedTenant(db: Db, plan: DatasetPlan, tenant: TenantPlan, passwordHash: string) {
  await db.transaction().execute(async (trx) => {
    await trx
      .insertInto('tenants')
      .values({
        id: tenant.id,
        partner_id: plan.partner.id,
        name: tenant.name,
        slug: tenant.slug,
        status: 'ACTIVE',
        contact_email: `admin@${tenant.slug}.bench.example`,
        settings: '{}',
        branding: '{}',
      })
      .execute();

    // One confidential WEB application per tenant, for the sign-in scenarios (issue 7).
    await trx
      .insertInto('applications')
      .values({
        id: tenant.webApp.id,
        scope: 'TENANT',
        partner_id: plan.partner.id,
        tenant_id: tenant.id,
        application_type: 'WEB',
        name: `Bench web app ${tenant.index + 1}`,
        description: null,
        client_secret_digest: sha256Hex(tenant.webApp.secret),
        redirect_uris: JSON.stringify([tenant.webApp.redirectUri]),
        allowed_scopes: JSON.stringify(['openid', 'profile', 'email', 'offline_access']),
      })
      .execute();

    // Parents come before children in the plan, so the self-referencing keys hold batch by batch.
    await inBatches(tenant.ous, OTHER_BATCH, (batch) =>
      trx
        .insertInto('ous')
        .values(
          batch.map((ou) => ({
            tenant_id: tenant.id,
            id: ou.id,
            parent_id: ou.parentId,
            name: ou.name,
            description: null,
            path: ou.path,
            depth: ou.depth,
          })),
        )
        .execute(),
    );

    await inBatches(generateUsers(plan, tenant), USER_BATCH, (batch) =>
      trx
        .insertInto('users')
        .values(
          batch.map((user) => ({
            tenant_id: tenant.id,
            id: user.id,
            email: user.email,
            username: user.username,
            first_name: user.firstName,
            last_name: user.lastName,
            display_name: user.displayName,
            phone: null,
            password_hash: user.hasPassword ? passwordHash : null,
            password_changed_at: user.hasPassword ? user.createdAt : null,
            status: user.status,
            status_reason: null,
            email_verified: user.emailVerified,
            avatar_url: null,
            ou_id: user.ouId,
            locked_until: null,
            last_login_at: user.lastLoginAt,
            created_at: user.createdAt,
          })),
        )
        .execute(),
    );

    await inBatches(tenant.groups, OTHER_BATCH, (batch) =>
      trx
        .insertInto('groups')
        .values(
          batch.map((group) => ({
            tenant_id: tenant.id,
            id: group.id,
            name: group.name,
            description: null,
            parent_group_id: group.parentId,
          })),
        )
        .execute(),
    );

    await inBatches(tenant.groupEdges, OTHER_BATCH, (batch) =>
      trx
        .insertInto('group_edges')
        .values(
          batch.map((edge) => ({
            tenant_id: tenant.id,
            parent_group_id: edge.parentId,
            child_group_id: edge.childId,
            kind: edge.kind,
          })),
        )
        .execute(),
    );

    await inBatches(generateMemberships(plan, tenant), MEMBERSHIP_BATCH, (batch) =>
      trx
        .insertInto('group_memberships')
        .values(
          batch.map((membership) => ({
            tenant_id: tenant.id,
            group_id: membership.groupId,
            user_id: membership.userId,
          })),
        )
        .execute(),
    );
  });
}

async function migrateTo(db: Db, target: string): Promise<void> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const { error, results } = await migrator.migrateTo(target);
  const failed = results?.find((result) => result.status === 'Error');
  if (error || failed) throw new Error(`Migration to ${target} failed: ${String(error)}`);
}

/**
 * Seeds a fresh (empty) database: migrates it to SEED_SCHEMA, writes the dataset with multi-row
 * INSERTs in batches (one transaction per tenant) through the project's own Kysely handle (`pg`
 * on PostgreSQL, the PGlite driver on PGlite), then applies the remaining migrations. Ends with
 * VACUUM ANALYZE so that the planner and index-only scans see the data as a long-running
 * installation would, and a CHECKPOINT so that writing the load out does not overlap the
 * measurements.
 */
export async function seedDataset(
  db: Db,
  plan: DatasetPlan,
  engine: 'pglite' | 'postgres',
): Promise<SeedReport> {
  const started = performance.now();
  await migrateTo(db, SEED_SCHEMA);
  // One argon2id hash (our parameters) shared by all users: hashing 100,000 passwords would take an hour.
  const passwordHash = await hashPassword(BENCH_USER_PASSWORD);
  await db
    .insertInto('partners')
    .values({
      id: plan.partner.id,
      name: plan.partner.name,
      slug: plan.partner.slug,
      status: 'ACTIVE',
      contact_email: null,
      max_tenants: null,
      max_users_per_tenant: null,
      max_applications_per_tenant: null,
    })
    .execute();
  for (const tenant of [...plan.tenants, plan.writeTenant]) await seedTenant(db, plan, tenant, passwordHash);
  await migrateToLatest(db);
  await seedTotpFactors(db, plan);
  await seedFeedEvents(db, plan);
  await sql`vacuum analyze`.execute(db);
  // Flush the load now, so that the checkpointer does not write it out during the measurements.
  await sql`checkpoint`.execute(db).catch(() => {
    // CHECKPOINT needs superuser or pg_checkpoint; without it the flush happens later, as it would anyway.
  });
  const batches = `${USER_BATCH} users / ${MEMBERSHIP_BATCH} memberships a statement`;
  const inserts = `bulk multi-row INSERTs (${batches})`;
  const then = `into schema ${SEED_SCHEMA}, then the later migrations`;
  return {
    method:
      engine === 'postgres'
        ? `${inserts} through pg ${then}`
        : `${inserts} through PGlite in a bench process before the server starts, ${then}`,
    seconds: (performance.now() - started) / 1000,
    rows: { partners: 1, ...datasetCounts(plan) },
  };
}
