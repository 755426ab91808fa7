import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DataDirLockedError, lockDataDir } from '../../src/platform/db/data-dir-lock.js';

/**
 * A process that locks a data folder for tests/data-lock.test.ts: `data-lock-child.ts <folder>
 * [initialize]`. It prints "ready", tries the lock on the first line of its stdin, prints
 * "locked <pid>" (then holds the lock until stdin ends, releases it and exits 0) or
 * "refused: <message>" (and exits 3). With `initialize` a first start fills the folder with a
 * file naming this process.
 */
const [dataDir, mode] = process.argv.slice(2) as [string, string | undefined];
const initialize = (folder: string) => {
  writeFileSync(join(folder, 'filled-by'), String(process.pid));
  return true;
};

process.stdin.once('data', () => {
  try {
    const lock = lockDataDir(dataDir, mode === 'initialize' ? { initialize } : {});
    process.stdout.write(`locked ${process.pid}\n`);
    process.stdin.once('end', () => {
      lock.release();
      process.exit(0);
    });
  } catch (error) {
    if (!(error instanceof DataDirLockedError)) throw error;
    process.stdout.write(`refused: ${error.message}\n`);
    process.exit(3);
  }
});
process.stdout.write('ready\n');
