import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import { FederationIdp } from '../../modules/identity-providers/index.js';
import { findLiveTenantBySlug } from '../../modules/tenants/index.js';
import type { Db } from '../../platform/db/database.js';
import { notFound } from '../../platform/errors.js';
import { ok } from '../../platform/http.js';
import { Envelope, ErrorSchema } from '../../platform/schemas.js';
import type { Federation } from './federation.js';

export interface FederationRoutesOptions {
  db: Db;
  federation: Federation;
}

/**
 * Federation's public endpoints (docs/federation.md): the list of SSO buttons; the adapters add
 * the OIDC callback and the SAML metadata and ACS.
 */
export async function federationRoutes(
  app: FastifyInstance,
  options: FederationRoutesOptions,
): Promise<void> {
  const { db, federation } = options;
  app.get<{ Params: { tenant_slug: string } }>(
    '/api/v1/auth/tenants/:tenant_slug/federation/idps',
    {
      schema: {
        tags: ['Federation'],
        summary: 'List the identity providers of a sign-in page',
        description:
          'The enabled OIDC and SAML providers of the tenant, as SSO buttons: `login_path` (with the sign-in’s interaction uid filled in) starts the sign-in through one. LDAP directories are not listed: their users sign in with the password form.',
        params: Type.Object({ tenant_slug: Type.String({ maxLength: 255 }) }),
        response: {
          200: Envelope(Type.Array(FederationIdp), 'ApiResponse_List_FederationIdp__'),
          404: ErrorSchema,
        },
      },
    },
    async (request) => {
      const slug = request.params.tenant_slug;
      const tenant = await findLiveTenantBySlug(db, slug);
      if (!tenant) throw notFound('Tenant');
      const providers = await federation.enabledProviders(tenant.id);
      return ok(
        request,
        providers
          .filter((provider) => provider.type !== 'LDAP')
          .map((provider) => ({
            id: provider.id,
            name: provider.name,
            button_label: provider.buttonLabel,
            provider_type: provider.type,
            login_path: `/api/v1/auth/tenants/${encodeURIComponent(tenant.slug)}/interaction/{uid}/federation/${provider.id}`,
          })),
      );
    },
  );
}
