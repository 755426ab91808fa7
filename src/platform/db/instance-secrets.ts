import { generateSecret } from '../../lib/secrets.js';
import type { Db } from './database.js';

/**
 * A random secret shared by every instance (e.g. the key that signs session cookies), created on
 * first use. Two instances starting together agree: the first insert wins, both read it back.
 */
export async function instanceSecret(db: Db, name: string): Promise<string> {
  await db
    .insertInto('instance_secrets')
    .values({ name, value: generateSecret() })
    .onConflict((conflict) => conflict.column('name').doNothing())
    .execute();
  const row = await db
    .selectFrom('instance_secrets')
    .select('value')
    .where('name', '=', name)
    .executeTakeFirstOrThrow();
  return row.value;
}
