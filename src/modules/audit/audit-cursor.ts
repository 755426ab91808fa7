import { isId } from '../../lib/ids.js';
import { MAX_PAGE } from '../../platform/schemas.js';
import type { AuditPosition } from './audit.cross-tenant.js';

/**
 * The keyset cursor of the audit list: where the next page starts (the last entry's `created_at`
 * to the microsecond and id) and the number of that page. It is opaque to clients (base64url of
 * a small JSON array) and carries no filter: a client sends the same filters with it.
 */
export interface AuditCursor extends AuditPosition {
  page: number;
}

const POSITION_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

export function encodeCursor(cursor: AuditCursor): string {
  return Buffer.from(JSON.stringify([cursor.at, cursor.id, cursor.page])).toString('base64url');
}

/** The cursor a string encodes, or null when it is not one of ours. */
export function decodeCursor(text: string): AuditCursor | null {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return null;
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(value) || value.length !== 3) return null;
  const [at, id, page] = value as unknown[];
  if (typeof at !== 'string' || !POSITION_TIME.test(at) || Number.isNaN(Date.parse(at))) return null;
  if (!isId('event', id)) return null;
  if (typeof page !== 'number' || !Number.isInteger(page) || page < 2 || page > MAX_PAGE) return null;
  return { at, id, page };
}
