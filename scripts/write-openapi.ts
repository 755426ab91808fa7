import { writeFileSync } from 'node:fs';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/platform/config.js';
import { openDatabase } from '../src/platform/db/database.js';

// Writes docs/openapi.json from the routes (an in-memory database; nothing is kept).
const config = { ...loadConfig({}), publicUrl: 'http://127.0.0.1:8080', logLevel: 'silent' as const };
const database = await openDatabase({ kind: 'pglite', dataDir: null });
const app = await buildApp(config, { database });
await app.ready();
writeFileSync(
  new URL('../docs/openapi.json', import.meta.url),
  `${JSON.stringify(app.swagger(), null, 2)}\n`,
);
await app.close();
await database.close();
console.log('docs/openapi.json written');
