import type { IncomingMessage } from 'node:http';

/** How much of a refused request body is read (and dropped) before the connection is closed. */
const DISCARD_BYTES = 16 * 1024 * 1024;
const DISCARD_MS = 10_000;

/**
 * Reads and drops what is left of a request body, up to 16 MiB or 10 s, and resolves once it has
 * ended (true) or the bound was reached (false). A server that answers and closes while a client
 * is still sending makes the client's TCP stack see a reset, and the client often loses the answer
 * with it; draining first lets the client read the error (an over-limit body sent without
 * `Expect: 100-continue`). The caller then answers with `Connection: close`.
 */
export function discardRequestBody(raw: IncomingMessage): Promise<boolean> {
  if (raw.readableEnded || raw.destroyed) return Promise.resolve(raw.readableEnded);
  return new Promise((resolve) => {
    let discarded = 0;
    const finish = (drained: boolean) => {
      clearTimeout(timer);
      raw.removeListener('data', onData);
      raw.removeListener('end', onEnd);
      raw.removeListener('error', onError);
      raw.removeListener('close', onError);
      resolve(drained);
    };
    const onData = (chunk: Buffer) => {
      discarded += chunk.length;
      if (discarded > DISCARD_BYTES) finish(false);
    };
    const onEnd = () => finish(true);
    const onError = () => finish(false);
    const timer = setTimeout(() => finish(false), DISCARD_MS);
    timer.unref();
    raw.on('data', onData);
    raw.once('end', onEnd);
    raw.once('error', onError);
    raw.once('close', onError);
    raw.resume();
  });
}
