import { type Static, Type } from 'typebox';
import { SLUG_PATTERN } from '../../lib/slug.js';
import { EmailAddress, Nullable, PageQuery, Timestamp } from '../../platform/schemas.js';
import { TenantBranding, TenantSettings, TenantSettingsInput } from './tenant-settings.js';

const StatusEnum = Type.Unsafe<'ACTIVE' | 'SUSPENDED'>({ type: 'string', enum: ['ACTIVE', 'SUSPENDED'] });
const Name = Type.String({ minLength: 1, maxLength: 255 });
const Slug = Type.String({
  pattern: SLUG_PATTERN,
  description: '3–63 characters of [a-z0-9-], unique among live tenants',
});
const Email = EmailAddress;

export const TenantCreate = Type.Object(
  {
    name: Name,
    slug: Type.Optional(Slug),
    partner_id: Type.Optional(Nullable(Type.String(), { description: 'Defaults to the platform partner' })),
    contact_email: Type.Optional(Nullable(Email)),
    status: Type.Optional(StatusEnum),
    settings: Type.Optional(TenantSettingsInput),
    branding: Type.Optional(TenantBranding),
  },
  { additionalProperties: false, title: 'TenantCreate' },
);
export type TenantCreate = Static<typeof TenantCreate>;

export const TenantUpdate = Type.Object(
  {
    name: Type.Optional(Name),
    slug: Type.Optional(Slug),
    partner_id: Type.Optional(Type.String({ description: 'Moves the tenant to another partner' })),
    contact_email: Type.Optional(Nullable(Email)),
    status: Type.Optional(StatusEnum),
    settings: Type.Optional(TenantSettingsInput),
    branding: Type.Optional(TenantBranding),
  },
  {
    additionalProperties: false,
    title: 'TenantUpdate',
    description: '`settings` and `branding` merge one level deep: a key sent replaces that key, others stay.',
  },
);
export type TenantUpdate = Static<typeof TenantUpdate>;

export const TenantResponse = Type.Object(
  {
    id: Type.String(),
    partner_id: Type.String(),
    name: Type.String(),
    slug: Type.String(),
    status: StatusEnum,
    contact_email: Nullable(Type.String()),
    settings: TenantSettings,
    branding: TenantBranding,
    user_count: Type.Integer(),
    group_count: Type.Integer(),
    ou_count: Type.Integer(),
    created_at: Timestamp,
    updated_at: Nullable(Timestamp),
  },
  { title: 'TenantResponse' },
);
export type TenantResponse = Static<typeof TenantResponse>;

export const TenantListQuery = Type.Object({
  ...PageQuery,
  search: Type.Optional(Type.String({ maxLength: 255 })),
  status: Type.Optional(StatusEnum),
  partner_id: Type.Optional(Type.String()),
});
export type TenantListQuery = Static<typeof TenantListQuery>;

export const TenantParams = Type.Object({ tenant_id: Type.String() });
