import formbody from '@fastify/formbody';
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { findLiveTenantBySlug } from '../../../modules/tenants/index.js';
import type { Db } from '../../../platform/db/database.js';
import { AppError, notFound } from '../../../platform/errors.js';
import { ErrorSchema } from '../../../platform/schemas.js';
import type { Federation } from '../federation.js';
import { samlConfigOf, samlUrlsOf } from './kind.js';
import { rememberAssertion } from './saml-assertions.repository.js';
import { SamlError, spMetadata, validateResponse } from './service-provider.js';

export interface SamlRoutesOptions {
  db: Db;
  federation: Federation;
}

const FORM = 'application/x-www-form-urlencoded';
/** A SAMLResponse with a few certificates and many attributes stays far below this. */
const ACS_BODY_LIMIT = 512 * 1024;

const Params = Type.Object({
  tenant_slug: Type.String({ maxLength: 255 }),
  idp_id: Type.String({ maxLength: 64 }),
});

const AcsBody = Type.Object({
  SAMLResponse: Type.String({
    minLength: 1,
    maxLength: ACS_BODY_LIMIT,
    description: 'Base64 samlp:Response',
  }),
  RelayState: Type.Optional(
    Type.String({ maxLength: 256, description: 'The sign-in ScaiKey sent to the IdP (its state)' }),
  ),
});

/**
 * The SAML service provider's public endpoints (docs/federation-saml.md): our SP metadata per
 * provider, and the assertion consumer service the IdP posts its Response to (HTTP-POST binding, a
 * cross-site form post: no CSRF token, the Response's signature and InResponseTo bind it to the
 * sign-in, and its RelayState names the sign-in, since the browser's cookies may not come along).
 */
export async function samlRoutes(app: FastifyInstance, options: SamlRoutesOptions): Promise<void> {
  const { db, federation } = options;
  await app.register(formbody, {
    bodyLimit: ACS_BODY_LIMIT + 4096,
    parser: (body: string) => Object.fromEntries(new URLSearchParams(body)),
  });

  /** The tenant and its enabled SAML provider of this id, or 404. */
  async function providerOf(slug: string, idpId: string) {
    const tenant = await findLiveTenantBySlug(db, slug);
    if (!tenant) throw notFound('Tenant');
    const provider = await federation.enabledProvider(tenant.id, idpId);
    if (provider?.type !== 'SAML') throw notFound('Identity provider');
    return { tenant, provider };
  }

  app.get<{ Params: { tenant_slug: string; idp_id: string } }>(
    '/api/v1/auth/tenants/:tenant_slug/federation/saml/:idp_id/metadata',
    {
      schema: {
        tags: ['Federation'],
        summary: 'SAML service provider metadata',
        description:
          'ScaiKey’s SP metadata for one enabled SAML identity provider of the tenant: entity id, the assertion consumer service (HTTP-POST), the NameID format and, when AuthnRequests are signed, the SP certificate. Give it to the IdP.',
        params: Params,
        response: {
          200: {
            description: 'SAML 2.0 metadata (md:EntityDescriptor)',
            content: { 'application/samlmetadata+xml': { schema: Type.String() } },
          },
          404: ErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const { tenant, provider } = await providerOf(request.params.tenant_slug, request.params.idp_id);
      const config = samlConfigOf(provider);
      const xml = await spMetadata(config, samlUrlsOf(config, federation.urls(tenant, provider)));
      return reply.type('application/samlmetadata+xml; charset=utf-8').send(xml);
    },
  );

  app.post<{
    Params: { tenant_slug: string; idp_id: string };
    Body: { SAMLResponse: string; RelayState?: string };
  }>(
    '/api/v1/auth/tenants/:tenant_slug/federation/saml/:idp_id/acs',
    {
      schema: {
        tags: ['Federation'],
        summary: 'SAML assertion consumer service',
        description:
          'Where the IdP posts its Response (HTTP-POST binding). The Response is checked (status, signatures, audience, Destination and Recipient, validity period, InResponseTo, issuer, replay); the browser then continues the sign-in at …/interaction/{uid}/federated, which shows why when the Response was refused.',
        params: Params,
        consumes: [FORM],
        body: AcsBody,
        response: {
          303: { description: 'Back to the sign-in (Location)', type: 'null' },
          400: ErrorSchema,
          404: ErrorSchema,
        },
      },
    },
    async (request, reply) => {
      const tenant = await findLiveTenantBySlug(db, request.params.tenant_slug);
      if (!tenant) throw notFound('Tenant');
      const relayState = request.body.RelayState ?? '';
      const login = relayState ? await federation.pending(tenant.id, relayState) : undefined;
      if (!login || login.identity_provider_id !== request.params.idp_id || !login.request_id) {
        throw new AppError(
          'FEDERATION_FAILED',
          'This SAML sign-in was already answered, has expired or is unknown (RelayState). Start again from the application.',
        );
      }
      const provider = await federation.enabledProvider(tenant.id, login.identity_provider_id);
      if (provider?.type !== 'SAML') {
        const url = await federation.answered(tenant, login, {
          error: 'The identity provider is no longer available for sign-in',
        });
        return reply.code(303).header('location', url).send();
      }
      const config = samlConfigOf(provider);
      let answer: Parameters<Federation['answered']>[2];
      try {
        const result = await validateResponse(
          config,
          samlUrlsOf(config, federation.urls(tenant, provider)),
          request.body.SAMLResponse,
          login.request_id,
          { emailAttribute: provider.attributeMapping.email ?? null },
        );
        await rememberAssertion(db, tenant.id, provider.id, result.assertionId, result.expiresAt);
        answer = { identity: result.identity };
      } catch (error) {
        if (!(error instanceof SamlError)) throw error;
        request.log.info(
          { identityProviderId: provider.id, failure: error.failure },
          'SAML response refused',
        );
        answer = { error: error.detail };
      }
      const url = await federation.answered(tenant, login, answer);
      return reply.code(303).header('location', url).send();
    },
  );
}
