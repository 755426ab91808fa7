import type { FastifyBaseLogger } from 'fastify';
import type { ProviderType } from '../../modules/identity-providers/index.js';
import type { Db } from '../../platform/db/database.js';
import type { UnitOfWork } from '../../platform/events/unit-of-work.js';
import type { ProviderKind } from './federation.js';
import { samlKind } from './saml/kind.js';

export interface ProviderKindsOptions {
  db: Db;
  work: UnitOfWork;
  publicUrl: string;
  log: FastifyBaseLogger;
}

/** The kinds of identity provider this instance speaks: OIDC, SAML, LDAP (their adapters). */
export function providerKinds(options: ProviderKindsOptions): Partial<Record<ProviderType, ProviderKind>> {
  return { SAML: samlKind(options) };
}
