import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const benchDir = dirname(fileURLToPath(import.meta.url));
const extension = extname(fileURLToPath(import.meta.url));

/** True under tsx or vitest (bench/*.ts), false when compiled (dist/bench/*.js). */
export const fromSource = extension === '.ts';

function findRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`No package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

/** The repository root (where package.json is). */
export const repoRoot = findRoot(benchDir);

/** The server entry matching how the bench runs: src/main.ts through tsx, or dist/src/main.js. */
export const serverEntry = fromSource
  ? join(repoRoot, 'src', 'main.ts')
  : join(repoRoot, 'dist', 'src', 'main.js');
const workerEntry = join(benchDir, `worker${extension}`);

/**
 * The Node flags `npm start` gives the server (the `--` options of package.json's start script,
 * e.g. `--max-semi-space-size`), so that the bench measures the server as it is started;
 * `BENCH_SERVER_NODE_FLAGS` (space-separated, may be empty) replaces them for an A/B comparison.
 */
export function serverNodeFlags(): string[] {
  const override = process.env.BENCH_SERVER_NODE_FLAGS;
  if (override !== undefined) return override.split(/\s+/).filter(Boolean);
  const manifest = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  return (manifest.scripts.start ?? '').split(/\s+/).filter((word) => word.startsWith('--'));
}

/** Node flags for running our files: TypeScript from source needs the tsx loader. */
export function nodeFlags(): string[] {
  return fromSource ? ['--import', 'tsx'] : [];
}

/** Which CPU the server, and which the load generator, are pinned to (taskset, util-linux). */
export interface Pinning {
  serverCpu: string | null;
  loadCpu: string | null;
  description: string;
}

/**
 * Server on CPU 0, load generator on CPU 1, when taskset works and there are two CPUs or more;
 * else nothing is pinned (and the table says so).
 */
export function detectPinning(enabled = true): Pinning {
  const count = cpus().length;
  if (!enabled) return { serverCpu: null, loadCpu: null, description: 'not pinned (--no-pin)' };
  if (count < 2) return { serverCpu: null, loadCpu: null, description: `not pinned (${count} CPU)` };
  const probe = spawnSync('taskset', ['-c', '0', 'true'], { stdio: 'ignore' });
  if (probe.error || probe.status !== 0) {
    return { serverCpu: null, loadCpu: null, description: 'not pinned (taskset not available)' };
  }
  return {
    serverCpu: '0',
    loadCpu: '1',
    description: 'taskset: server and reference measurements on CPU 0, load generator on CPU 1',
  };
}

/** Prefixes a command with `taskset -c CPU` when a CPU is given. */
export function pinned(cpu: string | null, command: string, args: string[]): [string, string[]] {
  return cpu === null ? [command, args] : ['taskset', ['-c', cpu, command, ...args]];
}

/** The machine, for the report: CPU model, CPU count, memory, Node version. */
export function machineInfo() {
  let cpuModel = cpus()[0]?.model ?? 'unknown';
  try {
    const match = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (match?.[1]) cpuModel = match[1].trim();
  } catch {
    // Not Linux: os.cpus() is good enough.
  }
  return {
    cpus: cpus().length,
    cpuModel,
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    platform: `${process.platform} ${process.arch}`,
  };
}

/** Resident set size and its peak of a process, in MB (Linux /proc; `ps` elsewhere, without the peak). */
export function processMemory(pid: number): { rssMb: number; peakRssMb: number | null } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s*(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
    return { rssMb: kb('VmRSS') / 1024, peakRssMb: kb('VmHWM') / 1024 };
  } catch {
    const ps = spawnSync('ps', ['-o', 'rss=', '-p', String(pid)], { encoding: 'utf8' });
    return { rssMb: Number(ps.stdout.trim()) / 1024, peakRssMb: null };
  }
}

/** Clock ticks per second of /proc's CPU times (`getconf CLK_TCK`, 100 almost everywhere). */
const clockTicks = (() => {
  const probe = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
  const value = Number(probe.stdout?.trim());
  return Number.isFinite(value) && value > 0 ? value : 100;
})();

/** CPU seconds (user + system, all threads) a process used so far (Linux /proc; null elsewhere). */
export function cpuSeconds(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command (which may hold spaces) in parentheses: utime and stime are 14 and 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clockTicks;
  } catch {
    return null;
  }
}

/**
 * Seconds one CPU (`cpu`, e.g. "0") has been busy so far, whatever ran on it: user, nice, system,
 * irq, softirq and steal of its /proc/stat line (idle and iowait left out). Null where unreadable.
 */
export function cpuBusySeconds(cpu: string): number | null {
  try {
    const line = new RegExp(`^cpu${cpu} (.+)$`, 'm').exec(readFileSync('/proc/stat', 'utf8'))?.[1];
    if (!line) return null;
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).map(Number);
    const busy = [user, nice, system, irq, softirq, steal].reduce<number>(
      (sum, value) => sum + (value ?? 0),
      0,
    );
    return busy / clockTicks;
  } catch {
    return null;
  }
}

/** A process's resident memory by kind, MB (/proc/<pid>/status), and its thread count. */
export interface MemoryBreakdown {
  rssMb: number;
  anonMb: number;
  fileMb: number;
  shmemMb: number;
  threads: number;
}

/** VmRSS = RssAnon + RssFile + RssShmem of a process (Linux; null elsewhere). */
export function memoryBreakdown(pid: number): MemoryBreakdown | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const value = (field: string) => Number(new RegExp(`^${field}:\\s*(\\d+)`, 'm').exec(status)?.[1] ?? NaN);
    const breakdown = {
      rssMb: value('VmRSS') / 1024,
      anonMb: value('RssAnon') / 1024,
      fileMb: value('RssFile') / 1024,
      shmemMb: value('RssShmem') / 1024,
      threads: value('Threads'),
    };
    return Object.values(breakdown).every(Number.isFinite) ? breakdown : null;
  } catch {
    return null;
  }
}

/** A job for the worker process (bench/worker.ts defines them); sent over IPC as JSON. */
export interface WorkerJob {
  kind: string;
}

const children = new Set<ChildProcess>();

/** Ends child processes still running (the bench failed half-way); their ids only. */
export function killChildren(): void {
  for (const child of children) if (child.exitCode === null && child.pid) child.kill('SIGKILL');
}

/** Tracks a child so that a failed or interrupted bench does not leave it running. */
export function track(child: ChildProcess): void {
  children.add(child);
  child.once('exit', () => children.delete(child));
}

/** Runs one job in a fresh worker process pinned to `cpu`, and returns what it answers. */
export function runWorker<T>(cpu: string | null, job: WorkerJob): Promise<T> {
  const [command, args] = pinned(cpu, process.execPath, [...nodeFlags(), workerEntry]);
  const child = spawn(command, args, { cwd: repoRoot, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  track(child);
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    child.once('message', (message: { ok: boolean; result?: T; error?: string }) => {
      settled = true;
      if (message.ok) resolve(message.result as T);
      else reject(new Error(`bench worker (${job.kind}) failed: ${message.error}`));
    });
    child.once('error', (error) => {
      if (!settled) reject(error);
      settled = true;
    });
    child.once('exit', (code, signal) => {
      if (!settled)
        reject(new Error(`bench worker (${job.kind}) exited with ${signal ?? code} before answering`));
      settled = true;
    });
    child.send(job);
  });
}
