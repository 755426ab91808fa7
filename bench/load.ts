import autocannon from 'autocannon';
import { countTokenBody, startWindow, type Usage } from './meter.js';
import type { LoadPlan } from './scenario.js';
import { LatencyRecorder, type Measurement } from './stats.js';

export interface LoadSettings {
  /** Concurrent HTTP connections (one request in flight on each). */
  connections: number;
  /** How long to measure, unless `amount` is set. */
  durationSeconds: number;
  /** A fixed number of requests instead of a duration. */
  amount: number | null;
  /** Load before measuring (not counted): JIT, caches and pools warm up. */
  warmupSeconds: number;
  /** Measure this many times and keep the best (highest rate). */
  repeat: number;
}

/** The measurement counts responses with the expected status only; the rest are listed here. */
export interface LoadResult extends Measurement {
  unexpected: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  /** A driven scenario's further figures (DriveResult.figures). */
  figures?: Record<string, number>;
  /** What the measured window used: server CPU, database work, … (bench/meter.ts). */
  usage?: Usage;
}

function options(baseUrl: string, plan: LoadPlan, connections: number, measured = false): autocannon.Options {
  const bodies = plan.bodies ?? [];
  let turn = 0;
  const rotates = plan.paths.length > 1 || bodies.length > 1;
  return {
    url: baseUrl,
    connections,
    pipelining: 1,
    timeout: 10,
    requests: [
      {
        method: plan.method,
        path: plan.paths[0] as string,
        headers: plan.headers ?? {},
        ...(bodies[0] !== undefined ? { body: bodies[0] } : {}),
        // Token answers of the measured part: the JWTs the server signed (bench/meter.ts).
        ...(measured && plan.tokens
          ? { onResponse: (status: number, body: string) => status === 200 && countTokenBody(body) }
          : {}),
        ...(rotates
          ? {
              setupRequest: (request: autocannon.Request) => {
                const index = turn++;
                const body = bodies.length > 1 ? bodies[index % bodies.length] : undefined;
                return {
                  ...request,
                  path: plan.paths[index % plan.paths.length] as string,
                  ...(body !== undefined ? { body } : {}),
                };
              },
            }
          : {}),
      },
    ],
  };
}

function run(
  opts: autocannon.Options,
  onResponse?: (status: number, ms: number) => void,
): Promise<{ result: autocannon.Result; seconds: number }> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const instance = autocannon(opts, (error, result) => {
      if (error) reject(error);
      else resolve({ result, seconds: (performance.now() - started) / 1000 });
    });
    if (onResponse) {
      instance.on('response', (_client, statusCode, _bytes, responseTime) =>
        onResponse(statusCode, responseTime),
      );
    }
  });
}

/** Warms up, then measures: autocannon at fixed concurrency, latency of every response recorded. */
export async function runLoad(baseUrl: string, plan: LoadPlan, settings: LoadSettings): Promise<LoadResult> {
  if (settings.warmupSeconds > 0) {
    await run({ ...options(baseUrl, plan, settings.connections), duration: settings.warmupSeconds });
  }
  let best: LoadResult | null = null;
  for (let attempt = 0; attempt < Math.max(1, settings.repeat); attempt++) {
    const recorder = new LatencyRecorder();
    const statusCodes: Record<string, number> = {};
    let unexpected = 0;
    const measured = {
      ...options(baseUrl, plan, settings.connections, true),
      ...(settings.amount !== null ? { amount: settings.amount } : { duration: settings.durationSeconds }),
    };
    const window = await startWindow();
    const { result, seconds } = await run(measured, (status, ms) => {
      statusCodes[status] = (statusCodes[status] ?? 0) + 1;
      if (status === plan.expectedStatus) recorder.add(ms);
      else unexpected++;
    });
    const usage = await window.end(recorder.count);
    const current: LoadResult = {
      ...recorder.summarize(recorder.count, seconds),
      unexpected,
      errors: result.errors,
      timeouts: result.timeouts,
      statusCodes,
      usage,
    };
    if (!best || current.rate > best.rate) best = current;
  }
  return best as LoadResult;
}
