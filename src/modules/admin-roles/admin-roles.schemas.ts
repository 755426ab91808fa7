import { type Static, Type } from 'typebox';
import { Nullable, PageQuery, Timestamp } from '../../platform/schemas.js';

export const AdminRoleEnum = Type.Unsafe<'SUPER_ADMIN' | 'PARTNER_ADMIN' | 'TENANT_ADMIN'>({
  type: 'string',
  enum: ['SUPER_ADMIN', 'PARTNER_ADMIN', 'TENANT_ADMIN'],
  title: 'AdminRole',
});
export type AdminRoleName = Static<typeof AdminRoleEnum>;

const ExpiresAt = Nullable(Timestamp, {
  description: 'When the assignment stops granting anything (must be in the future); null = never',
});

export const AdminRoleAssign = Type.Object(
  {
    user_id: Type.String({ minLength: 1, maxLength: 64 }),
    role: AdminRoleEnum,
    partner_id: Type.Optional(Nullable(Type.String(), { description: 'Required for PARTNER_ADMIN' })),
    tenant_id: Type.Optional(
      Nullable(Type.String(), {
        description: "Required for TENANT_ADMIN: the user's own tenant (a token carries one tenant)",
      }),
    ),
    expires_at: Type.Optional(ExpiresAt),
  },
  { additionalProperties: false, title: 'AdminRoleAssign' },
);
export type AdminRoleAssign = Static<typeof AdminRoleAssign>;

export const AdminRoleUpdate = Type.Object(
  {
    expires_at: Type.Optional(ExpiresAt),
    is_active: Type.Optional(Type.Boolean({ description: 'false revokes; true reinstates' })),
  },
  { additionalProperties: false, title: 'AdminRoleUpdate' },
);
export type AdminRoleUpdate = Static<typeof AdminRoleUpdate>;

export const AdminRoleAssignment = Type.Object(
  {
    id: Type.String(),
    user_id: Type.String(),
    user_tenant_id: Type.String({ description: 'The tenant the user belongs to' }),
    user_email: Type.String(),
    role: AdminRoleEnum,
    partner_id: Nullable(Type.String(), {
      description: 'PARTNER_ADMIN: the partner; TENANT_ADMIN: the partner of the tenant',
    }),
    tenant_id: Nullable(Type.String()),
    expires_at: Nullable(Timestamp),
    is_active: Type.Boolean({ description: 'Granted now: not revoked and not expired' }),
    created_by: Nullable(Type.String({ description: 'The sub of the token that assigned it' })),
    created_at: Timestamp,
  },
  { title: 'AdminRoleAssignment' },
);
export type AdminRoleAssignment = Static<typeof AdminRoleAssignment>;

export const AdminRoleListQuery = Type.Object({
  ...PageQuery,
  role: Type.Optional(AdminRoleEnum),
  user_id: Type.Optional(Type.String()),
  is_active: Type.Optional(Nullable(Type.Boolean())),
});
export type AdminRoleListQuery = Static<typeof AdminRoleListQuery>;

export const UserRolesQuery = Type.Object({ is_active: Type.Optional(Nullable(Type.Boolean())) });

export const AssignmentParams = Type.Object({ assignment_id: Type.String() });
export const UserParams = Type.Object({ user_id: Type.String() });
