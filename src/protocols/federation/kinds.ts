import type { FastifyBaseLogger } from 'fastify';
import type { ProviderType } from '../../modules/identity-providers/index.js';
import type { Db } from '../../platform/db/database.js';
import type { UnitOfWork } from '../../platform/events/unit-of-work.js';
import type { ProviderKind } from './federation.js';
import { ldapKind } from './ldap/kind.js';
import { oidcKind } from './oidc/kind.js';
import { samlKind } from './saml/kind.js';

export interface ProviderKindsOptions {
  db: Db;
  work: UnitOfWork;
  publicUrl: string;
  log: FastifyBaseLogger;
  /** SCAIKEY_FEDERATION_ALLOW_HTTP: providers may be reached over plain http (tests, development). */
  allowHttp: boolean;
}

/** The kinds of identity provider this instance speaks: OIDC, SAML, LDAP (their adapters). */
export function providerKinds(options: ProviderKindsOptions): Partial<Record<ProviderType, ProviderKind>> {
  return { OIDC: oidcKind(options), SAML: samlKind(options), LDAP: ldapKind(options) };
}
