import { Type } from 'typebox';
import { EVENT_TYPES } from '../../platform/events/catalogue.js';
import type { StoredEvent } from '../../platform/events/event-log.repository.js';
import { Nullable, Timestamp } from '../../platform/schemas.js';

/** An event as the change feed returns it and webhooks deliver it (docs/api-decisions.md, "Events"). */
export const EventSchema = Type.Object(
  {
    id: Type.String({ description: 'The event id (evt_…); the same in every delivery of the event' }),
    type: Type.Unsafe<string>({
      type: 'string',
      enum: [...EVENT_TYPES],
      description: 'The event type (GET /api/v1/admin/webhooks/events lists them)',
    }),
    created_at: Timestamp,
    tenant_id: Nullable(Type.String()),
    partner_id: Nullable(Type.String()),
    resource: Type.Object({ type: Type.String(), id: Nullable(Type.String()) }),
    actor: Type.Object({
      type: Nullable(Type.String({ description: 'admin, user, api, scim or system' })),
      id: Nullable(Type.String()),
    }),
    data: Type.Record(Type.String(), Type.Unknown(), {
      description:
        'What the change made (the new values); `previous` holds the values it replaced, when it replaced any',
    }),
  },
  { title: 'Event' },
);

/** The public form of a stored event. */
export function toEvent(event: StoredEvent) {
  return {
    id: event.id,
    type: event.type,
    created_at: event.created_at.toISOString(),
    tenant_id: event.tenant_id,
    partner_id: event.partner_id,
    resource: { type: event.resource_type, id: event.resource_id },
    actor: { type: event.actor_type, id: event.actor_id },
    data: event.data ?? {},
  };
}
