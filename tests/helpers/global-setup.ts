import { randomBytes } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { migrateToLatest, openDatabase } from '../../src/platform/db/database.js';
import { buildInitialDatabase } from '../../src/platform/db/initial-database.js';
import { ensureConsoleBuilt } from './console-build.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** PGlite: path of a dumped, migrated data folder. PostgreSQL: name of a migrated template database. */
    databaseTemplate: string;
    /** Prefix of every database this run creates (PostgreSQL only). */
    databaseRunId: string;
  }
}

/** Builds one migrated database for the whole run; every test file starts from a copy of it. */
export default async function setup(project: TestProject) {
  // The browser tests serve the built console (a second or two when its sources changed).
  ensureConsoleBuilt();
  const runId = `sk_${process.pid}_${randomBytes(3).toString('hex')}`;
  const url = process.env.TEST_DATABASE_URL;
  project.provide('databaseRunId', runId);
  if (!url) {
    const dump = await buildInitialDatabase();
    const path = join(tmpdir(), `${runId}.tar`);
    writeFileSync(path, Buffer.from(await dump.arrayBuffer()));
    project.provide('databaseTemplate', path);
    return () => rmSync(path, { force: true });
  }

  const template = `${runId}_template`;
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  await admin.query(`create database "${template}"`);
  const templateUrl = new URL(url);
  templateUrl.pathname = `/${template}`;
  const database = await openDatabase({ kind: 'postgres', url: templateUrl.toString() });
  await migrateToLatest(database.db);
  await database.close();
  project.provide('databaseTemplate', template);
  return async () => {
    const { rows } = await admin.query<{ datname: string }>(
      'select datname from pg_database where datname like $1',
      [`${runId}%`],
    );
    for (const { datname } of rows) await admin.query(`drop database if exists "${datname}" with (force)`);
    await admin.end();
  };
}
