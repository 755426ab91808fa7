import { isIP } from 'node:net';
import { isId } from '../lib/ids.js';

/**
 * The JSON Schema of ScaiKey's environment: every variable with its type, default, constraints and
 * description. `loadConfig` validates the environment against it (through `env-schema`), and
 * `npm run docs:config` writes the tables of docs/configuration.md from it (a test checks that the
 * committed tables match), so the code and the documentation cannot disagree.
 *
 * Besides standard JSON Schema (draft-07) it uses a few keywords of ScaiKey's own, known to the
 * Ajv instance in config.ts:
 * - `protocols`: a URL (as WHATWG `new URL` reads it) of one of these schemes;
 * - `secret`: the value may hold a password; no message ever shows it;
 * - `unit`: what an integer counts (seconds, days);
 * - `defaultDescription`: the documented default where it is derived in code (no `default`).
 * Custom `format`s are the entries of FORMATS below.
 */

/** At most `max` counted requests per key in a fixed window of `windowMs`. */
export interface RateLimit {
  max: number;
  windowMs: number;
}

/**
 * Every rate limit, its variable and its default (`<count>/<window>`, or `off`). The defaults
 * follow Entra ID smart lockout (10 failures) and Keycloak brute-force detection (waits up to
 * 15 minutes); docs/configuration.md gives the reasons.
 */
export const RATE_LIMITS = {
  tokenPerIp: ['SCAIKEY_RATE_LIMIT_TOKEN_PER_IP', '6000/1m'],
  introspectionPerIp: ['SCAIKEY_RATE_LIMIT_INTROSPECTION_PER_IP', '6000/1m'],
  clientFailuresPerClient: ['SCAIKEY_RATE_LIMIT_CLIENT_FAILURES_PER_CLIENT', '10/5m'],
  clientFailuresPerIp: ['SCAIKEY_RATE_LIMIT_CLIENT_FAILURES_PER_IP', '30/5m'],
  signInPerIp: ['SCAIKEY_RATE_LIMIT_SIGN_IN_PER_IP', '60/1m'],
  signInFailuresPerIp: ['SCAIKEY_RATE_LIMIT_SIGN_IN_FAILURES_PER_IP', '30/15m'],
  signInFailuresPerAccount: ['SCAIKEY_RATE_LIMIT_SIGN_IN_FAILURES_PER_ACCOUNT', '10/15m'],
  passwordLinkPerIp: ['SCAIKEY_RATE_LIMIT_PASSWORD_LINK_PER_IP', '20/15m'],
  emailDiscoveryPerIp: ['SCAIKEY_RATE_LIMIT_EMAIL_DISCOVERY_PER_IP', '60/5m'],
  forgotPasswordPerIp: ['SCAIKEY_RATE_LIMIT_FORGOT_PASSWORD_PER_IP', '20/15m'],
  forgotPasswordPerAddress: ['SCAIKEY_RATE_LIMIT_FORGOT_PASSWORD_PER_ADDRESS', '5/1h'],
  verifyEmailPerUser: ['SCAIKEY_RATE_LIMIT_VERIFY_EMAIL_PER_USER', '5/1h'],
} as const satisfies Record<string, readonly [string, string]>;

export type RateLimitName = keyof typeof RATE_LIMITS;

/** What each rate limit counts, and per what key (docs/configuration.md, "Rate limits"). */
export const RATE_LIMIT_USES: Record<RateLimitName, { key: string; counts: string }> = {
  tokenPerIp: {
    key: 'client IP',
    counts: 'every request to a token endpoint (platform and tenant, every grant type)',
  },
  introspectionPerIp: {
    key: 'client IP',
    counts: 'every introspection request (platform and tenant)',
  },
  clientFailuresPerClient: {
    key: 'client id and IP',
    counts:
      'failed client authentications (wrong or missing secret) at the token, introspection and revocation endpoints; then that client id is refused from that IP, even with the right secret',
  },
  clientFailuresPerIp: {
    key: 'client IP',
    counts: 'the same failures, whatever the client id; then the IP is refused at those endpoints',
  },
  signInPerIp: {
    key: 'client IP',
    counts: 'every email-and-password POST of the hosted sign-in (each costs an argon2id hash)',
  },
  signInFailuresPerIp: {
    key: 'client IP',
    counts: 'failed sign-ins, any account (password spraying)',
  },
  signInFailuresPerAccount: {
    key: 'tenant and email',
    counts:
      'failed sign-ins of one email address in one tenant, existing or not, from any IP; then it is refused, the right password included',
  },
  passwordLinkPerIp: {
    key: 'client IP',
    counts: 'every POST of the set-password page behind invitation and reset links',
  },
  emailDiscoveryPerIp: {
    key: 'client IP',
    counts: "every POST of the platform sign-in's email step (each may mail an address its organizations)",
  },
  forgotPasswordPerIp: {
    key: 'client IP',
    counts: 'every POST of a tenant\'s "Forgot password?" page',
  },
  forgotPasswordPerAddress: {
    key: 'tenant and email address',
    counts: 'every POST of "Forgot password?" for one address, from any IP (each may mail it a link)',
  },
  verifyEmailPerUser: {
    key: 'user',
    counts: 'every `POST /api/v1/me/verify-email` of one user (each mails the address a link)',
  },
};

const WINDOW_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

/**
 * `<count>/<window>` (`10/5m`, `60/m`, `6000/1h`; count 1 to 10⁹, window 1 s to 24 h; blanks
 * around the parts allowed) or `off` (null); undefined for anything else.
 */
export function parseRateLimit(raw: string): RateLimit | null | undefined {
  const value = raw.trim();
  if (value.toLowerCase() === 'off') return null;
  const match = /^(\d{1,10})\s*\/\s*(\d{0,6})\s*([smh])$/.exec(value);
  if (!match) return undefined;
  const max = Number(match[1]);
  const windowMs = Number(match[2] || '1') * (WINDOW_UNITS[match[3] as string] as number);
  if (max < 1 || max > 1_000_000_000 || windowMs < 1000 || windowMs > 86_400_000) return undefined;
  return { max, windowMs };
}

/** `HOST`: an IPv4 or IPv6 address, or a host name (resolved by the system when listening). */
function isHost(host: string): boolean {
  if (isIP(host)) return true;
  // A host name: DNS labels of letters, digits and hyphens. Anything else that looks numeric
  // (999.1.1.1, 1.2.3) is a mistyped address, not a name.
  const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;
  return host.length <= 253 && host.split('.').every((part) => label.test(part)) && !/^[\d.]+$/.test(host);
}

/**
 * The string formats of the schema: how a value is checked, and what is expected in words (the
 * error messages and the documentation's "accepted" column both say `expected`; `markdown` is
 * the documentation's wording where it differs).
 */
export const FORMATS = {
  host: {
    validate: isHost,
    expected: 'an IP address (e.g. 127.0.0.1, 0.0.0.0, ::) or a host name',
    markdown: 'an IPv4 or IPv6 address (`0.0.0.0` or `::` for all interfaces) or a host name',
  },
  'application-id': {
    validate: (value: string) => isId('application', value),
    expected: 'an application id: "app_" followed by 20 characters of [0-9a-z]',
    markdown: 'an application id: `app_` + 20 of `[0-9a-z]`',
  },
  'email-address': {
    validate: (value: string) => /^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(value),
    expected: 'an email address',
    markdown: undefined,
  },
  mailbox: {
    validate: (value: string) => /^[^<>@\s]+@[^<>@\s]+$|<[^<>@\s]+@[^<>@\s]+>$/.test(value),
    expected: 'an address or "Name <address>"',
    markdown: 'an address or `Name <address>`',
  },
  'rate-limit': {
    validate: (value: string) => parseRateLimit(value) !== undefined,
    expected: '"<count>/<window>" (count 1 to 1000000000, window 1s to 24h, e.g. "10/5m") or "off"',
    markdown:
      '`<count>/<window>` (window `30s`, `5m`, `1h`, `m` = `1m`; 1 s to 24 h; count 1 to 10⁹), or `off`',
  },
} as const;

export type FormatName = keyof typeof FORMATS;

/** The schema of one variable (the subset of JSON Schema ScaiKey uses, and its own keywords). */
export interface VariableSchema {
  type: 'integer' | 'boolean' | 'string';
  description: string;
  default?: number | boolean | string;
  defaultDescription?: string;
  minimum?: number;
  maximum?: number;
  unit?: string;
  enum?: readonly string[];
  minLength?: number;
  format?: FormatName;
  protocols?: readonly string[];
  secret?: boolean;
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const rateLimitVariables = Object.fromEntries(
  Object.entries(RATE_LIMITS).map(([name, [variable, fallback]]) => [
    variable,
    {
      type: 'string',
      format: 'rate-limit',
      default: fallback,
      description: `Rate limit: ${RATE_LIMIT_USES[name as RateLimitName].counts}, per ${RATE_LIMIT_USES[name as RateLimitName].key}.`,
    } satisfies VariableSchema,
  ]),
) as Record<
  (typeof RATE_LIMITS)[RateLimitName][0],
  { type: 'string'; format: 'rate-limit'; default: string; description: string }
>;

/** Every variable, in the order of the documentation (also the order in which errors are reported). */
const VARIABLES = {
  PORT: {
    type: 'integer',
    minimum: 0,
    maximum: 65535,
    default: 8080,
    description: 'TCP port to listen on.',
  },
  HOST: {
    type: 'string',
    format: 'host',
    default: '127.0.0.1',
    description:
      'Address to listen on. Anything else (`999.1.1.1`) stops the start with a message naming `HOST`.',
  },
  DATABASE_URL: {
    type: 'string',
    protocols: ['postgres:', 'postgresql:'],
    secret: true,
    description: 'When set, ScaiKey runs on PostgreSQL; when not, on the embedded PGlite database.',
  },
  SCAIKEY_DATABASE_WAIT: {
    type: 'integer',
    unit: 'seconds',
    minimum: 0,
    maximum: 3600,
    default: 30,
    description:
      'Seconds a start waits for a PostgreSQL server that does not answer yet (refused or timed-out connections, DNS not yet resolving, server starting up), trying again with backoff from 0.25 s to 5 s. Then, or at once for a permanent failure such as a refused password or a missing database, the start stops (exit 1) with a message naming `DATABASE_URL`, its host, port and database (never its user or password) and the cause. `0` = no waiting.',
  },
  SCAIKEY_SHUTDOWN_GRACE: {
    type: 'integer',
    unit: 'seconds',
    minimum: 1,
    maximum: 3600,
    default: 20,
    description:
      'Seconds a shutdown (SIGTERM, SIGINT) lets requests in flight finish; see [Shutdown](#shutdown).',
  },
  SCAIKEY_DATA_DIR: {
    type: 'string',
    default: './data',
    description:
      "Folder of the embedded PGlite database (created when missing; an empty folder is filled from the build's prebuilt `dist/initial-database.tar`, ADR 0006). Ignored with `DATABASE_URL`. One process at a time may use a folder: it is locked (`scaikey.lock` inside it) before anything opens it, and a second process is refused — see [One process per data folder](#one-process-per-data-folder).",
  },
  SCAIKEY_CONSOLE_DIR: {
    type: 'string',
    defaultDescription: '`console/dist` of the installation',
    description:
      'Folder of the built admin console (`index.html` and `assets/`), served at `/console/`. `npm run build` builds it there; without it `/console/` answers 503. Set it only to serve a console built elsewhere — see [docs/console.md](console.md).',
  },
  SCAIKEY_PUBLIC_URL: {
    type: 'string',
    protocols: ['http:', 'https:'],
    defaultDescription: '`http://HOST:PORT`',
    description:
      'The URL clients reach ScaiKey at (scheme, host, optional path; no trailing slash needed). Token issuers and every URL in discovery documents are built from it, whatever Host header a request carries. Set it behind a proxy or load balancer.',
  },
  SCAIKEY_TRUST_PROXY: {
    type: 'boolean',
    default: false,
    description:
      'Trust `X-Forwarded-For`/`-Proto` for client IPs in logs and audit. Only behind a proxy you control.',
  },
  SCAIKEY_BOOTSTRAP_CLIENT_ID: {
    type: 'string',
    format: 'application-id',
    defaultDescription: 'generated',
    description: 'Client id of the bootstrap GLOBAL SERVICE application. A malformed id stops the start.',
  },
  SCAIKEY_BOOTSTRAP_CLIENT_SECRET: {
    type: 'string',
    minLength: 32,
    secret: true,
    defaultDescription: 'generated',
    description:
      'Its secret. When it differs from the stored one at a later start, the stored digest is replaced (audited). When neither id nor secret is set, both are generated on the first start and printed once.',
  },
  SCAIKEY_BOOTSTRAP_ADMIN_EMAIL: {
    type: 'string',
    format: 'email-address',
    description: 'A super_admin user created in the platform tenant when no live user has this email.',
  },
  SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD: {
    type: 'string',
    minLength: 12,
    secret: true,
    description: 'Its password (the default password policy); stored as an argon2id hash.',
  },
  LOG_LEVEL: {
    type: 'string',
    enum: LOG_LEVELS,
    default: 'info',
    description:
      'JSON logs (pino) on stdout; Authorization and Cookie headers are never logged; secret query values (link tokens, `id_token_hint`, codes, hints, `state`) are logged as `[REDACTED]`.',
  },
  SCAIKEY_SMTP_URL: {
    type: 'string',
    protocols: ['smtp:', 'smtps:'],
    secret: true,
    description:
      'Outbound mail server, `smtp://user:pass@host:587` or `smtps://user:pass@host:465`. Without it mail (invitations, password resets, welcome mails) stays in the development outbox: the `email_outbox` table; the log says each mail at `info` level and shows its text (with its links) only at `debug` level.',
  },
  SCAIKEY_SMS_WEBHOOK_URL: {
    type: 'string',
    protocols: ['http:', 'https:'],
    secret: true,
    description:
      'Where text messages go (SMS one-time codes, issue 13): each is POSTed as JSON `{"to": "+…", "text": "…", "kind": "mfa_code", "tenant_id": "tnt_…"}` to this URL (your SMS gateway or a small adapter in front of it; credentials may be in the URL), 5 s timeout, no redirects, any 2xx is delivered. Without it (and without `SCAIKEY_SMS_SENDER=dev-outbox`) SMS cannot be enabled (409 `SMS_NOT_CONFIGURED`). The log says each message at `info` level with the number masked and never its text.',
  },
  SCAIKEY_SMS_SENDER: {
    type: 'string',
    enum: ['webhook', 'dev-outbox'],
    defaultDescription: '`webhook` when `SCAIKEY_SMS_WEBHOOK_URL` is set, else none',
    description:
      'How text messages leave. `webhook`: POSTed to `SCAIKEY_SMS_WEBHOOK_URL` (which it needs). `dev-outbox`, for development and tests only, never a default: texts are not sent but kept in memory (the last 100) and logged like mail in the development outbox, the number masked at `info` level and the text with its code only at `debug` level; it cannot be combined with a webhook URL and the start logs a warning. With neither, SMS cannot be enabled (409 `SMS_NOT_CONFIGURED`).',
  },
  SCAIKEY_EVENT_RETENTION_DAYS: {
    type: 'integer',
    unit: 'days',
    minimum: 1,
    maximum: 3650,
    default: 30,
    description:
      'Days the domain events (the change feed, `GET /api/v1/tenants/{tenant_id}/events`, and what webhooks deliver) are kept; older events are deleted hourly. A feed consumer whose cursor is older reads on from the oldest event kept.',
  },
  SCAIKEY_WEBHOOK_ALLOW_PRIVATE: {
    type: 'boolean',
    default: false,
    description:
      'Let webhook endpoints be on private, loopback, link-local, unique-local, CGNAT, multicast or unspecified addresses (IPv4 and IPv6, IPv4-mapped included). Off, such a URL is refused when an endpoint is created or changed, and again at each delivery (the host name is resolved and every address checked, and the connection goes to the checked address). Turn it on only for development and tests.',
  },
  SCAIKEY_FEDERATION_ALLOW_HTTP: {
    type: 'boolean',
    default: false,
    description:
      'Let identity providers be reached over plain `http://` (an OpenID provider’s issuer, its endpoints and keys). Off, only `https://` issuers are accepted, when a provider is created or changed and at each sign-in. Turn it on only for development and tests with providers on loopback addresses.',
  },
  SCAIKEY_WEBHOOK_TIMEOUT_MS: {
    type: 'integer',
    unit: 'milliseconds',
    minimum: 100,
    maximum: 60000,
    default: 10000,
    description:
      'How long a webhook delivery may take, connection and response included; a slower endpoint counts as a failed attempt (retried).',
  },
  SCAIKEY_WEBHOOK_RETRY_BASE_MS: {
    type: 'integer',
    unit: 'milliseconds',
    minimum: 10,
    maximum: 3600000,
    default: 5000,
    description:
      'The first retry delay of a failed webhook delivery; each further retry waits twice as long (at most 6 hours), with ±25% jitter.',
  },
  SCAIKEY_WEBHOOK_RETRY_WINDOW: {
    type: 'integer',
    unit: 'seconds',
    minimum: 1,
    maximum: 2592000,
    default: 259200,
    description:
      'How long a webhook delivery is retried (from the event) before it is given up as failed; the endpoint is then disabled (audited `webhook.disabled`). Default 3 days.',
  },
  SCAIKEY_WEBHOOK_FAILING_AFTER: {
    type: 'integer',
    minimum: 1,
    maximum: 1000,
    default: 5,
    description:
      'Consecutive failed attempts after which a webhook endpoint shows status `failing` (a success makes it `active` again).',
  },
  SCAIKEY_WEBHOOK_CONCURRENCY: {
    type: 'integer',
    minimum: 1,
    maximum: 1000,
    default: 16,
    description: 'Webhook deliveries one instance sends at the same time.',
  },
  SCAIKEY_MAIL_FROM: {
    type: 'string',
    format: 'mailbox',
    defaultDescription: '`ScaiKey <no-reply@{public host}>`',
    description: 'Sender of outbound mail.',
  },
  SCAIKEY_NATIVE_CLIENT_CREDENTIALS: {
    type: 'boolean',
    default: true,
    description:
      "Answer `grant_type=client_credentials` natively at the token URL (same tokens as oidc-provider, ~40% less work per grant; see docs/adr/0002). `false` sends it through oidc-provider, which then accepts HTTP Basic client authentication only. A request with a `DPoP` proof header always goes through oidc-provider (it binds the token to the proof's key).",
  },
  SCAIKEY_NATIVE_USER_GRANTS: {
    type: 'boolean',
    default: true,
    description:
      "Answer ordinary `grant_type=authorization_code` and `refresh_token` requests natively at a tenant's token URL (same tokens and stored rows as oidc-provider, a fraction of the work; see docs/adr/0016). Anything unusual (a failed check, DPoP, a browser origin, a `claims` request, other parameters) still goes to oidc-provider, which answers it as before. `false` sends every such grant to oidc-provider. Needs `SCAIKEY_NATIVE_CLIENT_CREDENTIALS` (the native path reads the request body).",
  },
  SCAIKEY_REDIS_URL: {
    type: 'string',
    protocols: ['redis:', 'rediss:'],
    secret: true,
    description:
      "User, password, database number as usual. When set, the rate-limit counters live in Redis instead of the database's `rate_limits` table; a Redis that does not answer stops the start. Keys start with `scaikey:rl:` and a namespace derived from the database, so several installations may share one Redis.",
  },
  SCAIKEY_AUDIT_RETENTION_DAYS: {
    type: 'integer',
    unit: 'days',
    minimum: 0,
    maximum: 36500,
    default: 365,
    description:
      "Days audit entries without a tenant (platform and partner entries) are kept; a tenant's own entries follow its `audit_retention_days` setting. Older entries are deleted hourly in batches by every instance. `0` = kept forever.",
  },
  ...rateLimitVariables,
} as const satisfies Record<string, VariableSchema>;

export type VariableName = keyof typeof VARIABLES;

/** The environment after validation: defaults filled in, integers and booleans typed. */
export type Environment = {
  [name in VariableName]: (typeof VARIABLES)[name] extends { type: 'integer' }
    ? number
    : (typeof VARIABLES)[name] extends { type: 'boolean' }
      ? boolean
      : (typeof VARIABLES)[name] extends { default: string }
        ? string
        : string | undefined;
};

/** The JSON Schema of the environment, as env-schema takes it. */
export const ENVIRONMENT_SCHEMA = {
  type: 'object',
  properties: VARIABLES as Record<VariableName, VariableSchema>,
  /**
   * Variables that need another. A pair that needs each other (the bootstrap admin's email and
   * password) names the one missing; a one-way need names the variable that is set.
   */
  dependencies: {
    SCAIKEY_BOOTSTRAP_CLIENT_SECRET: ['SCAIKEY_BOOTSTRAP_CLIENT_ID'],
    SCAIKEY_BOOTSTRAP_ADMIN_EMAIL: ['SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD'],
    SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD: ['SCAIKEY_BOOTSTRAP_ADMIN_EMAIL'],
  } as Partial<Record<VariableName, VariableName[]>>,
  additionalProperties: false,
};

/** What a variable accepts, in words: the error messages say "must be <this>". */
export function expectation(schema: VariableSchema): string {
  if (schema.type === 'integer') {
    const unit = schema.unit ? ` of ${schema.unit}` : '';
    return `a whole number${unit} from ${schema.minimum} to ${schema.maximum}`;
  }
  if (schema.type === 'boolean') return 'true or false (or 1/0, yes/no, on/off)';
  if (schema.enum) return `one of ${schema.enum.join(', ')}`;
  if (schema.format) return FORMATS[schema.format].expected;
  if (schema.protocols) {
    return `a URL starting with ${schema.protocols.map((scheme) => `${scheme}//`).join(' or ')}`;
  }
  if (schema.minLength !== undefined) return `at least ${schema.minLength} characters long`;
  return 'any text';
}
