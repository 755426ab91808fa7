/** One measured series: how many operations in how long, and their latency percentiles (ms). */
export interface Measurement {
  operations: number;
  seconds: number;
  /** Operations per second. */
  rate: number;
  p50: number;
  p99: number;
  max: number;
  /** CPU seconds of the measuring process (all its threads) over the measurement, where taken. */
  cpuSeconds?: number;
}

/** Collects latencies (ms) without boxing every number. */
export class LatencyRecorder {
  #values = new Float64Array(1024);
  #length = 0;

  add(ms: number): void {
    if (this.#length === this.#values.length) {
      const grown = new Float64Array(this.#values.length * 2);
      grown.set(this.#values);
      this.#values = grown;
    }
    this.#values[this.#length++] = ms;
  }

  get count(): number {
    return this.#length;
  }

  /** Summary of the recorded latencies for `operations` done in `seconds`. */
  summarize(operations: number, seconds: number): Measurement {
    const sorted = this.#values.slice(0, this.#length).sort();
    const at = (q: number) =>
      sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0);
    return {
      operations,
      seconds,
      rate: seconds > 0 ? operations / seconds : 0,
      p50: at(0.5),
      p99: at(0.99),
      max: sorted.length === 0 ? 0 : (sorted[sorted.length - 1] ?? 0),
    };
  }
}

function cpuSince(before: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

/** Runs a synchronous operation back to back for `seconds` and measures it. */
export function measureSync(seconds: number, operation: (index: number) => void): Measurement {
  const recorder = new LatencyRecorder();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let count = 0;
  let now = started;
  while (now < deadline) {
    operation(count);
    const after = performance.now();
    recorder.add(after - now);
    now = after;
    count++;
  }
  return { ...recorder.summarize(count, (now - started) / 1000), cpuSeconds: cpuSince(cpuBefore) };
}

/** Runs `concurrency` loops of an asynchronous operation for `seconds` and measures it. */
export async function measureAsync(
  seconds: number,
  concurrency: number,
  operation: (index: number) => Promise<unknown>,
): Promise<Measurement> {
  const recorder = new LatencyRecorder();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  let count = 0;
  let last = started;
  const loop = async () => {
    while (performance.now() < deadline) {
      const index = count++;
      const before = performance.now();
      await operation(index);
      last = performance.now();
      recorder.add(last - before);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, loop));
  return { ...recorder.summarize(recorder.count, (last - started) / 1000), cpuSeconds: cpuSince(cpuBefore) };
}

/** The best (highest rate) of `times` measurements: on a shared machine, the least disturbed one. */
export async function bestOf(
  times: number,
  measure: () => Measurement | Promise<Measurement>,
): Promise<Measurement> {
  let best: Measurement | null = null;
  for (let i = 0; i < Math.max(1, times); i++) {
    const measurement = await measure();
    if (!best || measurement.rate > best.rate) best = measurement;
  }
  return best as Measurement;
}
