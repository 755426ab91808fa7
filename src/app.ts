import '@fastify/swagger';
import { randomBytes } from 'node:crypto';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import Fastify, {
  type FastifyInstance,
  type FastifyRequest,
  type FastifySchema,
  LogController,
} from 'fastify';
import type { DestinationStream } from 'pino';
import { managementContext } from './contexts/management.js';
import { publicContext } from './contexts/public.js';
import { selfServiceContext } from './contexts/self-service.js';
import { redactUrl } from './lib/redact-url.js';
import { effectiveAdminRole } from './modules/admin-roles/index.js';
import { UsableClientCache } from './modules/applications/index.js';
import { type BootstrapResult, bootstrap } from './modules/bootstrap/index.js';
import {
  addWebhooksToDocument,
  createWebhooksService,
  deleteDeliveriesBefore,
  WebhookDispatcher,
} from './modules/events/index.js';
import { createIdentityProvidersService } from './modules/identity-providers/index.js';
import { createMfaService, expiredChallengesTask } from './modules/mfa/index.js';
import { OUTreeNodeSchema } from './modules/ous/index.js';
import { endedSessionsTask, grantIsLive } from './modules/sessions/index.js';
import { expiredActionTokensTask } from './modules/users/index.js';
import { TokenVerifier } from './platform/auth/authenticate.js';
import type { Config } from './platform/config.js';
import { openConfiguredDatabase } from './platform/db/configured.js';
import { type DatabaseHandle, migrateToLatest } from './platform/db/database.js';
import { instanceSecret } from './platform/db/instance-secrets.js';
import { docsPageOptions } from './platform/docs-page.js';
import {
  AppError,
  clientErrorHandler,
  registerErrorHandler,
  routingErrorHandler,
} from './platform/errors.js';
import { AuditBuffer } from './platform/events/audit-buffer.js';
import { deleteEventsBefore } from './platform/events/event-log.repository.js';
import { EventSignal } from './platform/events/event-signal.js';
import { UnitOfWork } from './platform/events/unit-of-work.js';
import { deleteInBatches, Housekeeping } from './platform/housekeeping.js';
import { Invalidation } from './platform/invalidation.js';
import { registerJsonBodyParser } from './platform/json-body.js';
import { KEYS_CHANNEL, KeyStore } from './platform/keys.js';
import { Mailer, smtpTransport } from './platform/mail/mailer.js';
import {
  documentationTransform,
  finishDocument,
  type OpenApiDocument,
  SECURITY_SCHEMES,
} from './platform/openapi.js';
import { RateLimits } from './platform/rate-limit/limits.js';
import { RowCache } from './platform/row-cache.js';
import { createSchemaCompilers } from './platform/schema-compilers.js';
import { SecretBox } from './platform/secret-box.js';
import { DevSmsOutbox, smsSenderOf } from './platform/sms.js';
import { createFederation } from './protocols/federation/federation.js';
import { federationLoginsTask } from './protocols/federation/federation-logins.repository.js';
import { providerKinds } from './protocols/federation/kinds.js';
import { OIDC_SCOPES } from './protocols/oauth/accounts.js';
import { expiredOidcPayloadsTask } from './protocols/oauth/oidc-adapter.repository.js';
import { OidcProviders } from './protocols/oauth/providers.js';

/** What the app is made of, exposed for the CLI, tests and benchmarks. */
export interface ScaiKey {
  config: Config;
  database: DatabaseHandle;
  keys: KeyStore;
  verifier: TokenVerifier;
  invalidation: Invalidation;
  /** Hot directory rows (ADR 0015). */
  rows: RowCache;
  mailer: Mailer;
  audit: AuditBuffer;
  /** Periodic clean-ups; tests call `runAll()` instead of waiting for the timers. */
  housekeeping: Housekeeping;
  /** Wakes what waits for new events (the change feed's long-polls, webhook delivery). */
  events: EventSignal;
  /** The development SMS outbox (`SCAIKEY_SMS_SENDER=dev-outbox`), else null: tests read codes there. */
  smsOutbox: DevSmsOutbox | null;
  /** Webhook delivery on this instance (fan-out and sending). */
  webhookDelivery: WebhookDispatcher;
  bootstrap: BootstrapResult;
  /** Every route registered at startup, as declared (tests/isolation-sweep.test.ts walks them). */
  routes: readonly RegisteredRoute[];
  /** Compiles every route schema still waiting for its route's first request (tests). */
  compileSchemas(): number;
}

export interface RegisteredRoute {
  method: string;
  url: string;
  schema: FastifySchema | undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    scaikey: ScaiKey;
  }
}

const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;
const LOG_LEVEL_ORDER = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/**
 * Request ids: a random per-process prefix and a counter (unique, unguessable enough to correlate,
 * and free of a CSPRNG call per request on the hot path).
 */
const REQUEST_ID_PREFIX = `req_${randomBytes(8).toString('hex')}`;
let requestCounter = 0;
const nextRequestId = () => `${REQUEST_ID_PREFIX}${(++requestCounter).toString(16).padStart(8, '0')}`;

export interface BuildOptions {
  /** Use this database instead of opening one from the config (tests); the caller closes it. */
  database?: DatabaseHandle;
  /** Where log lines go instead of stdout (tests read them). */
  logStream?: DestinationStream;
}

/** Builds the whole service on a database: migrations, keys, bootstrap, routes. Does not listen. */
export async function buildApp(config: Config, options: BuildOptions = {}): Promise<FastifyInstance> {
  const ownsDatabase = !options.database;

  const schemaCompilers = createSchemaCompilers();
  const app = Fastify({
    schemaController: { compilersFactory: { buildSerializer: schemaCompilers.buildSerializer } },
    logger: {
      level: config.logLevel,
      ...(options.logStream ? { stream: options.logStream } : {}),
      redact: { paths: ['req.headers.authorization', 'req.headers.cookie'], remove: true },
      // A request logged by Fastify itself carries its URL without secret query values.
      serializers: {
        req: (request: FastifyRequest) => ({
          method: request.method,
          url: redactUrl(request.url),
          remoteAddress: request.ip,
        }),
      },
    },
    // One access-log line per request is written by the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true }),
    trustProxy: config.trustProxy,
    bodyLimit: 1024 * 1024,
    requestIdHeader: false,
    genReqId: (request) => {
      const incoming = request.headers['x-request-id'];
      return typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : nextRequestId();
    },
    // FastAPI redirects the other slash form (307); serving it directly is the same for clients.
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: true },
    frameworkErrors: routingErrorHandler,
    clientErrorHandler,
    // Requests arriving while the server drains get the error model's 503 (onRequest hook below).
    return503OnClosing: false,
  }).withTypeProvider<TypeBoxTypeProvider>();

  const database =
    options.database ??
    (await openConfiguredDatabase(config, {
      onRetry: (reason, waitMs) => app.log.warn(`${reason}; trying again in ${waitMs} ms`),
    }));
  const { db } = database;
  database.onConnectionError((error) =>
    app.log.warn({ err: error }, 'database connection lost; the pool opens a new one when needed'),
  );
  try {
    await migrateToLatest(db);
    const keys = await KeyStore.open(db);
    const invalidation = new Invalidation();
    const mailer = new Mailer(
      db,
      config.mail.smtpUrl ? smtpTransport(config.mail.smtpUrl) : null,
      config.mail.from,
      app.log,
    );
    // Every change and what it causes (audit, events, invalidation, mail) commit together (ADR 0012).
    // Hot directory rows, dropped on every instance by the row triggers' notices (ADR 0015).
    const rows = new RowCache();
    await rows.start(database);
    const work = new UnitOfWork(db, invalidation, mailer, rows);
    const bootstrapResult = await bootstrap(work, config.bootstrap, config.publicUrl);
    const sms = smsSenderOf(config.sms, app.log);
    // Second factors (issue 13): TOTP seeds are sealed with the instance key.
    const mfa = createMfaService({
      db,
      work,
      box: await SecretBox.open(db),
      sms,
      publicUrl: config.publicUrl,
    });
    const clients = new UsableClientCache(db);
    const verifier = new TokenVerifier(
      {
        findUsableClient: (id) => clients.find(id),
        currentRole: (tenantId, userId) => effectiveAdminRole(db, tenantId, userId),
        grantIsLive: (grantId) => grantIsLive(db, grantId),
        identityScopes: OIDC_SCOPES,
      },
      db,
      keys,
      config.publicUrl,
    );
    invalidation.on(() => {
      verifier.invalidate();
      clients.clear();
    });
    await invalidation.start(database);
    const unlistenKeys = await database.listen(KEYS_CHANNEL, () => {
      keys.reload().then(
        () => invalidation.local('keys'),
        (error) => app.log.error({ err: error }, 'reloading signing keys failed'),
      );
    });
    mailer.start();
    void mailer.flush();
    const audit = new AuditBuffer(db, app.log);
    audit.start();
    const housekeeping = new Housekeeping(app.log);
    const events = new EventSignal();
    await events.start(database);
    work.notices.attach({
      wake: (key) => events.notify(key),
      onError: (err) => app.log.warn({ err }, 'event notice failed'),
    });
    const dayMs = 24 * 3600 * 1000;
    housekeeping.register({
      name: 'event-retention',
      everyMs: 3600 * 1000,
      run: () => {
        const before = new Date(Date.now() - config.events.retentionDays * dayMs);
        return deleteInBatches((size) => deleteEventsBefore(db, before, size));
      },
    });
    // Expired rows, each task owned by the module or protocol of its table (docs/account-security.md).
    for (const task of [
      expiredChallengesTask(db),
      endedSessionsTask(db),
      expiredActionTokensTask(db),
      expiredOidcPayloadsTask(db),
    ]) {
      housekeeping.register(task);
    }
    // Webhooks (issue 14): signing secrets sealed like TOTP seeds; delivery starts with the app.
    const webhookBox = await SecretBox.open(db);
    const webhookDelivery = new WebhookDispatcher({
      db,
      work,
      box: webhookBox,
      signal: events,
      settings: config.webhooks,
      log: app.log,
    });
    const webhooks = createWebhooksService({
      db,
      work,
      box: webhookBox,
      settings: config.webhooks,
      kick: () => webhookDelivery.kick(),
      leaseMs: webhookDelivery.leaseMs,
    });
    housekeeping.register({
      name: 'webhook-deliveries',
      everyMs: 3600 * 1000,
      run: () => deleteDeliveriesBefore(db, new Date(Date.now() - config.events.retentionDays * dayMs)),
    });
    // Federation (issue 15): identity providers per tenant; their secrets sealed like TOTP seeds.
    const federation = createFederation({
      db,
      publicUrl: config.publicUrl,
      identityProviders: () => identityProviders,
      kinds: providerKinds({
        db,
        work,
        publicUrl: config.publicUrl,
        log: app.log,
        allowHttp: config.federationAllowHttp,
      }),
    });
    const identityProviders = createIdentityProvidersService({
      db,
      box: webhookBox,
      publicUrl: config.publicUrl,
      drivers: () => federation.drivers,
    });
    housekeeping.register(federationLoginsTask(db));
    // LDAP directories with sync_interval_minutes: each instance looks every minute; a run holds a
    // lease, so two instances never sync the same directory at once.
    housekeeping.register({
      name: 'ldap-scheduled-syncs',
      everyMs: 60_000,
      run: () => federation.scheduledSyncs(app.log),
    });
    const routes: RegisteredRoute[] = [];
    app.addHook('onRoute', ({ method, url, schema }) => {
      for (const one of [method].flat()) routes.push({ method: one, url, schema });
    });
    app.decorate('scaikey', {
      audit,
      housekeeping,
      events,
      smsOutbox: sms instanceof DevSmsOutbox ? sms : null,
      webhookDelivery,
      config,
      database,
      keys,
      verifier,
      invalidation,
      rows,
      mailer,
      bootstrap: bootstrapResult,
      routes,
      compileSchemas: () => schemaCompilers.compileAll(),
    });

    // Shared (referenced) schemas live at the root: adding one inside a plugin would give that
    // plugin Fastify's default validator (which drops unknown fields instead of refusing them).
    app.addSchema(OUTreeNodeSchema);
    app.setValidatorCompiler(schemaCompilers.validatorCompiler);
    registerErrorHandler(app);
    registerJsonBodyParser(app);
    let draining = false;
    app.addHook('preClose', async () => {
      draining = true;
    });
    app.addHook('onRequest', async (request, reply) => {
      reply.header('x-request-id', request.id);
      // A request on a kept-alive connection after shutdown began: answered at once, connection
      // closed, so that the client retries elsewhere (what Fastify's own 503 does, in our envelope).
      if (draining) {
        reply.header('connection', 'close').header('retry-after', '1');
        throw new AppError('SERVICE_UNAVAILABLE', 'The server is shutting down; retry the request');
      }
    });
    const accessLog = LOG_LEVEL_ORDER.indexOf(config.logLevel) <= LOG_LEVEL_ORDER.indexOf('info');
    app.addHook('onResponse', async (request, reply) => {
      // Skipped entirely (no object built) when the access log is off: it is on the hot path.
      if (!accessLog) return;
      request.log.info(
        {
          method: request.method,
          // originalUrl: the URL as received, also for requests handed to oidc-provider (which
          // rewrites request.url); secret query values (mailed link tokens, hints) left out.
          url: redactUrl(request.originalUrl),
          status: reply.statusCode,
          // request.ip honours SCAIKEY_TRUST_PROXY (X-Forwarded-For only from a trusted proxy).
          ip: request.ip,
          user_agent: request.headers['user-agent'],
          ms: Math.round(reply.elapsedTime),
        },
        'request completed',
      );
    });

    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: { title: 'ScaiKey', version: '0.1.0' },
        components: { securitySchemes: SECURITY_SCHEMES as never },
      },
      // Descriptions every route of a kind shares are added once (src/platform/openapi.ts).
      transform: documentationTransform as never,
      transformObject: (documentObject) =>
        addWebhooksToDocument(
          finishDocument((documentObject as { openapiObject: unknown }).openapiObject as OpenApiDocument),
        ) as never,
    });
    await app.register(swaggerUi, docsPageOptions);
    app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

    const cookieKey = await instanceSecret(db, 'cookie_signing_key');
    const providers = new OidcProviders({
      db,
      keys,
      publicUrl: config.publicUrl,
      cookieKeys: [cookieKey],
      audit,
      verifier,
      clients,
      invalidation,
      log: app.log,
    });
    // Keys are baked into the providers (rebuilt); tenants' rows are read again after a change.
    invalidation.on((topic) => providers.invalidate(topic));

    // Rate limits of the public endpoints, counted in a store every instance shares.
    const rateLimits = await RateLimits.register(app, {
      settings: config.rateLimits,
      redisUrl: config.redisUrl,
      database,
    });
    // DPoP proofs' jti are remembered in the same shared store (RFC 9449 §11.1).
    verifier.useReplayStore(rateLimits.replayStore());

    // Public context (src/contexts/public.ts): health, discovery, JWKS, the token endpoint and
    // the hosted pages.
    await app.register(publicContext, {
      config,
      db,
      keys,
      audit,
      clients,
      providers,
      verifier,
      invalidation,
      mailer,
      rateLimits,
      cookieKey,
      work,
      mfa,
      federation,
    });

    // Self-service context (src/contexts/self-service.ts): a user's own account.
    await app.register(selfServiceContext, {
      db,
      verifier,
      work,
      publicUrl: config.publicUrl,
      rateLimits,
      mfa,
    });

    // Management context (src/contexts/management.ts): the admin API and the tenant routes.
    await app.register(managementContext, {
      db,
      verifier,
      work,
      publicUrl: config.publicUrl,
      events,
      housekeeping,
      auditRetentionDays: config.auditRetentionDays,
      webhooks,
      identityProviders,
      rows,
    });

    // Every task is registered by now (the contexts above add theirs).
    housekeeping.start();
    webhookDelivery.start();

    app.addHook('onClose', async () => {
      await housekeeping.stop();
      await webhookDelivery.stop();
      await work.notices.drain();
      await events.stop();
      await mailer.stop();
      await audit.stop();
      await unlistenKeys();
      await invalidation.stop();
      await rows.stop();
      if (ownsDatabase) await database.close();
    });
  } catch (error) {
    if (ownsDatabase) await database.close().catch(() => {});
    throw error;
  }
  return app;
}
