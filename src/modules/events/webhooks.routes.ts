import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { callContext, noStore, ok, paged } from '../../platform/http.js';
import { Envelope, ErrorSchema, managementErrors, PaginatedEnvelope } from '../../platform/schemas.js';
import { access } from '../../platform/tenancy.js';
import {
  DeliveryListQuery,
  DeliveryParams,
  DeliveryResponse,
  EventTypeInfo,
  WebhookCreate,
  WebhookListQuery,
  WebhookParams,
  WebhookResponse,
  WebhookTestResult,
  WebhookUpdate,
  WebhookWithSecret,
} from './webhooks.schemas.js';
import type { WebhookCaller, WebhooksService } from './webhooks.service.js';

const tags = ['Webhooks'];
const base = '/api/v1/admin/webhooks';
const caller = (request: FastifyRequest): WebhookCaller => ({
  rights: request.rights,
  call: callContext(request),
});
const WebhookEnvelope = Envelope(WebhookResponse, 'ApiResponse_WebhookResponse_');
const SecretEnvelope = Envelope(WebhookWithSecret, 'ApiResponse_WebhookWithSecret_');

/**
 * The Webhooks API (issue 14): endpoints that receive signed events (docs/api-decisions.md,
 * "Webhooks"), their deliveries, test pings, secret rotation and redelivery.
 */
export const webhooksRoutes: FastifyPluginAsyncTypebox<{ webhooks: WebhooksService }> = async (
  app,
  { webhooks },
) => {
  app.get(
    `${base}/`,
    {
      config: { access: access.adminRead },
      schema: {
        tags,
        summary: 'List Webhooks',
        description:
          "Endpoints the caller may see: super_admin all; partner_admin its partner's and its tenants'; " +
          "tenant_admin its tenant's. partner_id: the partner's endpoints and those of its tenants.",
        querystring: WebhookListQuery,
        response: {
          200: PaginatedEnvelope(WebhookResponse, 'PaginatedResponse_WebhookResponse_'),
          ...managementErrors,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const result = await webhooks.list(
        request.rights,
        { tenantId: q.tenant_id, partnerId: q.partner_id },
        { page: q.page ?? 1, perPage: q.per_page ?? 20 },
      );
      return paged(request, result.items, result.pagination);
    },
  );

  app.post(
    `${base}/`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Create Webhook',
        description:
          'Register an endpoint for event types (patterns such as `user.*`) of a tenant (`tenant_id`), a ' +
          'partner and its tenants (`partner_id`), or the platform (neither; super_admin). The signing ' +
          '`secret` is in this response only.',
        body: WebhookCreate,
        response: { 201: SecretEnvelope, 400: ErrorSchema, ...managementErrors },
      },
    },
    async (request, reply) => {
      const created = await webhooks.create(caller(request), request.body);
      return noStore(reply).code(201).send(ok(request, created));
    },
  );

  app.get(
    `${base}/events`,
    {
      config: { access: access.adminRead },
      schema: {
        tags,
        summary: 'List Webhook Event Types',
        description:
          'The event catalogue: every type an endpoint may subscribe to, with the JSON Schema of its `data`. ' +
          'The test ping (`webhook.test`) is not a subscribable type: it goes to the endpoint it tests.',
        response: {
          200: Envelope(Type.Array(EventTypeInfo), 'ApiResponse_WebhookEventTypes_'),
          ...managementErrors,
        },
      },
    },
    async (request) => ok(request, webhooks.catalogue()),
  );

  app.get(
    `${base}/:webhook_id`,
    {
      config: { access: access.adminRead },
      schema: {
        tags,
        summary: 'Get Webhook',
        params: WebhookParams,
        response: { 200: WebhookEnvelope, ...managementErrors },
      },
    },
    async (request) => ok(request, await webhooks.get(request.rights, request.params.webhook_id)),
  );

  app.patch(
    `${base}/:webhook_id`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Update Webhook',
        description: 'Change the URL, description or event types; `enabled` pauses or resumes deliveries.',
        params: WebhookParams,
        body: WebhookUpdate,
        response: { 200: WebhookEnvelope, ...managementErrors },
      },
    },
    async (request) =>
      ok(request, await webhooks.update(caller(request), request.params.webhook_id, request.body)),
  );

  app.delete(
    `${base}/:webhook_id`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Delete Webhook',
        description:
          'Nothing more is delivered to the endpoint (soft delete; pending deliveries are dropped).',
        params: WebhookParams,
        response: { 204: Type.Null({ description: 'Deleted' }), ...managementErrors },
      },
    },
    async (request, reply) => {
      await webhooks.remove(caller(request), request.params.webhook_id);
      return reply.code(204).send(null);
    },
  );

  app.post(
    `${base}/:webhook_id/test`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Test Webhook',
        description:
          'Sends a signed `webhook.test` message to the endpoint now (once, no retries) and reports its ' +
          'answer; the delivery is listed with the others.',
        params: WebhookParams,
        response: {
          200: Envelope(WebhookTestResult, 'ApiResponse_WebhookTestResult_'),
          ...managementErrors,
        },
      },
    },
    async (request) => ok(request, await webhooks.test(caller(request), request.params.webhook_id)),
  );

  app.post(
    `${base}/:webhook_id/rotate-secret`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Rotate Webhook Secret',
        description:
          'A new signing secret, shown in this response only. For 24 hours the previous secret keeps ' +
          'signing beside it (two `v1,` signatures in `webhook-signature`), so receivers can switch.',
        params: WebhookParams,
        response: { 200: SecretEnvelope, ...managementErrors },
      },
    },
    async (request, reply) =>
      noStore(reply).send(
        ok(request, await webhooks.rotateSecret(caller(request), request.params.webhook_id)),
      ),
  );

  app.get(
    `${base}/:webhook_id/deliveries`,
    {
      config: { access: access.adminRead },
      schema: {
        tags,
        summary: 'List Webhook Deliveries',
        description:
          'Deliveries to the endpoint, newest first: status, attempts (each with its answer and the retry it ' +
          'scheduled), response code and time, next retry.',
        params: WebhookParams,
        querystring: DeliveryListQuery,
        response: {
          200: PaginatedEnvelope(DeliveryResponse, 'PaginatedResponse_WebhookDeliveryResponse_'),
          ...managementErrors,
        },
      },
    },
    async (request) => {
      const q = request.query;
      const result = await webhooks.deliveries(request.rights, request.params.webhook_id, q.status, {
        page: q.page ?? 1,
        perPage: q.per_page ?? 20,
      });
      return paged(request, result.items, result.pagination);
    },
  );

  app.post(
    `${base}/:webhook_id/deliveries/:delivery_id/redeliver`,
    {
      config: { access: access.adminWrite },
      schema: {
        tags,
        summary: 'Redeliver Webhook Delivery',
        description:
          'Queues the delivery’s message again (same event id and body) as a new delivery, sent in order ' +
          'after the earlier ones of its resource.',
        params: DeliveryParams,
        response: {
          202: Envelope(DeliveryResponse, 'ApiResponse_WebhookDeliveryResponse_'),
          ...managementErrors,
        },
      },
    },
    async (request, reply) => {
      const { webhook_id: webhookId, delivery_id: deliveryId } = request.params;
      const delivery = await webhooks.redeliver(caller(request), webhookId, deliveryId);
      return reply.code(202).send(ok(request, delivery));
    },
  );
};
