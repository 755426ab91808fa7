/**
 * The bare oidc-provider peer of `npm run bench -- --peers` (bench/peers.ts), as its own process
 * pinned to the server's CPU: the library alone on node:http, with one confidential client that
 * may use client_credentials and RS256 (RSA-2048, the server's key size) JWT access tokens
 * carrying the claims of ScaiKey's client_credentials tokens (src/protocols/oauth/access-token.ts
 * `clientCredentialsClaims`), through the same resource-indicator settings ScaiKey's provider
 * uses (src/protocols/oauth/oidc-provider.ts). Storage is the library's in-memory adapter: the
 * floor of the token endpoint, no database. It answers the port over IPC and stops on SIGTERM.
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer } from 'node:http';
import Provider from 'oidc-provider';

const RESOURCE = 'urn:scaikey:bench:management';
const SCOPES = 'admin:read admin:write users:read groups:read';

interface HostJob {
  kind: 'oidc-provider';
  client: { id: string; secret: string };
}

async function start(job: HostJob): Promise<number> {
  const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const jwk = { ...privateKey.export({ format: 'jwk' }), kid: 'bench-peer', alg: 'RS256', use: 'sig' };
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const clientId = job.client.id;
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients: [
      {
        client_id: clientId,
        client_secret: job.client.secret,
        grant_types: ['client_credentials'],
        response_types: [],
        redirect_uris: [],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [jwk as never] },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => RESOURCE,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: SCOPES,
          audience: clientId,
          accessTokenTTL: 3600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'RS256' } },
        }),
      },
    },
    formats: {
      customizers: {
        // ScaiKey's claim set for a GLOBAL application's client_credentials token.
        jwt: (_ctx, _token, jwt) => {
          const { jti, iat, exp, iss } = jwt.payload as Record<string, unknown>;
          jwt.payload = {
            jti,
            iat,
            exp,
            iss,
            sub: clientId,
            aud: clientId,
            client_id: clientId,
            scope: SCOPES,
            app_scope: 'GLOBAL',
            platform_token: true,
            token_type: 'client_credentials',
          };
        },
      },
    },
  });
  server.on('request', provider.callback());
  process.once('SIGTERM', () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
  return port;
}

process.once('message', (job: HostJob) => {
  start(job).then(
    (port) => process.send?.({ port }),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
});
