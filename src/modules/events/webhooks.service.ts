import { isId, newId } from '../../lib/ids.js';
import { type PageRequest, pageOffset, paginationMeta } from '../../lib/pagination.js';
import type { AdminRights } from '../../platform/auth/principal.js';
import type { WebhookSettings } from '../../platform/config.js';
import type { Db } from '../../platform/db/database.js';
import type { WebhookDeliveryStatus } from '../../platform/db/schema.js';
import { AppError, notFound, RequestValidationError } from '../../platform/errors.js';
import { EVENT_CATALOGUE, unknownEventPatterns } from '../../platform/events/catalogue.js';
import type { UnitOfWork } from '../../platform/events/unit-of-work.js';
import { type CallContext, iso } from '../../platform/http.js';
import type { SecretBox } from '../../platform/secret-box.js';
import { findLivePartner } from '../partners/index.js';
import { visibleTenant } from '../tenants/index.js';
import { deliveryHeaders, signingSecrets } from './delivery.js';
import { insertImmediateDelivery, insertRedelivery, recordOutcome } from './delivery.repository.js';
import { eventDataSchema } from './event-data-schemas.js';
import { postOnce, targetProblem } from './outbound.js';
import { TEST_EVENT_TYPE } from './webhook-payload.js';
import { canonicalJson, newWebhookSecret } from './webhook-signing.js';
import {
  type AttemptRecord,
  type DeliveryRecord,
  deleteEndpoint,
  type EndpointChange,
  type EndpointRecord,
  findDelivery,
  findEndpoint,
  insertEndpoint,
  lockEndpoint,
  pageOfDeliveries,
  pageOfEndpoints,
  rotateEndpointSecret,
  updateEndpoint,
} from './webhooks.repository.js';
import type { DeliveryResponse, WebhookCreate, WebhookResponse, WebhookUpdate } from './webhooks.schemas.js';

/** Who calls: the rights of the route's declared access and the request's audit facts. */
export interface WebhookCaller {
  rights: AdminRights;
  call: CallContext;
}

/** How long the secret replaced by a rotation keeps signing beside the new one. */
export const ROTATION_OVERLAP_MS = 24 * 3600 * 1000;

const webhookNotFound = () => notFound('Webhook');
const invalid = (loc: (string | number)[], msg: string, type = 'value_error') =>
  new RequestValidationError([{ loc: ['body', ...loc], msg, type }]);

export function toWebhookResponse(row: EndpointRecord): WebhookResponse {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    events: row.events,
    scope: row.tenant_id ? 'TENANT' : row.partner_id ? 'PARTNER' : 'PLATFORM',
    tenant_id: row.tenant_id,
    partner_id: row.partner_id,
    enabled: row.enabled,
    status: row.status,
    consecutive_failures: row.consecutive_failures,
    last_success_at: iso(row.last_success_at),
    last_failure_at: iso(row.last_failure_at),
    secret_rotated_at: iso(row.secret_rotated_at),
    previous_secret_expires_at:
      row.previous_secret_expires_at && row.previous_secret_expires_at > new Date()
        ? iso(row.previous_secret_expires_at)
        : null,
    created_at: row.created_at.toISOString(),
    updated_at: iso(row.updated_at),
  };
}

function toDeliveryResponse(row: DeliveryRecord, attempts: AttemptRecord[]): DeliveryResponse {
  return {
    id: row.id,
    webhook_id: row.endpoint_id,
    event_id: row.event_id,
    event_type: row.event_type,
    status: row.status,
    attempts: row.attempts,
    next_attempt_at: row.status === 'pending' ? row.next_attempt_at.toISOString() : null,
    last_attempt_at: iso(row.last_attempt_at),
    last_response_code: row.last_response_code,
    last_response_ms: row.last_response_ms,
    last_error: row.last_error,
    redelivery_of: row.redelivery_of,
    created_at: row.created_at.toISOString(),
    completed_at: iso(row.completed_at),
    attempt_log: attempts.map((attempt) => ({
      attempt: attempt.attempt,
      started_at: attempt.started_at.toISOString(),
      response_code: attempt.response_code,
      response_ms: attempt.response_ms,
      error: attempt.error,
      next_attempt_at: iso(attempt.next_attempt_at),
    })),
  };
}

/** Whether a caller may see (and, with admin:write, change) an endpoint: 404 otherwise. */
function canSee(rights: AdminRights, endpoint: EndpointRecord): boolean {
  switch (rights.level) {
    case 'super_admin':
      return true;
    case 'partner_admin':
      return endpoint.partner_id !== null && endpoint.partner_id === rights.partnerId;
    default:
      return endpoint.tenant_id !== null && endpoint.tenant_id === rights.tenantId;
  }
}

/** What an audit entry says of an endpoint: never its secrets, nor its URL's query (it may hold a token). */
function auditable(row: Pick<EndpointRecord, 'url' | 'events' | 'enabled' | 'description'>) {
  const url = new URL(row.url);
  return {
    url: `${url.origin}${url.pathname}`,
    events: row.events,
    enabled: row.enabled,
    description: row.description,
  };
}

export interface WebhooksServiceOptions {
  db: Db;
  work: UnitOfWork;
  box: SecretBox;
  settings: WebhookSettings;
  /** Wakes the dispatcher (a redelivery is due). */
  kick(): void;
  /** The lease of a delivery sent at once (the test ping). */
  leaseMs: number;
}

/**
 * Webhook endpoints of the admin API (`/api/v1/admin/webhooks/`). super_admin: every endpoint;
 * partner_admin: its partner's and its tenants'; tenant_admin: its tenant's. An endpoint out of
 * reach answers 404, like one that does not exist.
 */
export function createWebhooksService(options: WebhooksServiceOptions) {
  const { db, work, box, settings } = options;

  async function visible(rights: AdminRights, id: string): Promise<EndpointRecord> {
    const endpoint = isId('webhook', id) ? await findEndpoint(db, id) : undefined;
    if (!endpoint || !canSee(rights, endpoint)) throw webhookNotFound();
    return endpoint;
  }

  async function checkUrl(raw: string): Promise<string> {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw invalid(['url'], 'Not an absolute URL');
    }
    if (url.username || url.password) {
      throw invalid(['url'], 'Put no credentials in the URL: receivers verify the signature instead');
    }
    if (url.hash) throw invalid(['url'], 'No fragment (#…) in a webhook URL');
    const problem = await targetProblem(url, settings.allowPrivate);
    if (problem) throw invalid(['url'], problem);
    return url.toString();
  }

  function checkEvents(events: readonly string[]): string[] {
    const unknown = new Set(unknownEventPatterns(events));
    const index = events.findIndex((pattern) => unknown.has(pattern));
    if (index !== -1) {
      throw invalid(
        ['events', index],
        `Unknown event type or pattern: ${events[index]} (GET /api/v1/admin/webhooks/events lists them)`,
      );
    }
    return [...new Set(events)];
  }

  /** The tenant / partner a new endpoint belongs to, by the caller's tier. */
  async function owner(
    rights: AdminRights,
    input: WebhookCreate,
  ): Promise<{ tenantId: string | null; partnerId: string | null }> {
    if (input.tenant_id) {
      const tenant = await visibleTenant(db, rights, input.tenant_id);
      if (input.partner_id && input.partner_id !== tenant.partner_id) {
        throw new AppError('BAD_REQUEST', 'A tenant endpoint belongs to the partner of its tenant');
      }
      return { tenantId: tenant.id, partnerId: tenant.partner_id };
    }
    if (input.partner_id) {
      const reachable =
        rights.level === 'super_admin' ||
        (rights.level === 'partner_admin' && input.partner_id === rights.partnerId);
      const partner =
        reachable && isId('partner', input.partner_id)
          ? await findLivePartner(db, input.partner_id)
          : undefined;
      if (!partner) throw notFound('Partner');
      return { tenantId: null, partnerId: partner.id };
    }
    switch (rights.level) {
      case 'super_admin':
        return { tenantId: null, partnerId: null };
      case 'partner_admin':
        return { tenantId: null, partnerId: rights.partnerId };
      default: {
        const tenant = await visibleTenant(db, rights, rights.tenantId ?? '');
        return { tenantId: tenant.id, partnerId: tenant.partner_id };
      }
    }
  }

  return {
    catalogue() {
      return EVENT_CATALOGUE.map((entry) => ({
        type: entry.type,
        resource_type: entry.resourceType,
        description: entry.description,
        data_schema: eventDataSchema(entry.type),
      }));
    },

    async list(
      rights: AdminRights,
      filter: { tenantId?: string | undefined; partnerId?: string | undefined },
      page: PageRequest,
    ) {
      const { rows, total } = await pageOfEndpoints(db, rights, filter, {
        limit: page.perPage,
        offset: pageOffset(page),
      });
      return { items: rows.map(toWebhookResponse), pagination: paginationMeta(page, total) };
    },

    async get(rights: AdminRights, id: string): Promise<WebhookResponse> {
      return toWebhookResponse(await visible(rights, id));
    },

    async create({ rights, call }: WebhookCaller, input: WebhookCreate) {
      const events = checkEvents(input.events);
      const url = await checkUrl(input.url);
      const { tenantId, partnerId } = await owner(rights, input);
      const id = newId('webhook');
      const secret = newWebhookSecret();
      await work.run(call.origin, async (w) => {
        await insertEndpoint(w.db, {
          id,
          url,
          description: input.description ?? null,
          events,
          tenantId,
          partnerId,
          sealedSecret: box.seal(secret, id),
        });
        if (input.enabled === false) await updateEndpoint(w.db, id, { enabled: false });
        w.audit({
          action: 'webhook.created',
          resourceType: 'webhook',
          resourceId: id,
          tenantId,
          partnerId,
          after: {
            ...auditable({
              url,
              events,
              enabled: input.enabled !== false,
              description: input.description ?? null,
            }),
            scope: tenantId ? 'TENANT' : partnerId ? 'PARTNER' : 'PLATFORM',
          },
        });
      });
      return { ...toWebhookResponse((await findEndpoint(db, id)) as EndpointRecord), secret };
    },

    async update(
      { rights, call }: WebhookCaller,
      id: string,
      input: WebhookUpdate,
    ): Promise<WebhookResponse> {
      await visible(rights, id);
      const change: EndpointChange = {};
      if (input.events !== undefined) change.events = checkEvents(input.events);
      if (input.url !== undefined) change.url = await checkUrl(input.url);
      if (input.description !== undefined) change.description = input.description;
      if (input.enabled !== undefined) change.enabled = input.enabled;
      await work.run(call.origin, async (w) => {
        const before = await lockEndpoint(w.db, id);
        if (!before || !canSee(rights, before)) throw webhookNotFound();
        if (input.enabled === true && (!before.enabled || before.status === 'disabled')) change.reset = true;
        await updateEndpoint(w.db, id, change);
        const after = (await findEndpoint(w.db, id)) as EndpointRecord;
        w.audit({
          action: 'webhook.updated',
          resourceType: 'webhook',
          resourceId: id,
          tenantId: before.tenant_id,
          partnerId: before.partner_id,
          before: auditable(before),
          after: auditable(after),
        });
        if (change.enabled) w.afterCommit(options.kick);
      });
      return toWebhookResponse((await findEndpoint(db, id)) as EndpointRecord);
    },

    async remove({ rights, call }: WebhookCaller, id: string): Promise<void> {
      await visible(rights, id);
      await work.run(call.origin, async (w) => {
        const before = await lockEndpoint(w.db, id);
        if (!before || !canSee(rights, before)) throw webhookNotFound();
        await deleteEndpoint(w.db, id);
        w.audit({
          action: 'webhook.deleted',
          resourceType: 'webhook',
          resourceId: id,
          tenantId: before.tenant_id,
          partnerId: before.partner_id,
          before: auditable(before),
        });
      });
    },

    async rotateSecret({ rights, call }: WebhookCaller, id: string) {
      await visible(rights, id);
      const secret = newWebhookSecret();
      const expiresAt = new Date(Date.now() + ROTATION_OVERLAP_MS);
      await work.run(call.origin, async (w) => {
        const before = await lockEndpoint(w.db, id);
        if (!before || !canSee(rights, before)) throw webhookNotFound();
        await rotateEndpointSecret(w.db, id, box.seal(secret, id), expiresAt);
        w.audit({
          action: 'webhook.secret_rotated',
          resourceType: 'webhook',
          resourceId: id,
          tenantId: before.tenant_id,
          partnerId: before.partner_id,
          after: { previous_secret_expires_at: expiresAt.toISOString() },
        });
      });
      return { ...toWebhookResponse((await findEndpoint(db, id)) as EndpointRecord), secret };
    },

    async deliveries(
      rights: AdminRights,
      id: string,
      status: WebhookDeliveryStatus | undefined,
      page: PageRequest,
    ) {
      await visible(rights, id);
      const { rows, attempts, total } = await pageOfDeliveries(db, id, status, {
        limit: page.perPage,
        offset: pageOffset(page),
      });
      return {
        items: rows.map((row) =>
          toDeliveryResponse(
            row,
            attempts.filter((attempt) => attempt.delivery_id === row.id),
          ),
        ),
        pagination: paginationMeta(page, total),
      };
    },

    async redeliver(
      { rights, call }: WebhookCaller,
      id: string,
      deliveryId: string,
    ): Promise<DeliveryResponse> {
      await visible(rights, id);
      const numeric = /^\d{1,15}$/.test(deliveryId) ? Number(deliveryId) : null;
      const original = numeric === null ? undefined : await findDelivery(db, id, numeric);
      if (!original) throw notFound('Delivery');
      const created = await work.run(call.origin, async (w) => {
        const newId = await insertRedelivery(w.db, id, original.id);
        w.afterCommit(options.kick);
        return newId;
      });
      const row = (await findDelivery(db, id, created)) as DeliveryRecord;
      return toDeliveryResponse(row, []);
    },

    /** Sends a `webhook.test` message now and reports what the endpoint answered (no retries). */
    async test({ rights, call }: WebhookCaller, id: string) {
      const endpoint = await visible(rights, id);
      const eventId = newId('event');
      const createdAt = new Date().toISOString();
      const body = canonicalJson({
        id: eventId,
        type: TEST_EVENT_TYPE,
        created_at: createdAt,
        tenant_id: endpoint.tenant_id,
        partner_id: endpoint.partner_id,
        resource: { type: 'webhook', id: endpoint.id },
        actor: { type: call.origin.actorType, id: call.origin.actorId },
        data: { webhook_id: endpoint.id, message: 'A test message sent from the admin API' },
        event_id: eventId,
        event_type: TEST_EVENT_TYPE,
        timestamp: createdAt,
      });
      const deliveryId = await work.run(call.origin, (w) =>
        insertImmediateDelivery(w.db, {
          endpointId: id,
          eventId,
          eventType: TEST_EVENT_TYPE,
          resourceKey: `webhook:${id}:test:${eventId}`,
          body,
          leaseMs: options.leaseMs,
        }),
      );
      const startedAt = new Date();
      const result = await postOnce(endpoint.url, {
        headers: deliveryHeaders(signingSecrets(box, endpoint), {
          deliveryId,
          eventId,
          eventType: TEST_EVENT_TYPE,
          body,
        }),
        body,
        timeoutMs: settings.timeoutMs,
        allowPrivate: settings.allowPrivate,
      });
      const success = result.status !== null && result.status >= 200 && result.status < 300;
      const error = success ? null : (result.error ?? `HTTP ${result.status}`);
      await work.run(call.origin, (w) =>
        recordOutcome(w.db, {
          deliveryId,
          attempt: 1,
          startedAt,
          responseCode: result.status,
          responseMs: result.ms,
          error,
          result: success ? 'succeeded' : 'failed',
          retryAt: null,
        }),
      );
      return {
        success,
        delivery_id: deliveryId,
        event_id: eventId,
        response_code: result.status,
        response_ms: result.ms,
        error,
      };
    },
  };
}

export type WebhooksService = ReturnType<typeof createWebhooksService>;
