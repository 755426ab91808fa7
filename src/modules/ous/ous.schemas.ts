import { type Static, type TSchema, Type } from 'typebox';
import { FreeObject, Nullable, PageQuery, Timestamp } from '../../platform/schemas.js';

/** OU names: 1–255 characters, no "/" (it separates the names in `path`). */
const Name = Type.String({ minLength: 1, maxLength: 255, pattern: '^[^/]+$' });
const Description = Nullable(Type.String({ maxLength: 2000 }));

export const OUCreate = Type.Object(
  {
    name: Name,
    description: Type.Optional(Description),
    parent_id: Type.Optional(Nullable(Type.String())),
    custom_attributes: Type.Optional(Nullable(FreeObject)),
  },
  { additionalProperties: false, title: 'OUCreate' },
);
export type OUCreate = Static<typeof OUCreate>;

export const OUUpdate = Type.Object(
  {
    name: Type.Optional(Name),
    description: Type.Optional(Description),
    parent_id: Type.Optional(Nullable(Type.String(), { description: 'null moves the OU to the root' })),
    custom_attributes: Type.Optional(Nullable(FreeObject)),
  },
  { additionalProperties: false, title: 'OUUpdate' },
);
export type OUUpdate = Static<typeof OUUpdate>;

export const OUListItem = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    path: Type.String(),
    parent_id: Nullable(Type.String()),
    user_count: Type.Integer(),
  },
  { title: 'OUListItem' },
);
export type OUListItem = Static<typeof OUListItem>;

export const OUChildInfo = Type.Object(
  {
    ou_id: Type.String(),
    name: Type.String(),
    path: Type.String(),
    user_count: Type.Integer(),
    children: Type.Array(Type.Unsafe<unknown>({ type: 'object' })),
  },
  { title: 'OUChildInfo' },
);
export type OUChildInfo = Static<typeof OUChildInfo>;

export const OUResponse = Type.Object(
  {
    name: Type.String(),
    description: Nullable(Type.String()),
    id: Type.String(),
    path: Type.String(),
    parent_id: Nullable(Type.String()),
    child_ou_count: Type.Integer(),
    user_count: Type.Integer(),
    children: Nullable(Type.Array(OUChildInfo)),
    custom_attributes: Nullable(FreeObject),
    created_at: Timestamp,
    updated_at: Nullable(Timestamp),
  },
  { title: 'OUResponse' },
);
export type OUResponse = Static<typeof OUResponse>;

export interface OUTreeNode {
  id: string;
  name: string;
  path: string;
  children: OUTreeNode[];
}

/** OUTreeNode, recursive: `{ id, name, path, children: [OUTreeNode] }`. */
export const OUTreeNodeSchema: TSchema = Type.Unsafe<OUTreeNode>({
  $id: 'OUTreeNode',
  title: 'OUTreeNode',
  type: 'object',
  required: ['id', 'name', 'path', 'children'],
  properties: {
    id: { type: 'string' },
    name: { type: 'string' },
    path: { type: 'string' },
    children: { type: 'array', items: { $ref: 'OUTreeNode#' } },
  },
});

export const OUListQuery = Type.Object({
  ...PageQuery,
  search: Type.Optional(Type.String({ maxLength: 255 })),
  parent_id: Type.Optional(Type.String()),
});
export type OUListQuery = Static<typeof OUListQuery>;

export const OUDeleteQuery = Type.Object({
  strategy: Type.Optional(
    Type.Unsafe<'BLOCK' | 'MOVE_UP' | 'CASCADE'>({
      type: 'string',
      enum: ['BLOCK', 'MOVE_UP', 'CASCADE'],
      default: 'BLOCK',
    }),
  ),
});

export const OUUsersQuery = Type.Object({
  ...PageQuery,
  include_nested: Type.Optional(Type.Boolean({ default: false })),
});

export const TenantParams = Type.Object({ tenant_id: Type.String() });
export const OUParams = Type.Object({ tenant_id: Type.String(), ou_id: Type.String() });
