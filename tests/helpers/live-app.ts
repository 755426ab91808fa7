import { once } from 'node:events';
import { createServer } from 'node:net';
import { createTestDatabase, startTestApp, type TestApp, type TestDatabase } from './test-app.js';

export async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as { port: number };
  server.close();
  return port;
}

/** The app listening on a real port, with SCAIKEY_PUBLIC_URL pointing at it (for real clients). */
export async function startLiveApp(): Promise<TestApp & { origin: string; database_: TestDatabase }> {
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  const database = await createTestDatabase();
  const t = await startTestApp({ publicUrl: origin, port }, database);
  await t.app.listen({ port, host: '127.0.0.1' });
  return {
    ...t,
    origin,
    database_: database,
    close: async () => {
      await t.close();
      await database.drop();
    },
  };
}
