import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './platform/config.js';

/** Starts ScaiKey: configuration from the environment, listen, clean shutdown on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(2);
    }
    throw error;
  }

  const app = await buildApp(config);
  const { bootstrap, database } = app.scaikey;

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    const graceSeconds = config.shutdownGraceMs / 1000;
    app.log.info({ signal, grace_seconds: graceSeconds }, 'shutting down: finishing in-flight requests');
    // A keep-alive connection whose request finishes during shutdown turns idle only then; close
    // such connections as they go idle instead of waiting for the keep-alive timeout (72 s).
    const closeIdle = setInterval(() => app.server.closeIdleConnections(), 50);
    closeIdle.unref();
    // The grace period (SCAIKEY_SHUTDOWN_GRACE): requests still running then (a client that stopped
    // sending its body, a stuck upstream) lose their connections, and the shutdown goes on.
    const grace = setTimeout(() => {
      app.log.warn(
        { grace_seconds: graceSeconds },
        'shutdown grace period ended with requests in flight: closing their connections',
      );
      app.server.closeAllConnections();
      // Whatever still holds the process after that (a database that does not answer) gets 5 s.
      setTimeout(() => {
        app.log.error('shutdown did not finish 5 s after the grace period: exiting');
        process.exit(1);
      }, 5000).unref();
    }, config.shutdownGraceMs);
    grace.unref();
    // Fastify stops accepting, waits for in-flight requests, then closes the database (onClose).
    app.close().then(
      () => process.exit(0),
      (error) => {
        app.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  await app.listen({ port: config.port, host: config.host });
  const storage =
    database.kind === 'postgres' ? 'PostgreSQL (DATABASE_URL)' : `embedded PGlite in ${config.dataDir}`;
  const lines = [
    `ScaiKey listening on http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${config.port}`,
    `  public URL:   ${config.publicUrl}`,
    `  storage:      ${storage}`,
    `  API docs:     ${config.publicUrl}/docs`,
    `  token URL:    ${config.publicUrl}/api/v1/platform/oauth/token`,
  ];
  if (bootstrap.generatedClientSecret) {
    lines.push(
      '',
      'Bootstrap client created. The secret is shown this once; store it now:',
      `  client id:     ${bootstrap.clientId}`,
      `  client secret: ${bootstrap.generatedClientSecret}`,
      '',
      'Get a token:',
      `  curl -u '${bootstrap.clientId}:<secret>' -d grant_type=client_credentials -d 'scope=admin:read admin:write' ${config.publicUrl}/api/v1/platform/oauth/token`,
    );
  }
  if (bootstrap.adminCreated) lines.push(`Super admin user created: ${config.bootstrap.adminEmail}`);
  console.log(lines.join('\n'));
}

main().catch((error) => {
  console.error('ScaiKey failed to start:', error instanceof Error ? error.message : error);
  process.exit(1);
});
