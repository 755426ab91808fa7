import { type Static, Type } from 'typebox';
import { SLUG_PATTERN } from '../../lib/slug.js';
import { EmailAddress, Nullable, PageQuery, Timestamp } from '../../platform/schemas.js';

export const PartnerStatus = Type.Union([Type.Literal('ACTIVE'), Type.Literal('SUSPENDED')]);
const StatusEnum = Type.Unsafe<'ACTIVE' | 'SUSPENDED'>({ type: 'string', enum: ['ACTIVE', 'SUSPENDED'] });
const Limit = Nullable(Type.Integer({ minimum: 0, maximum: 1_000_000_000 }));
const Name = Type.String({ minLength: 1, maxLength: 255 });
const Slug = Type.String({ pattern: SLUG_PATTERN, description: '3–63 characters of [a-z0-9-]' });
const Email = EmailAddress;

export const PartnerCreate = Type.Object(
  {
    name: Name,
    slug: Type.Optional(Slug),
    status: Type.Optional(StatusEnum),
    contact_email: Type.Optional(Nullable(Email)),
    max_tenants: Type.Optional(Limit),
    max_users_per_tenant: Type.Optional(Limit),
    max_applications_per_tenant: Type.Optional(Limit),
  },
  { additionalProperties: false, title: 'PartnerCreate' },
);
export type PartnerCreate = Static<typeof PartnerCreate>;

export const PartnerUpdate = Type.Object(
  {
    name: Type.Optional(Name),
    slug: Type.Optional(Slug),
    status: Type.Optional(StatusEnum),
    contact_email: Type.Optional(Nullable(Email)),
    max_tenants: Type.Optional(Limit),
    max_users_per_tenant: Type.Optional(Limit),
    max_applications_per_tenant: Type.Optional(Limit),
  },
  { additionalProperties: false, title: 'PartnerUpdate' },
);
export type PartnerUpdate = Static<typeof PartnerUpdate>;

export const PartnerResponse = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    slug: Type.String(),
    status: StatusEnum,
    contact_email: Nullable(Type.String()),
    max_tenants: Nullable(Type.Integer()),
    max_users_per_tenant: Nullable(Type.Integer()),
    max_applications_per_tenant: Nullable(Type.Integer()),
    tenant_count: Type.Integer(),
    created_at: Timestamp,
    updated_at: Nullable(Timestamp),
  },
  { title: 'PartnerResponse' },
);
export type PartnerResponse = Static<typeof PartnerResponse>;

export const PartnerListQuery = Type.Object({
  ...PageQuery,
  search: Type.Optional(Type.String({ maxLength: 255 })),
  status: Type.Optional(StatusEnum),
});
export type PartnerListQuery = Static<typeof PartnerListQuery>;

export const PartnerParams = Type.Object({ partner_id: Type.String() });
