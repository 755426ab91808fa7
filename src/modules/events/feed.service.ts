import type { Queryable } from '../../platform/db/database.js';
import { RequestValidationError } from '../../platform/errors.js';
import { typesMatching, unknownEventPatterns } from '../../platform/events/catalogue.js';
import {
  decodePosition,
  type EventPosition,
  encodePosition,
  eventsHeldBack,
  readCommittedEvents,
} from '../../platform/events/event-log.repository.js';
import type { EventSignal } from '../../platform/events/event-signal.js';
import { toEvent } from './event-payload.js';

export interface FeedRequest {
  tenantId: string;
  after?: string | undefined;
  /** Comma-separated types or patterns (`user.*`). */
  types?: string | undefined;
  limit: number;
  /** How long to wait for a first event when there is none yet, in ms (0: answer at once). */
  waitMs: number;
  /** Resolves when the client has gone (the wait ends early). */
  gone: Promise<void>;
}

/** How soon a long-poll looks again while an older transaction holds newer events back. */
const HELD_BACK_RECHECK_MS = 25;

const invalid = (field: string, msg: string) =>
  new RequestValidationError([{ loc: ['query', field], msg, type: 'value_error' }]);

/**
 * The change feed of a tenant (GET /api/v1/tenants/{tenant_id}/events): committed events in commit
 * order after an opaque cursor, optionally long-polled. Reading by position (event-log.repository)
 * makes the cursor safe to keep across restarts and instances.
 */
export function createFeedService(db: Queryable, signal: EventSignal) {
  return {
    async read(request: FeedRequest) {
      const after = request.after === undefined ? undefined : decodePosition(request.after);
      if (request.after !== undefined && !after) throw invalid('after', 'Not a cursor of this feed');
      const patterns = request.types
        ?.split(',')
        .map((pattern) => pattern.trim())
        .filter((pattern) => pattern !== '');
      if (patterns && patterns.length > 0) {
        const unknown = unknownEventPatterns(patterns);
        if (unknown.length > 0) throw invalid('types', `Unknown event types: ${unknown.join(', ')}`);
      }
      const types = patterns && patterns.length > 0 ? typesMatching(patterns) : undefined;
      const query = { after, tenantId: request.tenantId, types, limit: request.limit };
      const deadline = Date.now() + request.waitMs;
      let gone = false;
      void request.gone.then(() => {
        gone = true;
      });
      for (;;) {
        // Waiting starts before reading: a notice that arrives in between is not missed.
        const wait = signal.next(request.tenantId);
        try {
          const events = await readCommittedEvents(db, query);
          const remaining = deadline - Date.now();
          if (events.length > 0 || remaining <= 0 || gone) return page(events, after, request.limit);
          const held = await eventsHeldBack(db, query);
          // The older transaction that held events back may have ended between the read and that
          // check: the events are readable now, and their notice may have come before this wait.
          if (!held) {
            const late = await readCommittedEvents(db, query);
            if (late.length > 0) return page(late, after, request.limit);
          }
          let timer: NodeJS.Timeout | undefined;
          const timeout = new Promise<void>((resolve) => {
            timer = setTimeout(resolve, held ? Math.min(remaining, HELD_BACK_RECHECK_MS) : remaining);
          });
          await Promise.race([wait.arrived, timeout, request.gone]);
          clearTimeout(timer);
        } finally {
          wait.cancel();
        }
      }
    },
  };
}

function page(
  events: Awaited<ReturnType<typeof readCommittedEvents>>,
  after: EventPosition | undefined,
  limit: number,
) {
  const last = events.at(-1);
  const cursor = last ? encodePosition(last) : after ? encodePosition(after) : null;
  return {
    events: events.map((event) => ({ ...toEvent(event), cursor: encodePosition(event) })),
    next_cursor: cursor,
    has_more: events.length === limit,
  };
}

export type FeedService = ReturnType<typeof createFeedService>;
