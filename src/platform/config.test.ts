import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

describe('loadConfig', () => {
  it('has working defaults', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({
      port: 8080,
      host: '127.0.0.1',
      databaseUrl: null,
      publicUrl: 'http://127.0.0.1:8080',
      logLevel: 'info',
      nativeClientCredentials: true,
      nativeUserGrants: true,
    });
    expect(config.dataDir).toMatch(/\/data$/);
  });

  it('derives the public URL from HOST and PORT and strips a trailing slash from SCAIKEY_PUBLIC_URL', () => {
    expect(loadConfig({ HOST: '0.0.0.0', PORT: '9000' }).publicUrl).toBe('http://0.0.0.0:9000');
    expect(loadConfig({ SCAIKEY_PUBLIC_URL: 'https://id.example.com/' }).publicUrl).toBe(
      'https://id.example.com',
    );
  });

  it('accepts addresses and host names as HOST, and reads the wait and grace periods', () => {
    for (const host of ['0.0.0.0', '::', '::1', '10.1.2.3', 'localhost', 'idp-1.internal.example']) {
      expect(loadConfig({ HOST: host }).host).toBe(host);
    }
    expect(loadConfig({ HOST: '::1', PORT: '9000' }).publicUrl).toBe('http://[::1]:9000');
    const defaults = loadConfig({});
    expect(defaults.databaseWaitMs).toBe(30_000);
    expect(defaults.shutdownGraceMs).toBe(20_000);
    const set = loadConfig({ SCAIKEY_DATABASE_WAIT: '0', SCAIKEY_SHUTDOWN_GRACE: '5' });
    expect(set.databaseWaitMs).toBe(0);
    expect(set.shutdownGraceMs).toBe(5000);
  });

  it('reads rate limits as <count>/<window> or off, with defaults', () => {
    const defaults = loadConfig({});
    expect(defaults.rateLimits.clientFailuresPerClient).toEqual({ max: 10, windowMs: 300_000 });
    expect(defaults.rateLimits.tokenPerIp).toEqual({ max: 6000, windowMs: 60_000 });
    expect(defaults.redisUrl).toBeNull();
    const set = loadConfig({
      SCAIKEY_RATE_LIMIT_SIGN_IN_PER_IP: '5/m',
      SCAIKEY_RATE_LIMIT_TOKEN_PER_IP: ' 100 / 30s ',
      SCAIKEY_RATE_LIMIT_EMAIL_DISCOVERY_PER_IP: 'off',
      SCAIKEY_REDIS_URL: 'redis://127.0.0.1:6379/2',
    });
    expect(set.rateLimits.signInPerIp).toEqual({ max: 5, windowMs: 60_000 });
    expect(set.rateLimits.tokenPerIp).toEqual({ max: 100, windowMs: 30_000 });
    expect(set.rateLimits.emailDiscoveryPerIp).toBeNull();
    expect(set.redisUrl).toBe('redis://127.0.0.1:6379/2');
  });

  it('never shows a value that may hold a password in its message', () => {
    const cases: [Record<string, string>, string][] = [
      [{ DATABASE_URL: 'postgres://scaikey:s3cretPassw0rd@db:99999/scaikey' }, 'DATABASE_URL'],
      [{ SCAIKEY_SMTP_URL: 'smtp://mailer:s3cretPassw0rd@mail host' }, 'SCAIKEY_SMTP_URL'],
      [{ SCAIKEY_REDIS_URL: 'http://:s3cretPassw0rd@cache' }, 'SCAIKEY_REDIS_URL'],
      [
        {
          SCAIKEY_BOOTSTRAP_CLIENT_ID: 'app_00000000000000000000',
          SCAIKEY_BOOTSTRAP_CLIENT_SECRET: 's3cretPassw0rd',
        },
        'SCAIKEY_BOOTSTRAP_CLIENT_SECRET',
      ],
      [
        {
          SCAIKEY_BOOTSTRAP_ADMIN_EMAIL: 'admin@example.com',
          SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD: 's3cretPassw',
        },
        'SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD',
      ],
    ];
    for (const [env, variable] of cases) {
      const error = (() => {
        try {
          loadConfig(env);
        } catch (caught) {
          return caught as ConfigError;
        }
        throw new Error(`${variable} was accepted`);
      })();
      expect(error.variable).toBe(variable);
      expect(error.message).not.toContain('s3cret');
    }
    expect(() => loadConfig({ SCAIKEY_REDIS_URL: 'http://:s3cretPassw0rd@cache' })).toThrow(
      'SCAIKEY_REDIS_URL must be a URL starting with redis:// or rediss://, got one starting with "http:"',
    );
  });

  it('takes whole numbers in decimal digits only, and says what it expects', () => {
    for (const port of ['0x1F90', '1e3', '8080.0', '-1']) {
      expect(() => loadConfig({ PORT: port })).toThrow(
        `PORT must be a whole number from 0 to 65535, got "${port}"`,
      );
    }
    expect(loadConfig({ SCAIKEY_DATABASE_WAIT: ' 5 ' }).databaseWaitMs).toBe(5000);
    expect(() => loadConfig({ SCAIKEY_SHUTDOWN_GRACE: '3601' })).toThrow(
      'SCAIKEY_SHUTDOWN_GRACE must be a whole number of seconds from 1 to 3600, got "3601"',
    );
    expect(
      loadConfig({
        SCAIKEY_TRUST_PROXY: 'YES',
        SCAIKEY_NATIVE_CLIENT_CREDENTIALS: 'Off',
        SCAIKEY_NATIVE_USER_GRANTS: 'no',
      }),
    ).toMatchObject({
      trustProxy: true,
      nativeClientCredentials: false,
      nativeUserGrants: false,
    });
  });

  it('keeps SMS in the development outbox only when asked for, and never beside a webhook URL', () => {
    expect(loadConfig({}).sms).toEqual({ webhookUrl: null, devOutbox: false });
    expect(loadConfig({ SCAIKEY_SMS_WEBHOOK_URL: 'https://sms.example/hook' }).sms).toEqual({
      webhookUrl: 'https://sms.example/hook',
      devOutbox: false,
    });
    expect(loadConfig({ SCAIKEY_SMS_SENDER: 'dev-outbox' }).sms).toEqual({
      webhookUrl: null,
      devOutbox: true,
    });
    expect(() =>
      loadConfig({ SCAIKEY_SMS_SENDER: 'dev-outbox', SCAIKEY_SMS_WEBHOOK_URL: 'https://sms.example/hook' }),
    ).toThrow('SCAIKEY_SMS_SENDER is dev-outbox but SCAIKEY_SMS_WEBHOOK_URL is set');
    expect(() => loadConfig({ SCAIKEY_SMS_SENDER: 'webhook' })).toThrow(
      'SCAIKEY_SMS_SENDER is webhook but SCAIKEY_SMS_WEBHOOK_URL is not set',
    );
    expect(() => loadConfig({ SCAIKEY_SMS_SENDER: 'log' })).toThrow(
      'SCAIKEY_SMS_SENDER must be one of webhook, dev-outbox, got "log"',
    );
  });

  it('names the missing partner of a pair, and the variable set without the one it needs', () => {
    expect(() => loadConfig({ SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD: 'long enough password' })).toThrow(
      'SCAIKEY_BOOTSTRAP_ADMIN_EMAIL must be set together with SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD',
    );
    expect(() => loadConfig({ SCAIKEY_BOOTSTRAP_CLIENT_SECRET: 'x'.repeat(32) })).toThrow(
      'SCAIKEY_BOOTSTRAP_CLIENT_SECRET is set but SCAIKEY_BOOTSTRAP_CLIENT_ID is not',
    );
  });

  const bad: [Record<string, string>, string][] = [
    [{ PORT: 'abc' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL'],
    [{ SCAIKEY_PUBLIC_URL: 'not a url' }, 'SCAIKEY_PUBLIC_URL'],
    [{ SCAIKEY_BOOTSTRAP_CLIENT_ID: 'client-1' }, 'SCAIKEY_BOOTSTRAP_CLIENT_ID'],
    [
      { SCAIKEY_BOOTSTRAP_CLIENT_ID: 'app_00000000000000000000', SCAIKEY_BOOTSTRAP_CLIENT_SECRET: 'short' },
      'SCAIKEY_BOOTSTRAP_CLIENT_SECRET',
    ],
    [{ SCAIKEY_BOOTSTRAP_ADMIN_EMAIL: 'admin@example.com' }, 'SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD'],
    [
      { SCAIKEY_BOOTSTRAP_ADMIN_EMAIL: 'nope', SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD: 'long enough password' },
      'SCAIKEY_BOOTSTRAP_ADMIN_EMAIL',
    ],
    [
      { SCAIKEY_BOOTSTRAP_ADMIN_EMAIL: 'admin@example.com', SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD: 'short' },
      'SCAIKEY_BOOTSTRAP_ADMIN_PASSWORD',
    ],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ SCAIKEY_TRUST_PROXY: 'maybe' }, 'SCAIKEY_TRUST_PROXY'],
    [{ SCAIKEY_RATE_LIMIT_TOKEN_PER_IP: '100' }, 'SCAIKEY_RATE_LIMIT_TOKEN_PER_IP'],
    [{ SCAIKEY_RATE_LIMIT_SIGN_IN_PER_IP: '0/1m' }, 'SCAIKEY_RATE_LIMIT_SIGN_IN_PER_IP'],
    [{ SCAIKEY_RATE_LIMIT_CLIENT_FAILURES_PER_IP: '10/2d' }, 'SCAIKEY_RATE_LIMIT_CLIENT_FAILURES_PER_IP'],
    [{ SCAIKEY_RATE_LIMIT_PASSWORD_LINK_PER_IP: '10/25h' }, 'SCAIKEY_RATE_LIMIT_PASSWORD_LINK_PER_IP'],
    [{ SCAIKEY_REDIS_URL: 'http://127.0.0.1:6379' }, 'SCAIKEY_REDIS_URL'],
    [{ HOST: '999.1.1.1' }, 'HOST'],
    [{ HOST: 'bad host' }, 'HOST'],
    [{ HOST: 'http://example.com' }, 'HOST'],
    [{ SCAIKEY_DATABASE_WAIT: '-1' }, 'SCAIKEY_DATABASE_WAIT'],
    [{ SCAIKEY_SHUTDOWN_GRACE: '0' }, 'SCAIKEY_SHUTDOWN_GRACE'],
    [{ SCAIKEY_SHUTDOWN_GRACE: '10s' }, 'SCAIKEY_SHUTDOWN_GRACE'],
  ];
  for (const [env, variable] of bad) {
    it(`names ${variable} when it is invalid (${JSON.stringify(env)})`, () => {
      expect(() => loadConfig(env)).toThrow(ConfigError);
      try {
        loadConfig(env);
      } catch (error) {
        expect((error as ConfigError).variable).toBe(variable);
        expect((error as Error).message).toContain(variable);
      }
    });
  }
});
