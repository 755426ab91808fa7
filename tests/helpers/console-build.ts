import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const consoleRoot = join(root, 'console');
const stampFile = join(consoleRoot, 'dist', '.source-digest');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? sourceFiles(path) : [path];
  });
}

/** A digest of everything the console's build reads. */
function consoleSourceDigest(): string {
  const hash = createHash('sha256');
  const files = [
    ...sourceFiles(join(consoleRoot, 'src')),
    ...sourceFiles(join(consoleRoot, 'public')),
    join(consoleRoot, 'index.html'),
    join(consoleRoot, 'vite.config.ts'),
    join(consoleRoot, 'package.json'),
  ].sort();
  for (const file of files) hash.update(file).update(readFileSync(file));
  return hash.digest('hex');
}

/**
 * Builds the console into console/dist unless the build there is of the current sources (the
 * browser tests serve what `npm run build` would). Called once per run by the global setup.
 */
export function ensureConsoleBuilt(): void {
  const digest = consoleSourceDigest();
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === digest) return;
  const vite = join(root, 'node_modules', 'vite', 'bin', 'vite.js');
  // NODE_ENV=production as under `npm run build`: vitest's NODE_ENV=test would make Vite bundle
  // React's development build.
  execFileSync(process.execPath, [vite, 'build', '--logLevel', 'warn'], {
    cwd: consoleRoot,
    stdio: 'inherit',
    env: { ...process.env, NODE_ENV: 'production' },
  });
  mkdirSync(join(consoleRoot, 'dist'), { recursive: true });
  writeFileSync(stampFile, digest);
}
