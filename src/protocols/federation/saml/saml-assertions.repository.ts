import type { Kysely } from 'kysely';
import type { Database } from '../../../platform/db/schema.js';
import { bindTenant } from '../../../platform/db/tenant-scope.js';
import { SamlError } from './service-provider.js';

/**
 * Replay protection of the SAML service provider (SAML profiles 2.0 §4.1.4.5: an assertion is
 * used once): the ids of accepted assertions of one IdP, kept until the assertion could no longer
 * be accepted anyway. The primary key (tenant, IdP, assertion id) decides; a second insert of the
 * same id is a replay, also when two instances race.
 */
export async function rememberAssertion(
  db: Kysely<Database>,
  tenantId: string,
  idpId: string,
  assertionId: string,
  expiresAt: Date,
): Promise<void> {
  const result = await bindTenant(db, tenantId)
    .insertInto('saml_assertions')
    .values({
      tenant_id: tenantId,
      identity_provider_id: idpId,
      assertion_id: assertionId,
      expires_at: expiresAt,
    })
    .onConflict((conflict) =>
      conflict.columns(['tenant_id', 'identity_provider_id', 'assertion_id']).doNothing(),
    )
    .executeTakeFirst();
  if (Number(result.numInsertedOrUpdatedRows ?? 0n) === 0) {
    throw new SamlError(
      'replay',
      'This SAML assertion was already used to sign in; a replayed assertion is refused',
    );
  }
}
