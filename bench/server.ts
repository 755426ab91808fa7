import { type ChildProcess, spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { RATE_LIMITS } from '../src/platform/config.js';
import {
  cpuSeconds,
  type MemoryBreakdown,
  memoryBreakdown,
  nodeFlags,
  pinned,
  processMemory,
  repoRoot,
  serverEntry,
  serverNodeFlags,
  track,
} from './processes.js';
import type { Storage } from './references.js';

export interface ServerOptions {
  storage: Storage;
  client: { id: string; secret: string };
  cpu: string | null;
  port: number;
  /** Give up when /readyz has not answered 200 by then. */
  readyTimeoutMs?: number;
  /** More ScaiKey settings for this server (e.g. a bootstrap admin). */
  env?: Record<string, string>;
}

export interface RunningServer {
  pid: number;
  baseUrl: string;
  /** From spawning the process to the first 200 from /readyz. */
  readyMs: number;
  /** CPU seconds the process used until then (/proc/<pid>/stat), null where unreadable. */
  readyCpuSeconds: number | null;
  /** What the server printed (for failures). */
  output(): string;
  memory(): { rssMb: number; peakRssMb: number | null };
  /** Resident memory by kind (anonymous, file, shared) and threads, null where unreadable. */
  memoryBreakdown(): MemoryBreakdown | null;
  /** SIGTERM (clean shutdown), SIGKILL if it has not exited within 10 s. */
  stop(): Promise<void>;
}

/** A free TCP port on the loopback interface. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

/** The server's environment: the parent's, less any ScaiKey setting, plus the bench's. */
function serverEnv(options: ServerOptions): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (key.startsWith('SCAIKEY_') || key === 'DATABASE_URL' || key === 'PORT' || key === 'HOST') continue;
    if (key.startsWith('VITEST') || key === 'NODE_OPTIONS') continue;
    env[key] = value;
  }
  const baseUrl = `http://127.0.0.1:${options.port}`;
  Object.assign(env, {
    PORT: String(options.port),
    HOST: '127.0.0.1',
    SCAIKEY_PUBLIC_URL: baseUrl,
    SCAIKEY_BOOTSTRAP_CLIENT_ID: options.client.id,
    SCAIKEY_BOOTSTRAP_CLIENT_SECRET: options.client.secret,
    LOG_LEVEL: 'warn',
    // The webhook scenarios (issue 14) deliver to a receiver on 127.0.0.1, which the SSRF check
    // refuses unless private targets are allowed: allowed here, in the bench server only.
    SCAIKEY_WEBHOOK_ALLOW_PRIVATE: 'true',
  });
  // All load comes from one address, far beyond the per-IP rate limits: raise every limit out of
  // reach. They are still counted (with the same 100-hit leases as the defaults), so the bench
  // measures their cost (docs/performance.md).
  for (const [variable] of Object.values(RATE_LIMITS)) env[variable] = '1000000000/1m';
  Object.assign(env, options.env);
  if (options.storage.kind === 'postgres') env.DATABASE_URL = options.storage.url;
  else env.SCAIKEY_DATA_DIR = options.storage.dataDir;
  return env;
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

/** Starts ScaiKey as its own process (pinned when `cpu` is set) and waits for /readyz. */
export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const baseUrl = `http://127.0.0.1:${options.port}`;
  const [command, args] = pinned(options.cpu, process.execPath, [
    ...serverNodeFlags(),
    ...nodeFlags(),
    serverEntry,
  ]);
  const started = performance.now();
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: serverEnv(options),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  track(child);
  let output = '';
  const append = (chunk: Buffer) => {
    output = (output + chunk.toString('utf8')).slice(-20_000);
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);

  const deadline = started + (options.readyTimeoutMs ?? 60_000);
  let readyMs: number | null = null;
  while (readyMs === null) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(
        `ScaiKey exited with ${child.signalCode ?? child.exitCode} before it was ready:\n${output}`,
      );
    }
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`ScaiKey was not ready within ${options.readyTimeoutMs ?? 60_000} ms:\n${output}`);
    }
    try {
      const response = await fetch(`${baseUrl}/readyz`);
      await response.arrayBuffer();
      if (response.status === 200) readyMs = performance.now() - started;
    } catch {
      // Not listening yet.
    }
    if (readyMs === null) await sleep(20);
  }

  const pid = child.pid as number;
  const readyCpuSeconds = cpuSeconds(pid);
  return {
    pid,
    baseUrl,
    readyMs,
    readyCpuSeconds,
    output: () => output,
    memory: () => processMemory(pid),
    memoryBreakdown: () => memoryBreakdown(pid),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited(child);
      clearTimeout(killer);
    },
  };
}
