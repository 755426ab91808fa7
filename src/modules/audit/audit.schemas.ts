import { type Static, Type } from 'typebox';
import {
  FreeObject,
  MetaSchema,
  Nullable,
  PageQuery,
  PaginationSchema,
  Timestamp,
} from '../../platform/schemas.js';

export const AuditResult = Type.Unsafe<'SUCCESS' | 'FAILURE'>({
  type: 'string',
  enum: ['SUCCESS', 'FAILURE'],
  description: 'SUCCESS: the action happened; FAILURE: it was refused (a sign-in, a token request)',
});

export const AuditEntry = Type.Object(
  {
    id: Type.String({ description: 'The entry’s id (`evt_…`)' }),
    tenant_id: Nullable(Type.String(), {
      description: 'The tenant it happened in; null: platform or partner',
    }),
    partner_id: Nullable(Type.String(), { description: 'The partner of that tenant, or the partner itself' }),
    actor_type: Type.String({
      description:
        '`admin` (a user’s token), `api` (an application’s token), `user` (a user acting on their own account or signing in), `system`',
    }),
    actor_id: Nullable(Type.String(), { description: 'The user (`usr_…`) or application (`app_…`) acting' }),
    actor_email: Nullable(Type.String(), {
      description: 'The current email address of the acting user (null for applications and the system)',
    }),
    action: Type.String({ description: 'What happened (`GET /api/v1/admin/audit/actions`)' }),
    resource_type: Type.String({ description: 'The kind of thing it happened to' }),
    resource_id: Nullable(Type.String()),
    before: Nullable(FreeObject, {
      description: 'Changed fields before (never secrets or password material)',
    }),
    after: Nullable(FreeObject, { description: 'Changed fields after (never secrets or password material)' }),
    result: AuditResult,
    ip_address: Nullable(Type.String(), { description: 'The caller’s address' }),
    request_id: Nullable(Type.String(), { description: 'The request’s `x-request-id`' }),
    created_at: Timestamp,
  },
  { title: 'AuditEntry' },
);
export type AuditEntry = Static<typeof AuditEntry>;

const Id = (description: string) => Type.Optional(Type.String({ minLength: 1, maxLength: 64, description }));

/** The filters of the list and of the export. */
const filters = {
  tenant_id: Id('Entries of this tenant'),
  partner_id: Id('Entries of this partner and of its tenants'),
  actor_id: Id('Entries of this actor (user or application id)'),
  actor_email: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 320,
      description: 'Entries of the users with this email address now (any case; the users table by actor_id)',
    }),
  ),
  action: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: 'Exact action' })),
  resource_type: Type.Optional(Type.String({ minLength: 1, maxLength: 100 })),
  resource_id: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  result: Type.Optional(AuditResult),
  start_time: Type.Optional(
    Type.String({ format: 'date-time', description: 'Entries at or after this time (ISO 8601)' }),
  ),
  end_time: Type.Optional(
    Type.String({ format: 'date-time', description: 'Entries before this time (ISO 8601, exclusive)' }),
  ),
  ip_address: Type.Optional(Type.String({ minLength: 1, maxLength: 64, description: 'Exact address' })),
};

export const AuditListQuery = Type.Object({
  ...PageQuery,
  cursor: Type.Optional(
    Type.String({
      minLength: 1,
      maxLength: 512,
      description:
        'The `next_cursor` of the previous page: the page after it (keyset; replaces `page`, fast at any depth)',
    }),
  ),
  ...filters,
});
export type AuditListQuery = Static<typeof AuditListQuery>;

export const AuditExportFormat = Type.Unsafe<'ndjson' | 'csv'>({
  type: 'string',
  enum: ['ndjson', 'csv'],
  default: 'ndjson',
  description: '`ndjson`: one JSON entry a line; `csv`: RFC 4180 with a header row',
});

export const AuditExportQuery = Type.Object({ format: Type.Optional(AuditExportFormat), ...filters });
export type AuditExportQuery = Static<typeof AuditExportQuery>;

export type AuditFilter = Omit<AuditListQuery, 'page' | 'per_page' | 'cursor'>;

export const AuditPage = Type.Object(
  {
    data: Type.Array(AuditEntry),
    pagination: PaginationSchema,
    next_cursor: Nullable(Type.String(), {
      description: 'Pass as `cursor` for the next page; null on the last page',
    }),
    meta: MetaSchema,
  },
  { title: 'PaginatedResponse_AuditEntry_' },
);

export const AuditActionItem = Type.Object(
  {
    action: Type.String(),
    resource_type: Type.String({ description: 'The resource type its entries usually name' }),
    kind: Type.Unsafe<'change' | 'refusal' | 'event'>({
      type: 'string',
      enum: ['change', 'refusal', 'event'],
      description:
        '`change`: a change; `refusal`: a FAILURE entry; `event`: something that happened without changing data (a sign-in, issued tokens)',
    }),
    description: Type.String(),
    domain_event: Type.Boolean({
      description:
        'Its entries (SUCCESS, or FAILURE for a refusal) are also domain events: delivered by webhooks and in the change feed',
    }),
  },
  { title: 'AuditAction' },
);
export type AuditActionItem = Static<typeof AuditActionItem>;

export const AuditResourceTypeItem = Type.Object(
  { resource_type: Type.String(), description: Type.String() },
  { title: 'AuditResourceType' },
);
export type AuditResourceTypeItem = Static<typeof AuditResourceTypeItem>;
