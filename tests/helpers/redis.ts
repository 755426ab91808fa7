import { Socket } from 'node:net';

/** The Redis the Redis-store tests use (.ci/run starts one and sets TEST_REDIS_URL). */
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

/** Whether Redis answers a PING at REDIS_URL. */
async function redisAnswers(): Promise<boolean> {
  const url = new URL(REDIS_URL);
  return new Promise((resolve) => {
    const socket = new Socket();
    const done = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.connect(Number(url.port || 6379), url.hostname, () => {
      socket.write('PING\r\n');
      socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
    });
  });
}

/**
 * Whether the Redis-store tests run (describe.runIf): always when TEST_REDIS_URL says a Redis must
 * be there (then they fail if it does not answer), else when one answers.
 */
export const withRedis = async (): Promise<boolean> =>
  process.env.TEST_REDIS_URL !== undefined || (await redisAnswers());
