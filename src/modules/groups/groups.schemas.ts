import { type Static, Type } from 'typebox';
import { FreeObject, Nullable, PageQuery, Timestamp } from '../../platform/schemas.js';

/** Most ids one request may name in a member or nested-group list (the body limit allows ~40,000). */
export const MAX_IDS_PER_REQUEST = 10_000;

export const GroupTypeEnum = Type.Unsafe<'SECURITY' | 'DISTRIBUTION'>({
  type: 'string',
  enum: ['SECURITY', 'DISTRIBUTION'],
  title: 'GroupType',
});
export type GroupType = Static<typeof GroupTypeEnum>;

/** Group names: 1–255 characters, no "/" (it separates the names in `parent_group_path`). */
const Name = Type.String({ minLength: 1, maxLength: 255, pattern: '^[^/]+$' });
const Description = Nullable(Type.String({ maxLength: 2000 }));
const IdList = (description: string) =>
  Type.Array(Type.String({ maxLength: 64 }), { maxItems: MAX_IDS_PER_REQUEST, description });

const createFields = {
  name: Name,
  description: Type.Optional(Description),
  group_type: Type.Optional(
    Type.Unsafe<GroupType>({ type: 'string', enum: ['SECURITY', 'DISTRIBUTION'], default: 'SECURITY' }),
  ),
  parent_group_id: Type.Optional(Nullable(Type.String())),
  initial_members: Type.Optional(IdList('User ids added as DIRECT members')),
  custom_attributes: Type.Optional(Nullable(FreeObject)),
};

export const GroupCreate = Type.Object(createFields, {
  additionalProperties: false,
  title: 'GroupCreate',
});
export type GroupCreate = Static<typeof GroupCreate>;

export const AdminGroupCreate = Type.Object(
  { ...createFields, tenant_id: Type.String({ description: 'The tenant the group is created in' }) },
  { additionalProperties: false, title: 'AdminGroupCreate' },
);
export type AdminGroupCreate = Static<typeof AdminGroupCreate>;

export const GroupUpdate = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Description),
    parent_group_id: Type.Optional(
      Nullable(Type.String(), { description: 'null makes the group top-level' }),
    ),
    custom_attributes: Type.Optional(Nullable(FreeObject)),
  },
  { additionalProperties: false, title: 'GroupUpdate' },
);
export type GroupUpdate = Static<typeof GroupUpdate>;

export const GroupMembershipUpdate = Type.Object(
  {
    users_to_add: Type.Optional(IdList('User ids to add as DIRECT members')),
    users_to_remove: Type.Optional(IdList('User ids whose DIRECT membership ends')),
  },
  { additionalProperties: false, title: 'GroupMembershipUpdate' },
);
export type GroupMembershipUpdate = Static<typeof GroupMembershipUpdate>;

export const GroupMembersAdd = Type.Object(
  { user_ids: IdList('User ids to add as DIRECT members') },
  { additionalProperties: false, title: 'GroupMembersAdd' },
);

export const NestedGroupsAdd = Type.Object(
  { group_ids: IdList('Group ids to nest in this group') },
  { additionalProperties: false, title: 'NestedGroupsAdd' },
);

export const GroupListItem = Type.Object(
  {
    id: Type.String(),
    tenant_id: Type.String(),
    name: Type.String(),
    group_type: GroupTypeEnum,
    member_count: Type.Integer(),
    parent_group_id: Nullable(Type.String()),
  },
  { title: 'GroupListItem' },
);
export type GroupListItem = Static<typeof GroupListItem>;

export const GroupMemberInfo = Type.Object(
  {
    user_id: Type.String(),
    email: Type.String(),
    display_name: Nullable(Type.String()),
    membership_type: Type.Unsafe<'DIRECT' | 'INHERITED'>({ type: 'string', enum: ['DIRECT', 'INHERITED'] }),
  },
  { title: 'GroupMemberInfo' },
);
export type GroupMemberInfo = Static<typeof GroupMemberInfo>;

export const NestedGroupInfo = Type.Object(
  { group_id: Type.String(), name: Type.String(), member_count: Type.Integer() },
  { title: 'NestedGroupInfo' },
);
export type NestedGroupInfo = Static<typeof NestedGroupInfo>;

export const GroupResponse = Type.Object(
  {
    name: Type.String(),
    description: Nullable(Type.String()),
    group_type: GroupTypeEnum,
    id: Type.String(),
    tenant_id: Type.String(),
    parent_group_id: Nullable(Type.String()),
    parent_group_path: Nullable(Type.String()),
    member_count: Type.Integer(),
    effective_member_count: Nullable(Type.Integer()),
    nested_group_count: Type.Integer(),
    members: Nullable(Type.Array(GroupMemberInfo)),
    nested_groups: Nullable(Type.Array(NestedGroupInfo)),
    custom_attributes: Nullable(FreeObject),
    created_at: Timestamp,
    updated_at: Nullable(Timestamp),
  },
  { title: 'GroupResponse' },
);
export type GroupResponse = Static<typeof GroupResponse>;

export const GroupListQuery = Type.Object({
  ...PageQuery,
  search: Type.Optional(Type.String({ maxLength: 255 })),
  type: Type.Optional(GroupTypeEnum),
  parent_group_id: Type.Optional(Type.String({ description: 'Direct children in the hierarchy' })),
  user_id: Type.Optional(
    Type.String({ description: 'Groups the user is an effective member of (direct or inherited)' }),
  ),
});
export type GroupListQuery = Static<typeof GroupListQuery>;

export const AdminGroupListQuery = Type.Object({
  ...PageQuery,
  search: Type.Optional(Type.String({ maxLength: 255 })),
  tenant_id: Type.Optional(Type.String()),
  partner_id: Type.Optional(Type.String({ description: 'Filter by partner (all tenants in partner)' })),
  group_type: Type.Optional(GroupTypeEnum),
});
export type AdminGroupListQuery = Static<typeof AdminGroupListQuery>;

export const GroupGetQuery = Type.Object({
  include: Type.Optional(
    Type.String({
      pattern: '^\\s*(members|nested_groups)\\s*(,\\s*(members|nested_groups)\\s*)*$',
      description:
        'Comma list of members (direct members, at most 1,000), nested_groups (direct child groups)',
    }),
  ),
});

export type GroupDeleteStrategy = 'BLOCK' | 'ORPHAN' | 'CASCADE';
export const GroupDeleteQuery = Type.Object({
  strategy: Type.Optional(
    Type.Unsafe<GroupDeleteStrategy>({
      type: 'string',
      enum: ['BLOCK', 'ORPHAN', 'CASCADE'],
      default: 'BLOCK',
    }),
  ),
});

export const PageOnlyQuery = Type.Object({ ...PageQuery });

export const TenantParams = Type.Object({ tenant_id: Type.String() });
export const TenantGroupParams = Type.Object({ tenant_id: Type.String(), group_id: Type.String() });
export const GroupParams = Type.Object({ group_id: Type.String() });
export const GroupMemberParams = Type.Object({ group_id: Type.String(), user_id: Type.String() });
export const NestedGroupParams = Type.Object({ group_id: Type.String(), child_group_id: Type.String() });
