import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { isId } from '../lib/ids.js';

/** Validated runtime configuration. Built from environment variables only (docs/configuration.md). */
export interface Config {
  port: number;
  host: string;
  /** PostgreSQL connection string; when absent the embedded PGlite database in `dataDir` is used. */
  databaseUrl: string | null;
  dataDir: string;
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
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  mail: {
    /** smtp:// or smtps:// URL; null keeps mail in the development outbox (database + log). */
    smtpUrl: string | null;
    from: string;
  };
  /**
   * Answer grant_type=client_credentials natively at the token URL instead of through oidc-provider
   * (same tokens, about 40% faster; see ../shared/notes/oidc-provider.md). On unless turned off.
   */
  nativeClientCredentials: boolean;
  /** The rate limits (docs/configuration.md, "Rate limits"); null = that limit is off. */
  rateLimits: Record<RateLimitName, RateLimit | null>;
  /** Redis (redis:// or rediss://) for the rate-limit counters; null keeps them in the database. */
  redisUrl: string | null;
  /** How long the start waits for an unreachable PostgreSQL (retrying with backoff), in ms; 0 = no wait. */
  databaseWaitMs: number;
  /** How long a shutdown lets in-flight requests finish before closing their connections, in ms. */
  shutdownGraceMs: number;
}

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
} as const satisfies Record<string, readonly [string, string]>;

export type RateLimitName = keyof typeof RATE_LIMITS;

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    message: string,
  ) {
    super(`Invalid configuration: ${variable} ${message}`);
    this.name = 'ConfigError';
  }
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function readPort(env: NodeJS.ProcessEnv): number {
  const raw = env.PORT;
  if (raw === undefined || raw === '') return 8080;
  if (!/^\d+$/.test(raw) || Number(raw) > 65535) {
    throw new ConfigError('PORT', `must be a whole number from 0 to 65535, got "${raw}"`);
  }
  return Number(raw);
}

/** `HOST`: an IPv4 or IPv6 address, or a host name (resolved by the system when listening). */
function readHost(env: NodeJS.ProcessEnv): string {
  const host = optional(env, 'HOST') ?? '127.0.0.1';
  if (isIP(host)) return host;
  // A host name: DNS labels of letters, digits and hyphens. Anything else that looks numeric
  // (999.1.1.1, 1.2.3) is a mistyped address, not a name.
  const label = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/i;
  const labels = host.split('.');
  if (host.length <= 253 && labels.every((part) => label.test(part)) && !/^[\d.]+$/.test(host)) return host;
  throw new ConfigError(
    'HOST',
    `must be an IP address (e.g. 127.0.0.1, 0.0.0.0, ::) or a host name, got "${host}"`,
  );
}

/** A whole number of seconds from `min` to `max`, returned in milliseconds. */
function readSeconds(env: NodeJS.ProcessEnv, variable: string, fallback: number, min: number, max: number) {
  const raw = optional(env, variable);
  if (raw === null) return fallback * 1000;
  if (!/^\d{1,7}$/.test(raw.trim()) || Number(raw) < min || Number(raw) > max) {
    throw new ConfigError(variable, `must be a whole number of seconds from ${min} to ${max}, got "${raw}"`);
  }
  return Number(raw) * 1000;
}

function readUrl(variable: string, raw: string, protocols: string[]): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConfigError(variable, `must be a URL, got "${raw}"`);
  }
  if (!protocols.includes(url.protocol)) {
    throw new ConfigError(variable, `must use ${protocols.join(' or ')}, got "${url.protocol}"`);
  }
  return raw;
}

function readBoolean(env: NodeJS.ProcessEnv, variable: string, fallback: boolean): boolean {
  const raw = env[variable];
  if (raw === undefined || raw === '') return fallback;
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true;
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false;
  throw new ConfigError(variable, `must be true or false, got "${raw}"`);
}

const WINDOW_UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000 };

/** `<count>/<window>` (`10/5m`, `60/m`, `6000/1h`; window up to 24 h) or `off`. */
function readRateLimit(env: NodeJS.ProcessEnv, variable: string, fallback: string): RateLimit | null {
  const raw = (optional(env, variable) ?? fallback).trim();
  if (raw.toLowerCase() === 'off') return null;
  const match = /^(\d{1,10})\s*\/\s*(\d{0,6})\s*([smh])$/.exec(raw);
  const max = match ? Number(match[1]) : 0;
  const windowMs = match ? Number(match[2] || '1') * (WINDOW_UNITS[match[3] as string] as number) : 0;
  if (!match || max < 1 || max > 1_000_000_000 || windowMs < 1000 || windowMs > 86_400_000) {
    throw new ConfigError(
      variable,
      `must be "<count>/<window>" (count 1 to 1000000000, window 1s to 24h, e.g. "10/5m") or "off", got "${raw}"`,
    );
  }
  return { max, windowMs };
}

function optional(env: NodeJS.ProcessEnv, variable: string): string | null {
  const raw = env[variable];
  return raw === undefined || raw === '' ? null : raw;
}

/** Reads and validates the configuration; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = readPort(env);
  const host = readHost(env);
  const databaseUrl = optional(env, 'DATABASE_URL');
  if (databaseUrl) readUrl('DATABASE_URL', databaseUrl, ['postgres:', 'postgresql:']);
  const dataDir = resolve(optional(env, 'SCAIKEY_DATA_DIR') ?? './data');

  const rawPublicUrl = optional(env, 'SCAIKEY_PUBLIC_URL');
  const defaultHost = host.includes(':') ? `[${host}]` : host;
  const publicUrl = (
    rawPublicUrl
      ? readUrl('SCAIKEY_PUBLIC_URL', rawPublicUrl, ['http:', 'https:'])
      : `http://${defaultHost}:${port}`
  ).replace(/\/+$/, '');

  const clientId = optional(env, 'SCAIKEY_BOOTSTRAP_CLIENT_ID');
  if (clientId && !isId('application', clientId)) {
    throw new ConfigError(
      'SCAIKEY_BOOTSTRAP_CLIENT_ID',
      `must be an application id: "app_" followed by 20 characters of [0-9a-z], got "${clientId}"`,
    );
  }
  const clientSecret = optional(env, 'SCAIKEY_BOOTSTRAP_CLIENT_SECRET');
  if (clientSecret !== null && clientSecret.length < 32) {
    throw new ConfigError('SCAIKEY_BOOTSTRAP_CLIENT_SECRET', 'must be at least 32 characters long');
  }
  if (clientSecret !== null && clientId === null) {
    throw new ConfigError('SCAIKEY_BOOTSTRAP_CLIENT_SECRET', 'is set but SCAIKEY_BOOTSTRAP_CLIENT_ID is not');
  }
  const adminEmail = optional(env, 'SCAIKEY_BOOTSTRAP_ADMIN_EMAIL');
  const adminPassword = optional(env, 'SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD');
  if (adminEmail !== null && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(adminEmail)) {
    throw new ConfigError('SCAIKEY_BOOTSTRAP_ADMIN_EMAIL', `must be an email address, got "${adminEmail}"`);
  }
  if (adminPassword !== null && adminPassword.length < 12) {
    throw new ConfigError(
      'SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD',
      'must be at least 12 characters long (the default password policy)',
    );
  }
  if ((adminEmail === null) !== (adminPassword === null)) {
    throw new ConfigError(
      adminEmail === null ? 'SCAIKEY_BOOTSTRAP_ADMIN_EMAIL' : 'SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD',
      'must be set together with the other SCAIKEY_BOOTSTRAP_ADMIN_* variable',
    );
  }

  const logLevel = (optional(env, 'LOG_LEVEL') ?? 'info') as Config['logLevel'];
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError('LOG_LEVEL', `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  }

  const smtpUrl = optional(env, 'SCAIKEY_SMTP_URL');
  if (smtpUrl) readUrl('SCAIKEY_SMTP_URL', smtpUrl, ['smtp:', 'smtps:']);
  const from = optional(env, 'SCAIKEY_MAIL_FROM') ?? `ScaiKey <no-reply@${new URL(publicUrl).hostname}>`;
  if (!/^[^<>@\s]+@[^<>@\s]+$|<[^<>@\s]+@[^<>@\s]+>$/.test(from)) {
    throw new ConfigError('SCAIKEY_MAIL_FROM', `must be an address or "Name <address>", got "${from}"`);
  }

  const rateLimits = Object.fromEntries(
    Object.entries(RATE_LIMITS).map(([name, [variable, fallback]]) => [
      name,
      readRateLimit(env, variable, fallback),
    ]),
  ) as Config['rateLimits'];
  const redisUrl = optional(env, 'SCAIKEY_REDIS_URL');
  if (redisUrl) readUrl('SCAIKEY_REDIS_URL', redisUrl, ['redis:', 'rediss:']);

  return {
    port,
    host,
    databaseUrl,
    dataDir,
    publicUrl,
    trustProxy: readBoolean(env, 'SCAIKEY_TRUST_PROXY', false),
    bootstrap: { clientId, clientSecret, adminEmail, adminPassword },
    logLevel,
    mail: { smtpUrl, from },
    nativeClientCredentials: readBoolean(env, 'SCAIKEY_NATIVE_CLIENT_CREDENTIALS', true),
    rateLimits,
    redisUrl,
    databaseWaitMs: readSeconds(env, 'SCAIKEY_DATABASE_WAIT', 30, 0, 3600),
    shutdownGraceMs: readSeconds(env, 'SCAIKEY_SHUTDOWN_GRACE', 20, 1, 3600),
  };
}
