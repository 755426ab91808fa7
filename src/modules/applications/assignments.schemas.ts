import { type Static, Type } from 'typebox';
import { Nullable, PageQuery, Timestamp, UserStatusEnum } from '../../platform/schemas.js';
import { ApplicationScopeEnum, ApplicationStatusEnum, ApplicationTypeEnum } from './applications.schemas.js';

const AssignmentTypeEnum = Type.Unsafe<'DIRECT' | 'GROUP'>({
  type: 'string',
  enum: ['DIRECT', 'GROUP'],
  title: 'AssignmentType',
  description: 'DIRECT when the user is assigned itself (it may be reached through groups too), else GROUP',
});
const ViaGroups = Type.Array(Type.String(), {
  description: 'The assigned groups through which the user is reached (nested membership included)',
});

export const AppAssignment = Type.Object(
  {
    application_id: Type.String(),
    application_name: Type.String(),
    application_type: ApplicationTypeEnum,
    scope: ApplicationScopeEnum,
    status: ApplicationStatusEnum,
    tenant_id: Type.String(),
    principal_type: Type.Unsafe<'USER' | 'GROUP'>({ type: 'string', enum: ['USER', 'GROUP'] }),
    principal_id: Type.String(),
    created_at: Timestamp,
  },
  { title: 'AppAssignment' },
);
export type AppAssignment = Static<typeof AppAssignment>;

export const AssignedUser = Type.Object(
  {
    user_id: Type.String(),
    email: Type.String(),
    display_name: Nullable(Type.String()),
    status: UserStatusEnum,
    assigned_at: Timestamp,
  },
  { title: 'AssignedUser' },
);

export const AssignedGroup = Type.Object(
  { group_id: Type.String(), name: Type.String(), assigned_at: Timestamp },
  { title: 'AssignedGroup' },
);

export const ApplicationAssigneesResponse = Type.Object(
  { application_id: Type.String(), users: Type.Array(AssignedUser), groups: Type.Array(AssignedGroup) },
  { title: 'ApplicationAssigneesResponse' },
);
export type ApplicationAssigneesResponse = Static<typeof ApplicationAssigneesResponse>;

export const EffectiveUser = Type.Object(
  {
    user_id: Type.String(),
    email: Type.String(),
    display_name: Nullable(Type.String()),
    status: UserStatusEnum,
    assignment_type: AssignmentTypeEnum,
    group_ids: ViaGroups,
  },
  { title: 'EffectiveUser' },
);
export type EffectiveUser = Static<typeof EffectiveUser>;

export const UserApplication = Type.Object(
  {
    application_id: Type.String(),
    name: Type.String(),
    application_type: ApplicationTypeEnum,
    scope: ApplicationScopeEnum,
    status: ApplicationStatusEnum,
    assignment_required: Type.Boolean(),
    assignment_type: AssignmentTypeEnum,
    group_ids: ViaGroups,
  },
  { title: 'UserApplication' },
);
export type UserApplication = Static<typeof UserApplication>;

export const UserAssignmentCheck = Type.Object(
  {
    application_id: Type.String(),
    user_id: Type.String(),
    assigned: Type.Boolean(),
    assignment_type: Nullable(AssignmentTypeEnum),
    group_ids: ViaGroups,
  },
  { title: 'UserAssignmentCheck' },
);
export type UserAssignmentCheck = Static<typeof UserAssignmentCheck>;

export const GroupAssignmentCreate = Type.Object(
  { application_id: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false, title: 'GroupAssignmentCreate' },
);
export const UserAssignmentCreate = Type.Object(
  { user_id: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false, title: 'UserAssignmentCreate' },
);

export const PageOnlyQuery = Type.Object({ ...PageQuery });
export const TenantApplicationParams = Type.Object({
  tenant_id: Type.String(),
  application_id: Type.String(),
});
export const TenantApplicationUserParams = Type.Object({
  tenant_id: Type.String(),
  application_id: Type.String(),
  user_id: Type.String(),
});
export const TenantGroupParams = Type.Object({ tenant_id: Type.String(), group_id: Type.String() });
export const TenantGroupApplicationParams = Type.Object({
  tenant_id: Type.String(),
  group_id: Type.String(),
  application_id: Type.String(),
});
export const TenantUserParams = Type.Object({ tenant_id: Type.String(), user_id: Type.String() });
