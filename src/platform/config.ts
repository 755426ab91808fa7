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

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

function readPort(env: NodeJS.ProcessEnv): number {
  const raw = env.PORT;
  if (raw === undefined || raw === '') return 8080;
  if (!/^\d+$/.test(raw) || Number(raw) > 65535) {
    throw new ConfigError('PORT', `must be a whole number from 0 to 65535, got "${raw}"`);
  }
  return Number(raw);
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

function optional(env: NodeJS.ProcessEnv, variable: string): string | null {
  const raw = env[variable];
  return raw === undefined || raw === '' ? null : raw;
}

/** Reads and validates the configuration; throws ConfigError naming the first bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = readPort(env);
  const host = optional(env, 'HOST') ?? '127.0.0.1';
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
  };
}
