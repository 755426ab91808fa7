import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ok } from '../../platform/http.js';
import { Envelope, managementErrors, Nullable } from '../../platform/schemas.js';
import { access } from '../../platform/tenancy.js';
import { EventSchema } from './event-payload.js';
import type { FeedService } from './feed.service.js';

const FeedQuery = Type.Object(
  {
    after: Type.Optional(
      Type.String({
        maxLength: 100,
        description:
          'The `next_cursor` (or an event `cursor`) of an earlier answer: only events committed after it. ' +
          'Without it, the feed starts at the oldest event kept (SCAIKEY_EVENT_RETENTION_DAYS).',
      }),
    ),
    types: Type.Optional(
      Type.String({
        maxLength: 2000,
        description: 'Comma-separated event types or patterns such as `user.*` (default: every type)',
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, default: 100 })),
    wait: Type.Optional(
      Type.Integer({
        minimum: 0,
        maximum: 60,
        default: 0,
        description:
          'Long-poll: when there is no event yet, wait up to this many seconds for one before answering',
      }),
    ),
  },
  { additionalProperties: false },
);

const FeedPage = Type.Object({
  events: Type.Array(
    Type.Object(
      {
        ...EventSchema.properties,
        cursor: Type.String({ description: 'The position right after this event (usable as `after`)' }),
      },
      { title: 'FeedEvent' },
    ),
  ),
  next_cursor: Nullable(
    Type.String({ description: 'Pass it as `after` next time (null: nothing has been read yet)' }),
  ),
  has_more: Type.Boolean({ description: 'A full page: more events may be waiting, read again at once' }),
});

/** The change feed (issue 14): a tenant's events in commit order, resumable by cursor. */
export const feedRoutes: FastifyPluginAsyncTypebox<{ feed: FeedService }> = async (app, { feed }) => {
  app.get(
    '/api/v1/tenants/:tenant_id/events',
    {
      config: { access: access.tenantRead },
      schema: {
        tags: ['Events'],
        summary: 'Read Change Feed',
        description:
          "The tenant's events in commit order after `after`. Keep `next_cursor` and pass it back: nothing " +
          'is missed or repeated, across restarts and instances. With `wait`, the request waits for the ' +
          'first new event (long-poll).',
        params: Type.Object({ tenant_id: Type.String() }),
        querystring: FeedQuery,
        response: { 200: Envelope(FeedPage, 'ApiResponse_EventFeedPage_'), ...managementErrors },
      },
    },
    async (request, reply) => {
      // The response's 'close': the client went away (or the answer was sent); the wait ends then.
      const gone = new Promise<void>((resolve) => reply.raw.once('close', () => resolve()));
      const result = await feed.read({
        tenantId: request.tenantScope.tenant.id,
        after: request.query.after,
        types: request.query.types,
        limit: request.query.limit ?? 100,
        waitMs: (request.query.wait ?? 0) * 1000,
        gone,
      });
      return ok(request, result);
    },
  );
};
