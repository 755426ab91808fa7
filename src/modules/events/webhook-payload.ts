import type { StoredEvent } from '../../platform/events/event-log.repository.js';
import { toEvent } from './event-payload.js';

/**
 * The body of a webhook delivery (docs/api-decisions.md, "Webhooks"): the event as the change feed
 * shows it (`id`, `type`, `created_at`, `tenant_id`, `partner_id`, `resource`, `actor`, `data`),
 * plus the documented envelope's names for three of them (`event_id` = id, `event_type` = type,
 * `timestamp` = created_at), so that receivers written against either form work.
 */
export function webhookPayload(event: StoredEvent) {
  const shown = toEvent(event);
  return { ...shown, event_id: shown.id, event_type: shown.type, timestamp: shown.created_at };
}

/** The type of the test ping (POST /api/v1/admin/webhooks/{id}/test); not a catalogue event. */
export const TEST_EVENT_TYPE = 'webhook.test';
