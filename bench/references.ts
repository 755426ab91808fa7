import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { hashPassword } from '../src/lib/passwords.js';
import type { MachineReferenceName, SqlQuery } from './scenario.js';
import { bestOf, type Measurement, measureAsync, measureSync } from './stats.js';

export type Storage = { kind: 'pglite'; dataDir: string } | { kind: 'postgres'; url: string };

/** One figure of the machine: what it is, at what concurrency, and the measurement. */
export interface ReferenceResult {
  name: string;
  description: string;
  concurrency: number;
  measurement: Measurement;
  /**
   * CPU ms per operation of the measuring process, when the whole reference runs in it (RS256,
   * argon2id and its threads, SQL on PGlite): the time one operation costs the machine whatever
   * else shares the CPU. Null for SQL on PostgreSQL (the database's own processes do the work).
   */
  cpuMsPerOp?: number | null;
}

export interface ReferenceSettings {
  seconds: number;
  warmupSeconds: number;
  /** In-flight queries for the SQL references: the scenarios' HTTP connection count. */
  concurrency: number;
  /** Connections of the `pg` pool: the server's own pool size, so both sides get the same. */
  poolSize: number;
  /** Measure this many times and keep the best. */
  repeat: number;
}

/** Adds `cpuMsPerOp` from the measurement's CPU, when the reference runs wholly in this process. */
function withCpu(result: ReferenceResult, inProcess: boolean): ReferenceResult {
  const { cpuSeconds, operations } = result.measurement;
  return {
    ...result,
    cpuMsPerOp:
      inProcess && cpuSeconds !== undefined && operations > 0 ? (cpuSeconds * 1000) / operations : null,
  };
}

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A signing input the size of a real platform client_credentials token. */
function tokenSigningInput(): Buffer {
  const header = { alg: 'RS256', typ: 'at+jwt', kid: 'x'.repeat(43) };
  const now = Math.floor(Date.now() / 1000);
  const payload = {
    jti: 'x'.repeat(21),
    iat: now,
    exp: now + 3600,
    iss: 'http://127.0.0.1:8080/api/v1/platform/oauth',
    sub: 'app_00000000000000000000',
    aud: 'app_00000000000000000000',
    client_id: 'app_00000000000000000000',
    scope: 'admin:read admin:write users:read groups:read',
    app_scope: 'GLOBAL',
    platform_token: true,
    token_type: 'client_credentials',
  };
  return Buffer.from(`${encode(header)}.${encode(payload)}`);
}

/** Raw RS256 (RSA-2048, the server's key size) signing and verifying on node:crypto, one thread. */
export async function measureCrypto(
  names: MachineReferenceName[],
  settings: ReferenceSettings,
): Promise<ReferenceResult[]> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const publicKey = createPublicKey(privateKey);
  const input = tokenSigningInput();
  const signature = sign('sha256', input, privateKey);
  const results: ReferenceResult[] = [];
  if (names.includes('rs256-sign')) {
    measureSync(settings.warmupSeconds, () => sign('sha256', input, privateKey));
    results.push({
      name: 'rs256-sign',
      description: 'node:crypto RS256 sign (RSA-2048) of a token-sized input, one thread',
      concurrency: 1,
      measurement: await bestOf(settings.repeat, () =>
        measureSync(settings.seconds, () => sign('sha256', input, privateKey)),
      ),
    });
  }
  if (names.includes('rs256-verify')) {
    measureSync(settings.warmupSeconds, () => verify('sha256', input, publicKey, signature));
    results.push({
      name: 'rs256-verify',
      description: 'node:crypto RS256 verify (RSA-2048), one thread',
      concurrency: 1,
      measurement: await bestOf(settings.repeat, () =>
        measureSync(settings.seconds, () => verify('sha256', input, publicKey, signature)),
      ),
    });
  }
  return results.map((result) => withCpu(result, true));
}

/** argon2id hashes per second at the parameters of src/lib/passwords.ts, one after another. */
export async function measureArgon2(settings: ReferenceSettings): Promise<ReferenceResult> {
  await hashPassword('correct horse battery staple');
  return withCpu(
    {
      name: 'argon2id-hash',
      description: 'argon2id hash at our parameters (src/lib/passwords.ts), one at a time',
      concurrency: 1,
      measurement: await bestOf(settings.repeat, () =>
        measureAsync(Math.max(settings.seconds, 0.2), 1, () => hashPassword('correct horse battery staple')),
      ),
    },
    true,
  );
}

/**
 * Each query as plain SQL, parameters in turn, `concurrency` in flight: through a `pg` pool of
 * the server's size on PostgreSQL; through PGlite itself on PGlite, with the data folder opened
 * here while the server is not running (it is a single-process database).
 */
export async function measureSql(
  storage: Storage,
  queries: SqlQuery[],
  settings: ReferenceSettings,
): Promise<ReferenceResult[]> {
  let run: (sql: string, params: unknown[]) => Promise<unknown>;
  let runRolledBack: (sql: string, params: unknown[]) => Promise<unknown>;
  let close: () => Promise<void>;
  let via: string;
  if (storage.kind === 'postgres') {
    const pool = new pg.Pool({ connectionString: storage.url, max: settings.poolSize });
    run = (sql, params) => pool.query(sql, params);
    runRolledBack = async (sql, params) => {
      const client = await pool.connect();
      try {
        await client.query('begin');
        await client.query(sql, params);
      } finally {
        await client.query('rollback').catch(() => {});
        client.release();
      }
    };
    close = () => pool.end();
    via = `pg, pool of ${settings.poolSize}`;
  } else {
    const pglite = new PGlite(storage.dataDir);
    await pglite.waitReady;
    run = (sql, params) => pglite.query(sql, params);
    runRolledBack = async (sql, params) => {
      let failure: unknown = null;
      await pglite
        .transaction(async (tx) => {
          await tx.query(sql, params).catch((error: unknown) => {
            failure = error;
          });
          await tx.rollback();
        })
        .catch(() => {});
      if (failure) throw failure;
    };
    close = () => pglite.close();
    via = 'PGlite in-process';
  }
  const results: ReferenceResult[] = [];
  try {
    for (const query of queries) {
      const exec = query.rollback ? runRolledBack : run;
      const operation = (index: number) => exec(query.sql, query.params[index % query.params.length] ?? []);
      const concurrency = query.concurrency ?? settings.concurrency;
      await operation(0);
      await measureAsync(settings.warmupSeconds, concurrency, operation);
      results.push({
        name: query.name,
        description: `${query.description} (${via}${query.rollback ? ', rolled back' : ''})`,
        concurrency,
        measurement: await bestOf(settings.repeat, () =>
          measureAsync(settings.seconds, concurrency, operation),
        ),
      });
    }
  } finally {
    await close();
  }
  return results.map((result) => withCpu(result, storage.kind === 'pglite'));
}
