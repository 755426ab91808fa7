import { type RawBuilder, sql } from 'kysely';

/**
 * The value that sets a nullable JSON column in an UPDATE: SQL null for null (not the JSON
 * literal `null`), the JSON text otherwise. Callers leave the column out when the PATCH did.
 */
export function jsonColumnValue(value: unknown): string | RawBuilder<string> {
  // Typed as the column's write type (JSON text) so Kysely accepts it in .set().
  return value === null ? sql<string>`null` : JSON.stringify(value);
}
