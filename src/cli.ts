import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './platform/config.js';
import { openConfiguredDatabase, StartupError } from './platform/db/configured.js';
import { DataDirLockedError } from './platform/db/data-dir-lock.js';
import { migrateToLatest } from './platform/db/database.js';
import { INITIAL_DATABASE_FILE, writeInitialDatabase } from './platform/db/initial-database.js';
import { DEFAULT_RETIRED_KEY_OVERLAP_SECONDS, KeyStore, rotateSigningKey } from './platform/keys.js';

const USAGE = `Usage: scaikey keys rotate [--overlap-seconds N]
       scaikey initial-database

  keys rotate   Make a new signing key active. The old key stays in the JWKS (and valid for
                verification) for --overlap-seconds (default ${DEFAULT_RETIRED_KEY_OVERLAP_SECONDS}, the longest
                token lifetime), so tokens it signed keep working until they expire. Running
                instances pick the new key up at once (PostgreSQL NOTIFY).

  initial-database
                Make dist/initial-database.tar, the empty migrated PGlite database a first
                start unpacks instead of running initdb (npm run build does this; it is
                skipped when an up-to-date one exists).

keys rotate uses the same environment as the server (DATABASE_URL or SCAIKEY_DATA_DIR). With the embedded
PGlite database, stop the server first: one process at a time may open the data folder, and keys rotate
is refused while a server holds it.`;

const OPTIONS = { 'overlap-seconds': { type: 'string' } } as const;
const OVERLAP_ERROR = '--overlap-seconds must be a whole number of seconds';

/** The command and its options, or the exit code of a misuse (its message already printed). */
function parse(
  args: string[],
): { command: 'initial-database' } | { command: 'keys rotate'; overlap: number } | number {
  let parsed: ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>;
  try {
    parsed = parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    // A value missing after --overlap-seconds, or one that looks like an option (-1).
    if ((error as { code?: string }).code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      console.error(OVERLAP_ERROR);
      return 2;
    }
    console.error(USAGE); // an unknown option
    return 2;
  }
  const command = parsed.positionals.join(' ');
  if (command === 'initial-database' && args.length === 1) return { command };
  if (command !== 'keys rotate') {
    console.error(USAGE);
    return 2;
  }
  const given = parsed.values['overlap-seconds'];
  if (given === undefined) return { command, overlap: DEFAULT_RETIRED_KEY_OVERLAP_SECONDS };
  const overlap = Number(given);
  if (!Number.isInteger(overlap) || overlap < 0) {
    console.error(OVERLAP_ERROR);
    return 2;
  }
  return { command, overlap };
}

async function main(args: string[]): Promise<number> {
  const parsed = parse(args);
  if (typeof parsed === 'number') return parsed;
  if (parsed.command === 'initial-database') {
    // Quiet when up to date: npm start runs the build (and so this) every time.
    if (await writeInitialDatabase())
      console.log(`Wrote ${INITIAL_DATABASE_FILE} (the first start's database)`);
    return 0;
  }
  const { overlap } = parsed;
  const config = loadConfig();
  const database = await openConfiguredDatabase(config, {
    onRetry: (reason, waitMs) => console.error(`${reason}; trying again in ${waitMs} ms`),
  });
  try {
    await migrateToLatest(database.db);
    await KeyStore.open(database.db);
    const { newKid, retiredKids } = await rotateSigningKey(database.db, overlap);
    console.log(`New active signing key: ${newKid}`);
    for (const kid of retiredKids) console.log(`Retired (published for ${overlap} s more): ${kid}`);
    return 0;
  } finally {
    await database.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(
      error instanceof ConfigError || error instanceof DataDirLockedError || error instanceof StartupError
        ? error.message
        : error,
    );
    process.exit(1);
  },
);
