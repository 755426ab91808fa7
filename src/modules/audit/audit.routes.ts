import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { ok, paged } from '../../platform/http.js';
import { Envelope, managementErrors } from '../../platform/schemas.js';
import { access } from '../../platform/tenancy.js';
import {
  AuditActionItem,
  AuditEntry,
  AuditExportQuery,
  AuditListQuery,
  AuditPage,
  AuditResourceTypeItem,
} from './audit.schemas.js';
import type { AuditService } from './audit.service.js';

const tags = ['Audit'];
const base = '/api/v1/admin/audit';
const EntryParams = Type.Object({ entry_id: Type.String() });

const REACH =
  'A super_admin sees every entry; a partner_admin the entries of its partner and of its tenants; a tenant_admin those of its tenant. A filter outside the caller’s reach matches nothing.';

const NDJSON_EXAMPLE =
  '{"id":"evt_7k2m9q4x8c1v5b3n6z0w","tenant_id":"tnt_7k2m9q4x8c1v5b3n6z0w","partner_id":"prt_7k2m9q4x8c1v5b3n6z0w","actor_type":"admin","actor_id":"usr_7k2m9q4x8c1v5b3n6z0w","actor_email":"ada@example.com","action":"user.created","resource_type":"user","resource_id":"usr_0w6z3n5b1v8c4x9q2m7k","before":null,"after":{"email":"grace@example.com"},"result":"SUCCESS","ip_address":"203.0.113.7","request_id":"req_1","created_at":"2026-01-15T09:30:00.000Z"}\n';
const CSV_EXAMPLE =
  'id,created_at,tenant_id,partner_id,actor_type,actor_id,actor_email,action,resource_type,resource_id,result,ip_address,request_id,before,after\r\n' +
  'evt_7k2m9q4x8c1v5b3n6z0w,2026-01-15T09:30:00.000Z,tnt_7k2m9q4x8c1v5b3n6z0w,prt_7k2m9q4x8c1v5b3n6z0w,admin,usr_7k2m9q4x8c1v5b3n6z0w,ada@example.com,user.created,user,usr_0w6z3n5b1v8c4x9q2m7k,SUCCESS,203.0.113.7,req_1,,"{""email"":""grace@example.com""}"\r\n';

export interface AuditRoutesOptions {
  audit: AuditService;
}

/** The audit log API (docs/openapi.json, tag Audit): read-only; entries are never changed or deleted through it. */
export const auditRoutes: FastifyPluginAsyncTypebox<AuditRoutesOptions> = async (app, { audit }) => {
  app.get(
    `${base}/`,
    {
      config: { access: access.adminRead },
      schema: {
        tags,
        summary: 'List Audit Entries',
        description: `Entries newest first (created_at, then id, descending). ${REACH} For deep pages follow \`next_cursor\` (keyset) instead of raising \`page\`.`,
        querystring: AuditListQuery,
        response: { 200: AuditPage, ...managementErrors },
      },
    },
    async (request) => {
      const result = await audit.list(request.rights, request.query);
      return { ...paged(request, result.items, result.pagination), next_cursor: result.nextCursor };
    },
  );

  app.get(
    `${base}/actions`,
    {
      config: { access: access.adminRead },
      schema: {
        tags,
        summary: 'List Audit Actions',
        description: 'Every action ScaiKey writes to the audit log, with the resource type it names.',
        response: {
          200: Envelope(Type.Array(AuditActionItem), 'ApiResponse_list_AuditAction__'),
          ...managementErrors,
        },
      },
    },
    async (request) => ok(request, audit.actions()),
  );

  app.get(
    `${base}/resource-types`,
    {
      config: { access: access.adminRead },
      schema: {
        tags,
        summary: 'List Audit Resource Types',
        description: 'Every resource type audit entries name.',
        response: {
          200: Envelope(Type.Array(AuditResourceTypeItem), 'ApiResponse_list_AuditResourceType__'),
          ...managementErrors,
        },
      },
    },
    async (request) => ok(request, audit.resourceTypes()),
  );

  app.get(
    `${base}/export`,
    {
      config: { access: access.adminRead },
      schema: {
        tags,
        summary: 'Export Audit Entries',
        description: `Every entry matching the filters, newest first, streamed as NDJSON (one entry a line, the fields of AuditEntry) or CSV (a header row, then one row an entry; \`before\` and \`after\` as JSON; a value starting with = + - @ gets a leading '). ${REACH} Entries written after the export began are not in it.`,
        querystring: AuditExportQuery,
        response: {
          200: {
            description: 'The entries, as an attachment (Content-Disposition)',
            content: {
              'application/x-ndjson': { schema: Type.String({ examples: [NDJSON_EXAMPLE] }) },
              'text/csv': { schema: Type.String({ examples: [CSV_EXAMPLE] }) },
            },
          },
          ...managementErrors,
        },
      },
    },
    async (request, reply) => {
      const format = request.query.format ?? 'ndjson';
      const stream = audit.export(request.rights, request.query, format);
      const stamp = new Date().toISOString().replace(/[-:]/g, '').replace(/\.\d+/, '');
      return reply
        .header(
          'content-type',
          format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
        )
        .header('content-disposition', `attachment; filename="scaikey-audit-${stamp}.${format}"`)
        .header('cache-control', 'no-store')
        .send(stream as never);
    },
  );

  app.get(
    `${base}/:entry_id`,
    {
      config: { access: access.adminRead },
      schema: {
        tags,
        summary: 'Get Audit Entry',
        description: `One entry. ${REACH} An entry outside it answers 404, as an unknown one.`,
        params: EntryParams,
        response: { 200: Envelope(AuditEntry, 'ApiResponse_AuditEntry_'), ...managementErrors },
      },
    },
    async (request) => ok(request, await audit.get(request.rights, request.params.entry_id)),
  );
};
