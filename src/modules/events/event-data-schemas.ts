import { EVENT_CATALOGUE } from '../../platform/events/catalogue.js';

/**
 * The JSON Schema of each catalogue event's `data` (issue 14): what the change's audit entry
 * records as `after`, with `previous` holding its `before` (platform/events/events.repository.ts).
 * Known fields are documented; more may appear (additionalProperties), and an update carries only
 * the fields it changed. Served by GET /api/v1/admin/webhooks/events and in the OpenAPI document's
 * top-level `webhooks` (OpenAPI 3.1), one entry per type.
 */
type Schema = Record<string, unknown>;

const str = (description?: string): Schema => ({ type: 'string', ...(description ? { description } : {}) });
const nullableStr = (description?: string): Schema => ({
  type: ['string', 'null'],
  ...(description ? { description } : {}),
});
const bool = (description?: string): Schema => ({ type: 'boolean', ...(description ? { description } : {}) });
const int = (description?: string): Schema => ({ type: 'integer', ...(description ? { description } : {}) });
const ids = (description: string): Schema => ({ type: 'array', items: { type: 'string' }, description });
const free = (description: string): Schema => ({
  type: ['object', 'null'],
  additionalProperties: true,
  description,
});
const enumOf = (values: string[], description?: string): Schema => ({
  type: 'string',
  enum: values,
  ...(description ? { description } : {}),
});

const USER_STATUS = enumOf([
  'ACTIVE',
  'PENDING_EMAIL_VERIFICATION',
  'PENDING_APPROVAL',
  'DISABLED',
  'LOCKED',
]);
const USER: Schema = {
  id: str(),
  tenant_id: str(),
  email: str(),
  username: nullableStr(),
  first_name: nullableStr(),
  last_name: nullableStr(),
  display_name: nullableStr(),
  phone: nullableStr(),
  locale: str(),
  timezone: str(),
  status: USER_STATUS,
  status_reason: nullableStr(),
  identity_source: enumOf(['LOCAL', 'OIDC', 'SAML', 'SCIM', 'LDAP']),
  email_verified: bool(),
  avatar_url: nullableStr(),
  ou_id: nullableStr(),
  mfa_enabled: bool(),
  require_password_change: bool(),
  custom_attributes: free('Custom attributes'),
};
const PARTNER: Schema = {
  id: str(),
  name: str(),
  slug: str(),
  status: enumOf(['ACTIVE', 'SUSPENDED']),
  contact_email: nullableStr(),
  max_tenants: { type: ['integer', 'null'] },
  max_users_per_tenant: { type: ['integer', 'null'] },
  max_applications_per_tenant: { type: ['integer', 'null'] },
};
const TENANT: Schema = {
  id: str(),
  partner_id: str(),
  name: str(),
  slug: str(),
  status: enumOf(['ACTIVE', 'SUSPENDED']),
  contact_email: nullableStr(),
  settings: free('Tenant settings (policies)'),
  branding: free('Branding of the hosted pages'),
};
const GROUP: Schema = {
  id: str(),
  tenant_id: str(),
  name: str(),
  description: nullableStr(),
  group_type: enumOf(['SECURITY', 'DISTRIBUTION']),
};
const OU: Schema = {
  id: str(),
  tenant_id: str(),
  name: str(),
  description: nullableStr(),
  parent_id: nullableStr(),
  path: str('The unit’s path of ids from the root'),
};
const APPLICATION: Schema = {
  id: str(),
  name: str(),
  description: nullableStr(),
  application_type: enumOf(['WEB', 'SERVICE', 'SPA', 'NATIVE']),
  scope: enumOf(['GLOBAL', 'PARTNER', 'TENANT']),
  partner_id: nullableStr(),
  tenant_id: nullableStr(),
  redirect_uris: ids('Redirect URIs'),
  post_logout_redirect_uris: ids('Post-logout redirect URIs'),
  allowed_origins: ids('CORS origins'),
  allowed_scopes: ids('Scopes the application may request'),
  token_lifetime: int('Access-token lifetime in seconds'),
  assignment_required: bool(),
  require_pushed_authorization_requests: bool(),
  status: enumOf(['ACTIVE', 'DISABLED']),
};
const ROLE: Schema = {
  id: str(),
  user_id: str(),
  role: enumOf(['SUPER_ADMIN', 'PARTNER_ADMIN', 'TENANT_ADMIN']),
  partner_id: nullableStr(),
  tenant_id: nullableStr(),
  expires_at: nullableStr('ISO 8601'),
  is_active: bool(),
};
const FACTOR: Schema = {
  factor_id: str('The second factor (mfa_…)'),
  type: enumOf(['totp', 'email', 'sms', 'webauthn']),
  device_type: str('Passkeys: singleDevice or multiDevice'),
};

/** Fields of `data` per type (beyond `previous`). */
const DATA: Record<string, Schema> = {
  'partner.created': PARTNER,
  'partner.updated': PARTNER,
  'partner.deleted': {},
  'tenant.created': TENANT,
  'tenant.updated': TENANT,
  'tenant.deleted': {},
  'user.created': {
    ...USER,
    password_set: bool('Whether the user was created with a password'),
    group_ids: ids('Groups the user was added to'),
    mail: { type: ['string', 'null'], enum: ['welcome', 'invitation', null], description: 'The mail sent' },
  },
  'user.updated': { ...USER, method: str('SELF_SERVICE when the user changed it'), links_voided: int() },
  'user.deleted': { sessions_revoked: int('Sign-in sessions ended with the user') },
  'user.suspended': { status: USER_STATUS, status_reason: nullableStr() },
  'user.activated': { status: USER_STATUS, status_reason: nullableStr() },
  'user.status_changed': { status: USER_STATUS, status_reason: nullableStr() },
  'user.locked': { status: USER_STATUS, failed_login_attempts: int(), locked_until: nullableStr('ISO 8601') },
  'user.unlocked': { status: USER_STATUS, failed_login_attempts: int() },
  'user.password_changed': {
    method: str('How: SELF_SERVICE, RESET_LINK, INVITATION, ADMIN, REQUIRED_CHANGE, …'),
    sessions_revoked: int(),
  },
  'user.email_verified': { email: str(), email_verified: bool(), method: str() },
  'user.mfa_enabled': { mfa_enabled: bool(), factor_id: str(), type: FACTOR.type },
  'user.mfa_disabled': {
    mfa_enabled: bool(),
    factors_removed: int(),
    sessions_revoked: int(),
  },
  'user.mfa_factor_added': FACTOR,
  'user.mfa_factor_removed': FACTOR,
  'user.login': { client_id: str('The application signed in to'), method: str(), amr: ids('Methods used') },
  'user.login_failed': { reason: str('Why it failed (never the password)'), email: str() },
  'user.mfa_failed': { reason: str(), factor_id: str(), type: FACTOR.type },
  'group.created': { ...GROUP, initial_members: ids('Users added with the group') },
  'group.updated': GROUP,
  'group.deleted': {
    strategy: enumOf(['BLOCK', 'ORPHAN', 'CASCADE']),
    deleted_with: str('The group whose CASCADE delete removed this one'),
  },
  'group.member_added': { user_ids: ids('Users that became direct members') },
  'group.member_removed': {},
  'group.nested_group_added': { group_ids: ids('Groups nested in this one') },
  'group.nested_group_removed': {},
  'ou.created': OU,
  'ou.updated': OU,
  'ou.moved': { parent_id: nullableStr(), path: str() },
  'ou.deleted': { strategy: enumOf(['BLOCK', 'MOVE_UP', 'CASCADE']) },
  'application.created': { ...APPLICATION, client_secret_issued: bool('Whether a client secret was issued') },
  'application.updated': APPLICATION,
  'application.deleted': {},
  'application.secret_rotated': { source: str() },
  'application.user_assigned': { user_id: str() },
  'application.user_unassigned': { user_id: str() },
  'application.group_assigned': { group_id: str() },
  'application.group_unassigned': { group_id: str() },
  'admin_role.assigned': ROLE,
  'admin_role.updated': ROLE,
  'admin_role.revoked': { is_active: bool() },
  'session.revoked': { grants_revoked: int('Application grants ended with the session') },
  'authorized_app.revoked': { grants_revoked: int() },
};

/** What `previous` holds for a few types whose `before` is not a subset of `data`'s fields. */
const PREVIOUS: Record<string, Schema> = {
  'user.deleted': { email: str(), status: USER_STATUS, ou_id: nullableStr() },
  'partner.deleted': { name: str(), slug: str(), status: str() },
  'tenant.deleted': { name: str(), slug: str(), status: str() },
  'group.member_removed': { user_ids: ids('Users that stopped being direct members') },
  'group.nested_group_removed': { group_ids: ids('The nested group taken out'), kind: str() },
  'session.revoked': { user_id: str(), ip_address: nullableStr() },
  'authorized_app.revoked': { user_id: str() },
  'ou.deleted': { name: str(), path: str(), parent_id: nullableStr() },
};

/** The JSON Schema of an event type's `data`. */
export function eventDataSchema(type: string): Schema {
  const properties = DATA[type] ?? {};
  const previous = PREVIOUS[type] ?? properties;
  return {
    type: 'object',
    title: `${type} data`,
    properties: {
      ...properties,
      previous: {
        type: 'object',
        description: 'The values the change replaced (only the fields it changed), when it replaced any',
        properties: previous,
        additionalProperties: true,
      },
    },
    additionalProperties: true,
  };
}

const HEADERS: [string, string][] = [
  ['webhook-id', 'The event id (evt_…): the same on every retry and redelivery (Standard Webhooks)'],
  ['webhook-timestamp', 'Unix seconds of this attempt'],
  [
    'webhook-signature',
    '`v1,<base64 HMAC-SHA256>` of `{webhook-id}.{webhook-timestamp}.{body}` keyed with the secret’s bytes; ' +
      'two, space-separated, while a rotated secret still signs',
  ],
  ['X-ScaiKey-Webhook-ID', 'The numeric delivery id (GET …/deliveries)'],
  ['X-ScaiKey-Event-ID', 'The event id'],
  ['X-ScaiKey-Event-Type', 'The event type'],
  ['X-ScaiKey-Timestamp', 'Unix seconds of this attempt'],
  ['X-ScaiKey-Signature', '`t=<timestamp>,v1=<hex HMAC-SHA256 of {timestamp}.{body}>` with the same key'],
];

const nullable = { type: ['string', 'null'] };

/** What every delivery body has (components.schemas.WebhookDelivery); each type narrows `type` and `data`. */
const DELIVERY_ENVELOPE: Schema = {
  type: 'object',
  required: ['id', 'type', 'created_at', 'tenant_id', 'partner_id', 'resource', 'actor', 'data'],
  properties: {
    id: { type: 'string', description: 'The event id (evt_…)' },
    type: { type: 'string' },
    created_at: { type: 'string', format: 'date-time' },
    tenant_id: nullable,
    partner_id: nullable,
    resource: { type: 'object', properties: { type: { type: 'string' }, id: nullable } },
    actor: {
      type: 'object',
      properties: {
        type: { type: ['string', 'null'], description: 'admin, user, api, scim or system' },
        id: nullable,
      },
    },
    data: { type: 'object', additionalProperties: true },
    event_id: { type: 'string', description: 'The same as id (the documented envelope’s name)' },
    event_type: { type: 'string', description: 'The same as type' },
    timestamp: { type: 'string', format: 'date-time', description: 'The same as created_at' },
  },
};

/** The component name of an event type's data schema. */
const dataComponent = (type: string) => `EventData_${type}`;

/**
 * Adds OpenAPI 3.1 top-level `webhooks`: one entry per catalogue event, the request a receiver
 * gets. The envelope, the headers and each type's data schema are components, referenced.
 */
export function addWebhooksToDocument<D extends object>(document: D): D {
  const doc = document as { components?: Record<string, Record<string, unknown>> };
  const components = doc.components ?? {};
  const schemas = components.schemas ?? {};
  const parameters = components.parameters ?? {};
  doc.components = { ...components, schemas, parameters };
  schemas.WebhookDelivery = DELIVERY_ENVELOPE;
  for (const [name, description] of HEADERS) {
    parameters[`WebhookHeader_${name}`] = {
      in: 'header',
      name,
      required: true,
      description,
      schema: { type: 'string' },
    };
  }
  const webhooks: Record<string, unknown> = {};
  for (const entry of EVENT_CATALOGUE) {
    schemas[dataComponent(entry.type)] = eventDataSchema(entry.type);
    webhooks[entry.type] = {
      post: {
        operationId: `webhook_${entry.type.replace('.', '_')}`,
        summary: entry.type,
        description: `${entry.description} Delivered to endpoints subscribed to it (docs/api-decisions.md, "Webhooks").`,
        tags: ['Webhooks'],
        parameters: HEADERS.map(([name]) => ({ $ref: `#/components/parameters/WebhookHeader_${name}` })),
        requestBody: {
          required: true,
          content: {
            'application/json': {
              schema: {
                description: entry.description,
                allOf: [
                  { $ref: '#/components/schemas/WebhookDelivery' },
                  {
                    properties: {
                      type: { type: 'string', const: entry.type },
                      data: { $ref: `#/components/schemas/${dataComponent(entry.type)}` },
                    },
                  },
                ],
              },
            },
          },
        },
        responses: {
          '2XX': { description: 'Received: any 2xx ends the delivery' },
          default: {
            description:
              'Anything else (or no answer within the timeout, or a redirect) is retried with backoff',
          },
        },
      },
    };
  }
  return Object.assign(document, { webhooks });
}
