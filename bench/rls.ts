/**
 * What row-level security would cost on PostgreSQL as a second tenancy guard (issue 12, item 1;
 * docs/adr/0010-tenancy-guard.md). Standalone: `npx tsx bench/rls.ts [--postgres-url URL]`,
 * see docs/performance.md ("Row-level security").
 *
 * It creates a throwaway database and a role that is neither superuser nor owner nor BYPASSRLS
 * (superusers and owners skip policies, so measuring as `postgres` would measure nothing), seeds a
 * `users` table shaped like ours (same columns, keys and indexes leading with tenant_id), and
 * measures the same two queries under four variants, interleaved round by round so that
 * background load on a shared machine hits every variant alike:
 *
 *   a   RLS disabled, the query alone (what the app does today, as a non-superuser)
 *   t   RLS disabled, inside BEGIN; query; COMMIT — a transaction the request might open anyway
 *   a'  RLS disabled, inside BEGIN; set_config(…, true); query; COMMIT — the round trips of (b)
 *       without the policy, to tell the cost of the transaction from the cost of the policy
 *   b   RLS enabled + FORCE, the tenant set per request with set_config(…, true) in a transaction
 *   d   as (b), but `BEGIN; select set_config('…', <literal>, true)` sent as one simple-protocol
 *       message: the round trips of (t), i.e. what (b) costs when the request's transaction is
 *       opened anyway (the unit of work of issue 12, item 3) and the setting rides along with BEGIN
 *   c   RLS enabled + FORCE, the tenant set with set_config(…, false) on the checked-out
 *       connection, then the query (no transaction; session-level, unsafe with a pool: see the ADR)
 *
 * The database and the role are dropped at the end, also after a failure.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { LatencyRecorder, type Measurement } from './stats.js';

const HELP = `Usage: npx tsx bench/rls.ts [options]

  --postgres-url URL   a superuser (it creates a database and a role, and drops both at the end)
                       (default: $BENCH_POSTGRES_URL or postgres://postgres@127.0.0.1:5432/postgres)
  --rows N             rows in the users table (default: 100000)
  --tenants N          tenants the rows are spread over (default: 10)
  --rounds N           rounds; every variant is measured once per round, best of N kept (default: 7)
  --seconds S          seconds per variant per round (default: 3)
  --pool N             connections in the pg Pool (default: 8)
  --concurrency N      requests in flight at once (default: 50)
`;

const { values } = parseArgs({
  options: {
    'postgres-url': { type: 'string' },
    rows: { type: 'string' },
    tenants: { type: 'string' },
    rounds: { type: 'string' },
    seconds: { type: 'string' },
    pool: { type: 'string' },
    concurrency: { type: 'string' },
    help: { type: 'boolean' },
  },
});

function positive(name: string, fallback: number, integerOnly = true): number {
  const raw = values[name as keyof typeof values];
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || (integerOnly && !Number.isInteger(value))) {
    throw new Error(`--${name} must be a ${integerOnly ? 'whole ' : ''}number > 0, got "${String(raw)}"`);
  }
  return value;
}

const ADMIN_URL =
  values['postgres-url'] ?? process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const ROWS = positive('rows', 100_000);
const TENANTS = positive('tenants', 10);
const ROUNDS = positive('rounds', 7);
const SECONDS = positive('seconds', 3, false);
const POOL = positive('pool', 8);
const CONCURRENCY = positive('concurrency', 50);

const suffix = `${process.pid}_${Date.now()}`;
const DATABASE = `scaikey_rls_bench_${suffix}`;
const ROLE = `scaikey_rls_bench_${suffix}`;
const PASSWORD = randomBytes(18).toString('base64url');

/** The users table of src/platform/db/migrations (0001_initial, 0002, 0003), without its foreign keys. */
const SCHEMA = [
  `create table users (
    tenant_id text not null,
    id text not null,
    email text not null,
    username text,
    first_name text,
    last_name text,
    display_name text,
    phone text,
    locale text not null default 'en',
    timezone text not null default 'UTC',
    password_hash text,
    password_changed_at timestamptz,
    password_history jsonb not null default '[]',
    require_password_change boolean not null default false,
    status text not null default 'ACTIVE',
    status_reason text,
    identity_source text not null default 'LOCAL',
    email_verified boolean not null default false,
    avatar_url text,
    ou_id text,
    mfa_enabled boolean not null default false,
    failed_login_attempts integer not null default 0,
    locked_until timestamptz,
    last_login_at timestamptz,
    custom_attributes jsonb,
    created_at timestamptz not null default now(),
    updated_at timestamptz,
    deleted_at timestamptz,
    primary key (tenant_id, id)
  )`,
  `create unique index users_email_live_key on users (tenant_id, lower(email)) where deleted_at is null`,
  `create index users_ou_idx on users (tenant_id, ou_id) where deleted_at is null`,
  `create index users_created_idx on users (tenant_id, created_at desc, id desc) where deleted_at is null`,
  `create index users_deleted_idx on users (tenant_id, id) where deleted_at is not null`,
  `create unique index users_id_key on users (id)`,
  `create index users_email_sort_idx on users (tenant_id, email, id) where deleted_at is null`,
  `create index users_display_name_sort_idx on users (tenant_id, display_name, id) where deleted_at is null`,
  `create index users_last_login_sort_idx on users (tenant_id, last_login_at, id) where deleted_at is null`,
  `create index users_status_idx on users (tenant_id, status, created_at desc, id desc) where deleted_at is null`,
  // The policy exists throughout; `enable` / `disable row level security` switches it on and off
  // between variants, so that every variant reads the same table, indexes and cached pages.
  `create policy tenant_isolation on users
     using (tenant_id = current_setting('scaikey.tenant_id', true))
     with check (tenant_id = current_setting('scaikey.tenant_id', true))`,
];

const tenantId = (index: number) => `tnt_${String(index).padStart(4, '0')}`;
const userId = (index: number) => `usr_${String(index).padStart(8, '0')}`;

const SEED = `insert into users (tenant_id, id, email, display_name, first_name, last_name, password_hash,
    status, last_login_at, created_at)
  select 'tnt_' || lpad((i % $2)::text, 4, '0'), 'usr_' || lpad(i::text, 8, '0'),
    'user' || i || '@example.com', 'User ' || i, 'First' || i, 'Last' || i,
    '$argon2id$v=19$m=19456,t=2,p=1$' || md5(i::text) || '$' || md5((i * 7)::text),
    'ACTIVE', now() - (i % 1000) * interval '1 hour', now() - i * interval '1 minute'
  from generate_series(0, $1 - 1) as i`;

const COLUMNS = 'tenant_id, id, email, display_name, status, created_at, updated_at';
const POINT = `select ${COLUMNS} from users where tenant_id = $1 and id = $2 and deleted_at is null`;
const LIST = `select ${COLUMNS} from users where tenant_id = $1 and deleted_at is null
  order by created_at desc, id desc limit 20`;

type Query = { name: string; text: string; params: (tenant: string, user: number) => unknown[] };
const QUERIES: Query[] = [
  { name: 'point lookup', text: POINT, params: (tenant, user) => [tenant, userId(user)] },
  { name: 'list (20 newest)', text: LIST, params: (tenant) => [tenant] },
];

type Variant = {
  key: string;
  label: string;
  rls: boolean;
  run: (client: pg.PoolClient, query: Query, tenant: string, user: number) => Promise<number>;
};

const SET_LOCAL = `select set_config('scaikey.tenant_id', $1, true)`;
const SET_SESSION = `select set_config('scaikey.tenant_id', $1, false)`;

async function inTransaction(client: pg.PoolClient, query: Query, tenant: string, user: number) {
  await client.query('begin');
  try {
    await client.query(SET_LOCAL, [tenant]);
    const result = await client.query(query.text, query.params(tenant, user));
    await client.query('commit');
    return result.rowCount ?? 0;
  } catch (error) {
    await client.query('rollback');
    throw error;
  }
}

const VARIANTS: Variant[] = [
  {
    key: 'a',
    label: 'RLS off, query alone',
    rls: false,
    run: async (client, query, tenant, user) =>
      (await client.query(query.text, query.params(tenant, user))).rowCount ?? 0,
  },
  {
    key: 't',
    label: 'RLS off, BEGIN+query+COMMIT',
    rls: false,
    run: async (client, query, tenant, user) => {
      await client.query('begin');
      try {
        const result = await client.query(query.text, query.params(tenant, user));
        await client.query('commit');
        return result.rowCount ?? 0;
      } catch (error) {
        await client.query('rollback');
        throw error;
      }
    },
  },
  { key: "a'", label: 'RLS off, BEGIN+set_config(local)+query+COMMIT', rls: false, run: inTransaction },
  { key: 'b', label: 'RLS on, BEGIN+set_config(local)+query+COMMIT', rls: true, run: inTransaction },
  {
    key: 'd',
    label: "RLS on, 'BEGIN; set_config(local)'+query+COMMIT",
    rls: true,
    run: async (client, query, tenant, user) => {
      // One message, two statements (simple protocol; no parameters there, hence the escaped literal).
      await client.query(
        `begin; select set_config('scaikey.tenant_id', ${client.escapeLiteral(tenant)}, true)`,
      );
      try {
        const result = await client.query(query.text, query.params(tenant, user));
        await client.query('commit');
        return result.rowCount ?? 0;
      } catch (error) {
        await client.query('rollback');
        throw error;
      }
    },
  },
  {
    key: 'c',
    label: 'RLS on, set_config(session)+query',
    rls: true,
    run: async (client, query, tenant, user) => {
      await client.query(SET_SESSION, [tenant]);
      return (await client.query(query.text, query.params(tenant, user))).rowCount ?? 0;
    },
  },
];

/** `CONCURRENCY` loops, each checking a connection out of `pool` per request, for `seconds`. */
async function measure(pool: pg.Pool, variant: Variant, query: Query, seconds: number): Promise<Measurement> {
  const recorder = new LatencyRecorder();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let operations = 0;
  let request = 0;
  const loop = async () => {
    while (performance.now() < deadline) {
      const n = request++;
      const user = (n * 7919) % ROWS;
      const tenant = tenantId(user % TENANTS);
      const begin = performance.now();
      const client = await pool.connect();
      let rows: number;
      try {
        rows = await variant.run(client, query, tenant, user);
      } finally {
        client.release();
      }
      if (rows === 0) throw new Error(`${variant.key} / ${query.name}: no rows for ${tenant}`);
      recorder.add(performance.now() - begin);
      operations++;
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, loop));
  return recorder.summarize(operations, (performance.now() - started) / 1000);
}

/** The policy does what it is for, and the session-level variant's hazard is real (printed). */
async function checkGuard(pool: pg.Pool): Promise<string[]> {
  const notes: string[] = [];
  const client = await pool.connect();
  try {
    const own = tenantId(1);
    const foreign = tenantId(2);
    const unset = await client.query(POINT, [own, userId(1)]);
    notes.push(`RLS on, no tenant set: ${unset.rowCount} rows (fails closed)`);
    await client.query('begin');
    await client.query(SET_LOCAL, [own]);
    const crossing = await client.query(POINT, [foreign, userId(2)]);
    const mine = await client.query(POINT, [own, userId(1)]);
    await client.query('commit');
    notes.push(
      `RLS on, tenant ${own} set locally: own row ${mine.rowCount}, ${foreign}'s row ${crossing.rowCount}`,
    );
    const afterCommit = await client.query(POINT, [own, userId(1)]);
    notes.push(`after COMMIT, the local setting is gone: ${afterCommit.rowCount} rows`);
    await client.query('begin');
    await client.query(SET_LOCAL, [own]);
    for (const query of QUERIES) {
      const plan = await client.query<{ 'QUERY PLAN': string }>(
        `explain ${query.text}`,
        query.params(own, 1),
      );
      notes.push(
        `plan of the ${query.name} under RLS:\n    ${plan.rows.map((row) => row['QUERY PLAN']).join('\n    ')}`,
      );
    }
    await client.query('commit');
    await client.query(SET_SESSION, [foreign]);
  } finally {
    client.release();
  }
  // The next request on the same connection (max 1 idle client here: the one just released) that
  // forgets to set the tenant reads with the previous request's tenant instead of reading nothing.
  const next = await pool.connect();
  try {
    const leaked = await next.query(POINT, [tenantId(2), userId(2)]);
    notes.push(
      `session-level setting of ${tenantId(2)} survives release to the pool: the next checkout that sets ` +
        `nothing still reads ${leaked.rowCount} row(s) of ${tenantId(2)}`,
    );
    await next.query(`select set_config('scaikey.tenant_id', '', false)`);
  } finally {
    next.release();
  }
  return notes;
}

const median = (numbers: number[]) => {
  const sorted = [...numbers].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[middle] ?? 0) : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
};
const fixed = (value: number, digits = 1) => value.toFixed(digits);
const pad = (text: string, width: number) => text.padEnd(width);
const padLeft = (text: string, width: number) => text.padStart(width);

async function main(): Promise<void> {
  if (values.help) {
    process.stdout.write(HELP);
    return;
  }
  const admin = new pg.Client({ connectionString: ADMIN_URL });
  await admin.connect();
  const benchUrl = new URL(ADMIN_URL);
  benchUrl.pathname = `/${DATABASE}`;
  const ownerUrl = benchUrl.toString();
  benchUrl.username = ROLE;
  benchUrl.password = PASSWORD;
  let created = false;
  let roleCreated = false;
  try {
    const loadavg = (await import('node:os')).loadavg();
    process.stderr.write(
      `load average ${loadavg.map((l) => l.toFixed(2)).join(' ')}; ${ROWS} rows over ${TENANTS} tenants, ` +
        `pool ${POOL}, ${CONCURRENCY} in flight, ${ROUNDS} rounds of ${SECONDS}s per variant\n`,
    );
    await admin.query(`create database ${DATABASE}`);
    created = true;
    await admin.query(`create role ${ROLE} login nosuperuser nobypassrls password '${PASSWORD}'`);
    roleCreated = true;

    const owner = new pg.Client({ connectionString: ownerUrl });
    await owner.connect();
    try {
      const version = await owner.query<{ server_version: string }>('show server_version');
      process.stderr.write(`PostgreSQL ${version.rows[0]?.server_version}\n`);
      for (const statement of SCHEMA) await owner.query(statement);
      const seeded = performance.now();
      await owner.query(SEED, [ROWS, TENANTS]);
      await owner.query('vacuum analyze users');
      process.stderr.write(`seeded in ${fixed((performance.now() - seeded) / 1000)} s\n`);
      await owner.query(`grant select on users to ${ROLE}`);
      await owner.query('alter table users enable row level security');
      await owner.query('alter table users force row level security');

      const checkPool = new pg.Pool({ connectionString: benchUrl.toString(), max: 1 });
      try {
        for (const note of await checkGuard(checkPool)) process.stderr.write(`check: ${note}\n`);
      } finally {
        await checkPool.end();
      }

      const pool = new pg.Pool({ connectionString: benchUrl.toString(), max: POOL });
      let rlsOn = true;
      const setRls = async (on: boolean) => {
        if (on === rlsOn) return;
        await owner.query(`alter table users ${on ? 'enable' : 'disable'} row level security`);
        rlsOn = on;
      };
      try {
        // Warm-up: every connection opened, every page read, every plan shape seen once.
        for (const variant of VARIANTS) {
          await setRls(variant.rls);
          for (const query of QUERIES) await measure(pool, variant, query, 1);
        }
        const results = new Map<string, Measurement[]>();
        for (let round = 1; round <= ROUNDS; round++) {
          // Alternate the order of the variants every round (a t a' b d c, then c d b a' t a), so that no
          // variant always runs right after the same one.
          const order = round % 2 ? VARIANTS : [...VARIANTS].reverse();
          const line: string[] = [];
          for (const variant of order) {
            await setRls(variant.rls);
            for (const query of QUERIES) {
              const measured = await measure(pool, variant, query, SECONDS);
              const key = `${query.name}|${variant.key}`;
              results.set(key, [...(results.get(key) ?? []), measured]);
              line.push(`${variant.key}/${query.name.split(' ')[0]} ${Math.round(measured.rate)}`);
            }
          }
          process.stderr.write(`round ${round}: ${line.join(', ')}\n`);
        }
        process.stdout.write(`\n${report(results)}\n`);
      } finally {
        await pool.end();
      }
    } finally {
      await owner.end();
    }
  } finally {
    if (created) await admin.query(`drop database if exists ${DATABASE} with (force)`);
    if (roleCreated) await admin.query(`drop role if exists ${ROLE}`);
    await admin.end();
  }
}

/** One table per query: best round by rate, its percentiles, the ratio of bests and the median per-round ratio. */
function report(results: Map<string, Measurement[]>): string {
  const lines: string[] = [];
  for (const query of QUERIES) {
    const baseline = results.get(`${query.name}|a`) ?? [];
    const best = (series: Measurement[]) =>
      series.reduce((top, m) => (m.rate > top.rate ? m : top), series[0] as Measurement);
    const bestBaseline = best(baseline);
    lines.push(`${query.name} (best of ${ROUNDS} rounds)`);
    lines.push(
      `${pad('variant', 50)} ${padLeft('req/s', 8)} ${padLeft('p50 ms', 7)} ${padLeft('p99 ms', 7)} ` +
        `${padLeft('vs a', 7)} ${padLeft('median', 7)}`,
    );
    for (const variant of VARIANTS) {
      const series = results.get(`${query.name}|${variant.key}`) ?? [];
      const top = best(series);
      const perRound = series.map((m, index) => m.rate / (baseline[index]?.rate ?? m.rate));
      lines.push(
        `${pad(`${variant.key.padEnd(3)}${variant.label}`, 50)} ${padLeft(String(Math.round(top.rate)), 8)} ` +
          `${padLeft(fixed(top.p50, 2), 7)} ${padLeft(fixed(top.p99, 2), 7)} ` +
          `${padLeft(`${fixed((100 * top.rate) / bestBaseline.rate)}%`, 7)} ` +
          `${padLeft(`${fixed(100 * median(perRound))}%`, 7)}`,
      );
    }
    lines.push('');
  }
  lines.push(
    'vs a: best rate / best rate of a; median: median over rounds of rate / rate of a in the same round',
  );
  return lines.join('\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`bench/rls failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
