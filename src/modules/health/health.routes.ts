import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { Db } from '../../platform/db/database.js';
import { pingDatabase } from './health.repository.js';

const Status = Type.Object({ status: Type.String() });

/** `/healthz`: the process answers. `/readyz`: the database answers too. */
export async function healthRoutes(app: FastifyInstance, { db }: { db: Db }): Promise<void> {
  app.get('/healthz', { schema: { tags: ['Health'], response: { 200: Status } } }, async () => ({
    status: 'ok',
  }));
  app.get(
    '/readyz',
    { schema: { tags: ['Health'], response: { 200: Status, 503: Status } } },
    async (_request, reply) => {
      try {
        await pingDatabase(db);
        return { status: 'ready' };
      } catch {
        return reply.code(503).send({ status: 'database unavailable' });
      }
    },
  );
}
