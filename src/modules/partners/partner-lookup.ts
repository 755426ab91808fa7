import type { Queryable } from '../../platform/db/database.js';
import type { PartnerRow } from '../../platform/db/schema.js';
import { createPartnersRepository } from './partners.repository.js';

/** A live partner by id (other modules check the partner a change refers to). */
export async function findLivePartner(db: Queryable, id: string): Promise<PartnerRow | undefined> {
  return createPartnersRepository(db).findLive(id);
}

/** A partner row by id, live or not (its limits, read under a lock of one of its tenants). */
export async function findPartnerRow(db: Queryable, id: string): Promise<PartnerRow | undefined> {
  return createPartnersRepository(db).findById(id);
}

/** A live partner, row-locked until the transaction ends (limits are checked under this lock). */
export async function lockLivePartner(db: Queryable, id: string): Promise<PartnerRow | undefined> {
  return createPartnersRepository(db).lockLive(id);
}

/** The platform partner (created by the bootstrap). */
export async function findPlatformPartner(db: Queryable): Promise<PartnerRow | undefined> {
  return createPartnersRepository(db).findPlatform();
}
