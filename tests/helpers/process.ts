import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect } from 'node:net';
import { freePort, TEST_CLIENT_ID, TEST_CLIENT_SECRET } from './test-app.js';

/** A ScaiKey entry point (or a test script) run from source in its own process, as `npm start` would. */
export interface ChildScript {
  child: ChildProcess;
  /** Everything it wrote so far, stdout and stderr. */
  output(): string;
  /** Its exit code (null when a signal ended it), once it has exited and its output is complete. */
  exited: Promise<number | null>;
  /** Resolves once the output matches `pattern`; rejects when the process exits first. */
  waitForOutput(pattern: RegExp): Promise<void>;
}

/** Runs `script` (a path from the repository root) with tsx, as the package scripts run the build. */
export function spawnScript(script: string, args: string[], env: Record<string, string>): ChildScript {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  const append = (chunk: Buffer) => {
    output += chunk;
  };
  child.stdout?.on('data', append);
  child.stderr?.on('data', append);
  const exited = once(child, 'close').then(([code]) => code as number | null);
  const waitForOutput = (pattern: RegExp) =>
    new Promise<void>((resolve, reject) => {
      const check = () => {
        if (!pattern.test(output)) return;
        stop();
        resolve();
      };
      const onClose = () => {
        stop();
        reject(new Error(`${script} exited before printing ${pattern}:\n${output}`));
      };
      const stop = () => {
        child.stdout?.off('data', check);
        child.stderr?.off('data', check);
        child.off('close', onClose);
      };
      // Registered after `append`, so each check sees the chunk that triggered it.
      child.stdout?.on('data', check);
      child.stderr?.on('data', check);
      child.once('close', onClose);
      check();
      if (child.exitCode !== null || child.signalCode !== null) onClose();
    });
  return { child, output: () => output, exited, waitForOutput };
}

export interface RunningServer extends ChildScript {
  /** http://127.0.0.1:<port> */
  base: string;
}

/**
 * Starts src/main.ts on a free port with the test bootstrap client; resolves once it listens and
 * has answered its readiness probe (as a load balancer would see it).
 */
export async function startServer(env: Record<string, string>): Promise<RunningServer> {
  const running = spawnServer(env, await freePort());
  await running.waitForOutput(/ScaiKey listening on/);
  const ready = await fetch(`${running.base}/readyz`);
  if (!ready.ok) throw new Error(`${running.base}/readyz answered ${ready.status}:\n${running.output()}`);
  return running;
}

/** Spawns src/main.ts on `port` without waiting for anything. */
export function spawnServer(env: Record<string, string>, port: number): RunningServer {
  const script = spawnScript('src/main.ts', [], {
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    SCAIKEY_BOOTSTRAP_CLIENT_ID: TEST_CLIENT_ID,
    SCAIKEY_BOOTSTRAP_CLIENT_SECRET: TEST_CLIENT_SECRET,
    ...env,
  });
  return { ...script, base: `http://127.0.0.1:${port}` };
}

/** A platform access token of the test bootstrap client, from a running server. */
export async function platformToken(base: string): Promise<string> {
  const response = await fetch(`${base}/api/v1/platform/oauth/token`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${TEST_CLIENT_ID}:${TEST_CLIENT_SECRET}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
    },
    body: 'grant_type=client_credentials&scope=admin:read admin:write',
  });
  return ((await response.json()) as { access_token: string }).access_token;
}

/** A request whose headers the server has in hand and whose body is not yet sent (`requestInFlight`). */
export interface RequestInFlight {
  /** Sends more bytes on the connection: the rest of the body, or a pipelined request after it. */
  write(text: string): void;
  /** Everything the server answered so far (the `100 Continue` first). */
  received(): string;
  /** Resolves when the server closes the connection. */
  closed: Promise<unknown>;
  /** The answers split at each status line: [`100 Continue`, the request's answer, …]. */
  answers(): string[];
}

/**
 * Opens a raw connection to `origin` and sends a POST's headers with `Expect: 100-continue`;
 * resolves once the server has answered `100 Continue`, that is once it has the request in hand
 * (a shutdown from now on must finish it). Waits on the server's bytes, never on the clock.
 */
export async function requestInFlight(
  origin: string,
  request: { path: string; contentLength: number; headers?: Record<string, string> },
): Promise<RequestInFlight> {
  const url = new URL(origin);
  const socket = connect(Number(url.port), url.hostname);
  await once(socket, 'connect');
  const closed = once(socket, 'close');
  let received = '';
  const continued = new Promise<void>((resolve, reject) => {
    socket.on('data', (chunk) => {
      received += chunk;
      if (received.includes('100 Continue')) resolve();
    });
    const early = () => reject(new Error(`closed before 100 Continue: ${received}`));
    closed.then(early, early);
  });
  const extra = Object.entries(request.headers ?? {})
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  socket.write(
    `POST ${request.path} HTTP/1.1\r\nHost: ${url.host}\r\n${extra}Content-Type: application/json\r\n` +
      `Content-Length: ${request.contentLength}\r\nExpect: 100-continue\r\n\r\n`,
  );
  await continued;
  return {
    write: (text) => socket.write(text),
    received: () => received,
    closed,
    answers: () => received.split(/(?=HTTP\/1\.1 )/),
  };
}
