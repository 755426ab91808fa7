import { type Static, Type } from 'typebox';
import { Nullable, PageQuery, Timestamp } from '../../platform/schemas.js';

const Url = Type.String({
  minLength: 1,
  maxLength: 2048,
  description:
    'Where deliveries are POSTed: http or https. A host on a private, loopback, link-local or other ' +
    'non-public address is refused (also at each delivery) unless SCAIKEY_WEBHOOK_ALLOW_PRIVATE is on.',
});
const Description = Nullable(Type.String({ maxLength: 2000 }));
const Events = Type.Array(Type.String({ minLength: 1, maxLength: 100 }), {
  minItems: 1,
  maxItems: 100,
  description:
    'Event types to deliver: exact types (`user.created`), families (`user.*`) or `*` (every type); ' +
    'GET /api/v1/admin/webhooks/events lists them',
});

export const WebhookScopeEnum = Type.Unsafe<'TENANT' | 'PARTNER' | 'PLATFORM'>({
  type: 'string',
  enum: ['TENANT', 'PARTNER', 'PLATFORM'],
  description:
    "Whose events the endpoint gets: its tenant's; its partner's and all its tenants'; or every event (super_admin)",
});
const WebhookStatusEnum = Type.Unsafe<'active' | 'failing' | 'disabled'>({
  type: 'string',
  enum: ['active', 'failing', 'disabled'],
  description:
    'active; failing after SCAIKEY_WEBHOOK_FAILING_AFTER consecutive failed attempts (until a success); ' +
    'disabled when a delivery failed for its whole retry window (PATCH enabled=true to resume)',
});

export const WebhookCreate = Type.Object(
  {
    url: Url,
    description: Type.Optional(Description),
    events: Events,
    tenant_id: Type.Optional(
      Nullable(Type.String(), {
        description: "A tenant endpoint: this tenant's events (a tenant_admin's endpoints are its tenant's)",
      }),
    ),
    partner_id: Type.Optional(
      Nullable(Type.String(), {
        description:
          "A partner endpoint (no tenant_id): the partner's events and its tenants' (a partner_admin's " +
          'endpoints without tenant_id are its partner’s). Neither: a platform endpoint (super_admin).',
      }),
    ),
    enabled: Type.Optional(Type.Boolean({ default: true })),
  },
  { additionalProperties: false, title: 'WebhookCreate' },
);
export type WebhookCreate = Static<typeof WebhookCreate>;

export const WebhookUpdate = Type.Object(
  {
    url: Type.Optional(Url),
    description: Type.Optional(Description),
    events: Type.Optional(Events),
    enabled: Type.Optional(
      Type.Boolean({
        description: 'false pauses deliveries; true resumes them (a disabled endpoint becomes active)',
      }),
    ),
  },
  { additionalProperties: false, title: 'WebhookUpdate' },
);
export type WebhookUpdate = Static<typeof WebhookUpdate>;

export const WebhookResponse = Type.Object(
  {
    id: Type.String(),
    url: Type.String(),
    description: Nullable(Type.String()),
    events: Type.Array(Type.String()),
    scope: WebhookScopeEnum,
    tenant_id: Nullable(Type.String()),
    partner_id: Nullable(Type.String({ description: "A tenant endpoint's: its tenant's partner" })),
    enabled: Type.Boolean(),
    status: WebhookStatusEnum,
    consecutive_failures: Type.Integer(),
    last_success_at: Nullable(Timestamp),
    last_failure_at: Nullable(Timestamp),
    secret_rotated_at: Nullable(Timestamp),
    previous_secret_expires_at: Nullable(Timestamp, {
      description: 'Until then the secret replaced by the last rotation signs beside the current one',
    }),
    created_at: Timestamp,
    updated_at: Nullable(Timestamp),
  },
  { title: 'WebhookResponse' },
);
export type WebhookResponse = Static<typeof WebhookResponse>;

export const WebhookWithSecret = Type.Object(
  {
    ...WebhookResponse.properties,
    secret: Type.String({
      description:
        'The signing secret (`whsec_` + base64, Standard Webhooks): shown in this response only, never again',
    }),
  },
  { title: 'WebhookWithSecret' },
);

export const WebhookListQuery = Type.Object(
  {
    ...PageQuery,
    tenant_id: Type.Optional(Type.String({ description: "Only this tenant's endpoints" })),
    partner_id: Type.Optional(
      Type.String({ description: "Only this partner's endpoints and those of its tenants" }),
    ),
  },
  { additionalProperties: false },
);

export const WebhookParams = Type.Object({ webhook_id: Type.String() });
export const DeliveryParams = Type.Object({ webhook_id: Type.String(), delivery_id: Type.String() });

const DeliveryStatusEnum = Type.Unsafe<'pending' | 'in_flight' | 'succeeded' | 'failed'>({
  type: 'string',
  enum: ['pending', 'in_flight', 'succeeded', 'failed'],
});

export const DeliveryListQuery = Type.Object(
  { ...PageQuery, status: Type.Optional(DeliveryStatusEnum) },
  { additionalProperties: false },
);

const Attempt = Type.Object(
  {
    attempt: Type.Integer({ description: '1 for the first attempt' }),
    started_at: Timestamp,
    response_code: Nullable(Type.Integer()),
    response_ms: Nullable(Type.Integer()),
    error: Nullable(Type.String()),
    next_attempt_at: Nullable(Timestamp, { description: 'The retry this failure scheduled' }),
  },
  { title: 'WebhookDeliveryAttempt' },
);

export const DeliveryResponse = Type.Object(
  {
    id: Type.Integer({ description: 'The delivery id, sent as X-ScaiKey-Webhook-ID' }),
    webhook_id: Type.String(),
    event_id: Type.String({ description: 'The event id, sent as webhook-id (the same on every retry)' }),
    event_type: Type.String(),
    status: DeliveryStatusEnum,
    attempts: Type.Integer(),
    next_attempt_at: Nullable(Timestamp, { description: 'When a pending delivery is tried (again)' }),
    last_attempt_at: Nullable(Timestamp),
    last_response_code: Nullable(Type.Integer()),
    last_response_ms: Nullable(Type.Integer()),
    last_error: Nullable(Type.String()),
    redelivery_of: Nullable(Type.Integer({ description: 'The delivery this one sends again' })),
    created_at: Timestamp,
    completed_at: Nullable(Timestamp),
    attempt_log: Type.Array(Attempt),
  },
  { title: 'WebhookDeliveryResponse' },
);
export type DeliveryResponse = Static<typeof DeliveryResponse>;

export const WebhookTestResult = Type.Object(
  {
    success: Type.Boolean({ description: 'The endpoint answered 2xx' }),
    delivery_id: Type.Integer(),
    event_id: Type.String(),
    response_code: Nullable(Type.Integer()),
    response_ms: Type.Integer(),
    error: Nullable(Type.String()),
  },
  { title: 'WebhookTestResult' },
);

export const EventTypeInfo = Type.Object(
  {
    type: Type.String(),
    resource_type: Type.String(),
    description: Type.String(),
    data_schema: Type.Record(Type.String(), Type.Unknown(), {
      description: "JSON Schema of the event's `data`",
    }),
  },
  { title: 'WebhookEventType' },
);
