import { type Static, Type } from 'typebox';
import { Nullable, PageQuery, Timestamp } from '../../platform/schemas.js';

export const SessionApplication = Type.Object(
  {
    client_id: Type.String(),
    name: Nullable(Type.String(), {
      description: 'null when the application no longer exists or is inactive',
    }),
  },
  { title: 'SessionApplication' },
);
export type SessionApplication = Static<typeof SessionApplication>;

const sessionFields = {
  id: Type.String({
    description:
      'The session’s public id (`ses_…`). Never the session cookie: the cookie’s value is a bearer secret and stays on the server.',
  }),
  user_id: Type.String(),
  tenant_id: Type.String(),
  created_at: Type.String({
    format: 'date-time',
    description: 'When the user last signed in through this session (password or other factors)',
  }),
  last_active_at: Type.String({
    format: 'date-time',
    description: 'The last sign-in or authorization request through this session',
  }),
  expires_at: Nullable(Timestamp, {
    description: 'When the session ends unless used again (the tenant’s session_timeout after the last use)',
  }),
  amr: Type.Array(Type.String(), { description: 'Authentication methods of the sign-in (RFC 8176)' }),
  acr: Nullable(Type.String()),
  ip_address: Nullable(Type.String(), { description: 'The browser’s address when the session signed in' }),
  user_agent: Nullable(Type.String(), { description: 'The browser’s User-Agent when the session signed in' }),
  applications: Type.Array(SessionApplication, {
    description: 'The applications signed in through this session',
  }),
};

export const SessionResponse = Type.Object(sessionFields, { title: 'SessionResponse' });
export type SessionResponse = Static<typeof SessionResponse>;

export const MySessionResponse = Type.Object(
  {
    ...sessionFields,
    current: Type.Boolean({
      description: 'Whether the access token of this request was issued through this session',
    }),
  },
  { title: 'MySessionResponse' },
);
export type MySessionResponse = Static<typeof MySessionResponse>;

export const AdminSessionListQuery = Type.Object({
  ...PageQuery,
  user_id: Type.Optional(Type.String({ maxLength: 64 })),
  tenant_id: Type.Optional(Type.String({ maxLength: 64 })),
  partner_id: Type.Optional(Type.String({ maxLength: 64, description: 'All tenants of the partner' })),
});
export type AdminSessionListQuery = Static<typeof AdminSessionListQuery>;

export const SessionRevokeAll = Type.Object(
  {
    user_id: Type.Optional(
      Type.String({ minLength: 1, maxLength: 64, description: 'Every session of this user' }),
    ),
    tenant_id: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description:
          'Every session of every user of this tenant (with user_id: that user, who must be in it)',
      }),
    ),
  },
  { additionalProperties: false, title: 'SessionRevokeAll' },
);
export type SessionRevokeAll = Static<typeof SessionRevokeAll>;

export const SessionRevokeAllResult = Type.Object(
  {
    sessions_revoked: Type.Integer({ description: 'How many sessions ended' }),
  },
  { title: 'SessionRevokeAllResult' },
);
export type SessionRevokeAllResult = Static<typeof SessionRevokeAllResult>;

export const AuthorizedApp = Type.Object(
  {
    client_id: Type.String(),
    name: Nullable(Type.String(), {
      description: 'null when the application no longer exists or is inactive',
    }),
    scopes: Type.Array(Type.String(), { description: 'Every scope the user granted the application' }),
    first_authorized_at: Timestamp,
    last_authorized_at: Type.String({
      format: 'date-time',
      description: 'The most recent sign-in that authorized the application anew (a new grant)',
    }),
  },
  { title: 'AuthorizedApp' },
);
export type AuthorizedApp = Static<typeof AuthorizedApp>;

export const AuthorizedAppRevoked = Type.Object(
  {
    client_id: Type.String(),
    grants_revoked: Type.Integer({ description: 'How many grants ended, with their refresh tokens' }),
  },
  { title: 'AuthorizedAppRevoked' },
);
