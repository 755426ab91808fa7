import { resolve } from 'node:path';
import { Ajv, type ErrorObject, type KeywordDefinition } from 'ajv';
import envSchema from 'env-schema';
import {
  ENVIRONMENT_SCHEMA,
  type Environment,
  expectation,
  FORMATS,
  type LOG_LEVELS,
  parseRateLimit,
  RATE_LIMITS,
  type RateLimit,
  type RateLimitName,
  type VariableName,
  type VariableSchema,
} from './config-schema.js';

export { RATE_LIMITS, type RateLimit, type RateLimitName } from './config-schema.js';

/** Validated runtime configuration. Built from environment variables only (docs/configuration.md). */
export interface Config {
  port: number;
  host: string;
  /** PostgreSQL connection string; when absent the embedded PGlite database in `dataDir` is used. */
  databaseUrl: string | null;
  dataDir: string;
  /** Folder of the built admin console (SCAIKEY_CONSOLE_DIR); absent or null = the installation's console/dist. */
  consoleDir?: string | null;
  /** Base URL the service is reached at; issuers and discovery documents are built from it. */
  publicUrl: string;
  /** Trust X-Forwarded-* headers (only behind a proxy you control). */
  trustProxy: boolean;
  bootstrap: {
    clientId: string | null;
    clientSecret: string | null;
    adminEmail: string | null;
    adminPassword: string | null;
  };
  logLevel: (typeof LOG_LEVELS)[number];
  mail: {
    /** smtp:// or smtps:// URL; null keeps mail in the development outbox (database + log). */
    smtpUrl: string | null;
    from: string;
  };
  /**
   * Text messages (SMS codes): the webhook they are POSTed to, or (development only, asked for
   * with SCAIKEY_SMS_SENDER=dev-outbox) the development outbox; neither = no SMS sender.
   */
  sms: { webhookUrl: string | null; devOutbox?: boolean };
  /** Domain events (change feed, webhooks): days they are kept. */
  events: { retentionDays: number };
  /** Webhook delivery (docs/api-decisions.md, "Webhooks"). */
  webhooks: WebhookSettings;
  /**
   * Answer grant_type=client_credentials natively at the token URL instead of through oidc-provider
   * (same tokens, about 40% faster; see docs/adr/0002-native-client-credentials.md). On unless turned off.
   */
  nativeClientCredentials: boolean;
  /**
   * Answer ordinary authorization_code and refresh_token grants natively at a tenant's token URL
   * (same tokens and rows as oidc-provider; docs/adr/0016-native-user-grants.md). On unless turned
   * off; needs nativeClientCredentials (which reads the body before the hand-over).
   */
  nativeUserGrants: boolean;
  /** The rate limits (docs/configuration.md, "Rate limits"); null = that limit is off. */
  rateLimits: Record<RateLimitName, RateLimit | null>;
  /** Redis (redis:// or rediss://) for the rate-limit counters; null keeps them in the database. */
  redisUrl: string | null;
  /** How long the start waits for an unreachable PostgreSQL (retrying with backoff), in ms; 0 = no wait. */
  databaseWaitMs: number;
  /** How long a shutdown lets in-flight requests finish before closing their connections, in ms. */
  shutdownGraceMs: number;
  /** Days audit entries without a tenant are kept (tenants set their own); 0 = forever. */
  auditRetentionDays: number;
  /** Reach identity providers over plain http:// (development and tests only). */
  federationAllowHttp: boolean;
}

export interface WebhookSettings {
  /** Deliver to private, loopback, link-local … addresses (development and tests only). */
  allowPrivate: boolean;
  timeoutMs: number;
  /** First retry delay; doubled per retry, capped, with jitter. */
  retryBaseMs: number;
  /** How long a delivery is retried before it fails (and disables its endpoint). */
  retryWindowMs: number;
  /** Consecutive failed attempts that make an endpoint `failing`. */
  failingAfter: number;
  /** Deliveries one instance sends at once. */
  concurrency: number;
}

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`Invalid configuration: ${variable} ${message}`);
    this.name = 'ConfigError';
  }
}

/** Reads `raw` as a URL of one of `protocols`: the reason it is not, or null. */
function urlProblem(raw: string, protocols: readonly string[]): 'not-a-url' | 'protocol' | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'not-a-url';
  }
  return protocols.includes(url.protocol) ? null : 'protocol';
}

const protocolsKeyword: KeywordDefinition = {
  keyword: 'protocols',
  type: 'string',
  schemaType: 'array',
  errors: false,
  validate: (protocols: string[], value: string) => urlProblem(value, protocols) === null,
};

/**
 * The Ajv instance env-schema validates with: env-schema's own options, ScaiKey's keywords and
 * formats, and no type coercion (Ajv's would take `0x1F90` or `1e3` for numbers, and only
 * `true`/`false` for booleans); `environmentData` reads integers and booleans instead.
 */
const ajv = new Ajv({
  allErrors: true,
  removeAdditional: true,
  useDefaults: true,
  coerceTypes: false,
  addUsedSchema: false,
  keywords: [protocolsKeyword, 'secret', 'unit', 'defaultDescription'],
  formats: Object.fromEntries(
    Object.entries(FORMATS).map(([name, format]) => [name, { type: 'string', validate: format.validate }]),
  ),
});

const VARIABLES = ENVIRONMENT_SCHEMA.properties;
const ORDER = Object.keys(VARIABLES) as VariableName[];

/**
 * The environment as data for the schema: only its variables; an empty value is an unset one;
 * integers are decimal digits (blanks around them allowed), booleans 1/true/yes/on or
 * 0/false/no/off in any case. Anything else stays text, which the schema then refuses by type.
 */
function environmentData(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const data: Record<string, unknown> = {};
  for (const name of ORDER) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const { type } = VARIABLES[name];
    if (type === 'integer' && /^\s*\d+\s*$/.test(raw)) data[name] = Number(raw);
    else if (type === 'boolean' && ['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) data[name] = true;
    else if (type === 'boolean' && ['0', 'false', 'no', 'off'].includes(raw.toLowerCase()))
      data[name] = false;
    else data[name] = raw;
  }
  return data;
}

/** The ConfigError of one schema violation; the original text is quoted unless the variable is secret. */
function configError(error: ErrorObject, env: NodeJS.ProcessEnv): ConfigError {
  if (error.keyword === 'dependencies') {
    const { property, missingProperty } = error.params as {
      property: VariableName;
      missingProperty: VariableName;
    };
    const mutual = ENVIRONMENT_SCHEMA.dependencies[missingProperty]?.includes(property);
    return mutual
      ? new ConfigError(missingProperty, `must be set together with ${property}`)
      : new ConfigError(property, `is set but ${missingProperty} is not`);
  }
  const variable = error.instancePath.slice(1) as VariableName;
  const schema: VariableSchema = VARIABLES[variable];
  const raw = env[variable] as string;
  const got = schema.secret ? '' : `, got "${raw}"`;
  if (error.keyword === 'protocols' && urlProblem(raw, schema.protocols ?? []) === 'protocol') {
    return new ConfigError(
      variable,
      `must be ${expectation(schema)}, got one starting with "${new URL(raw).protocol}"`,
    );
  }
  return new ConfigError(variable, `must be ${expectation(schema)}${got}`);
}

/**
 * The environment validated against ENVIRONMENT_SCHEMA, defaults filled in. Throws the ConfigError
 * of the first bad variable in the schema's order; a missing partner variable comes after every
 * malformed value.
 */
function readEnvironment(env: NodeJS.ProcessEnv): Environment {
  try {
    return envSchema<Environment>({
      schema: ENVIRONMENT_SCHEMA,
      data: environmentData(env),
      env: false,
      ajv,
    });
  } catch (error) {
    const errors = (error as { errors?: ErrorObject[] }).errors;
    if (!errors?.length) throw error;
    const rank = (e: ErrorObject) =>
      e.instancePath ? ORDER.indexOf(e.instancePath.slice(1) as VariableName) : ORDER.length;
    const [first] = [...errors].sort((a, b) => rank(a) - rank(b));
    throw configError(first as ErrorObject, env);
  }
}

/**
 * The SMS sender asked for: `webhook` needs its URL; `dev-outbox` must be asked for and excludes a
 * webhook URL (a server with a gateway never keeps codes in memory by mistake); unset, the webhook
 * when its URL is set.
 */
function smsConfig(sender: string | undefined, webhookUrl: string | null): Config['sms'] {
  if (sender === 'webhook' && !webhookUrl) {
    throw new ConfigError('SCAIKEY_SMS_SENDER', 'is webhook but SCAIKEY_SMS_WEBHOOK_URL is not set');
  }
  if (sender === 'dev-outbox' && webhookUrl) {
    throw new ConfigError('SCAIKEY_SMS_SENDER', 'is dev-outbox but SCAIKEY_SMS_WEBHOOK_URL is set');
  }
  return { webhookUrl, devOutbox: sender === 'dev-outbox' };
}

/** Reads and validates the configuration; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const vars = readEnvironment(env);
  const host = vars.HOST;
  const defaultHost = host.includes(':') ? `[${host}]` : host;
  const publicUrl = (vars.SCAIKEY_PUBLIC_URL ?? `http://${defaultHost}:${vars.PORT}`).replace(/\/+$/, '');
  const rateLimits = Object.fromEntries(
    Object.entries(RATE_LIMITS).map(([name, [variable]]) => [
      name,
      parseRateLimit(vars[variable]) as RateLimit | null,
    ]),
  ) as Record<RateLimitName, RateLimit | null>;

  return {
    port: vars.PORT,
    host,
    databaseUrl: vars.DATABASE_URL ?? null,
    dataDir: resolve(vars.SCAIKEY_DATA_DIR),
    consoleDir: vars.SCAIKEY_CONSOLE_DIR ? resolve(vars.SCAIKEY_CONSOLE_DIR) : null,
    publicUrl,
    trustProxy: vars.SCAIKEY_TRUST_PROXY,
    bootstrap: {
      clientId: vars.SCAIKEY_BOOTSTRAP_CLIENT_ID ?? null,
      clientSecret: vars.SCAIKEY_BOOTSTRAP_CLIENT_SECRET ?? null,
      adminEmail: vars.SCAIKEY_BOOTSTRAP_ADMIN_EMAIL ?? null,
      adminPassword: vars.SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD ?? null,
    },
    logLevel: vars.LOG_LEVEL as Config['logLevel'],
    mail: {
      smtpUrl: vars.SCAIKEY_SMTP_URL ?? null,
      from: vars.SCAIKEY_MAIL_FROM ?? `ScaiKey <no-reply@${new URL(publicUrl).hostname}>`,
    },
    sms: smsConfig(vars.SCAIKEY_SMS_SENDER, vars.SCAIKEY_SMS_WEBHOOK_URL ?? null),
    events: { retentionDays: vars.SCAIKEY_EVENT_RETENTION_DAYS },
    webhooks: {
      allowPrivate: vars.SCAIKEY_WEBHOOK_ALLOW_PRIVATE,
      timeoutMs: vars.SCAIKEY_WEBHOOK_TIMEOUT_MS,
      retryBaseMs: vars.SCAIKEY_WEBHOOK_RETRY_BASE_MS,
      retryWindowMs: vars.SCAIKEY_WEBHOOK_RETRY_WINDOW * 1000,
      failingAfter: vars.SCAIKEY_WEBHOOK_FAILING_AFTER,
      concurrency: vars.SCAIKEY_WEBHOOK_CONCURRENCY,
    },
    nativeClientCredentials: vars.SCAIKEY_NATIVE_CLIENT_CREDENTIALS,
    nativeUserGrants: vars.SCAIKEY_NATIVE_USER_GRANTS,
    rateLimits,
    redisUrl: vars.SCAIKEY_REDIS_URL ?? null,
    databaseWaitMs: vars.SCAIKEY_DATABASE_WAIT * 1000,
    shutdownGraceMs: vars.SCAIKEY_SHUTDOWN_GRACE * 1000,
    auditRetentionDays: vars.SCAIKEY_AUDIT_RETENTION_DAYS,
    federationAllowHttp: vars.SCAIKEY_FEDERATION_ALLOW_HTTP,
  };
}
