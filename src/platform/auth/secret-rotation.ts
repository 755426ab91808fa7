/**
 * Rotating a client secret ends the tokens minted with the old one (docs/api-decisions.md). A token
 * says when it was issued in whole seconds (`iat`), the rotation is stored to the millisecond, so the
 * rule is drawn at the second: a token of the application is valid only if its `iat` is a later
 * second than the rotation's. A token endpoint that mints a token for the application within the
 * rotation's own second first waits for the next second (at most one second, only right after a
 * rotation), so a token obtained with the new secret is never refused, and every token obtained with
 * the old one (before the rotation committed) is.
 */

/** Whether a token issued at `issuedAt` (seconds) predates a secret rotation at `rotatedAtMs`. */
export function issuedBeforeRotation(issuedAt: number, rotatedAtMs: number): boolean {
  return issuedAt <= Math.floor(rotatedAtMs / 1000);
}

/** The longest a token endpoint waits for the second after a rotation (clocks that disagree more are not waited for). */
const MAX_WAIT_MS = 1000;

/**
 * The `iat` (seconds) for a new token of an application whose secret was last rotated at
 * `rotatedAtMs` (null: never): the current second, or, within the rotation's own second, the next
 * one, after waiting for it.
 */
export async function issuedAtAfterRotation(rotatedAtMs: number | null | undefined): Promise<number> {
  const now = Date.now();
  const second = Math.floor(now / 1000);
  if (rotatedAtMs == null || !issuedBeforeRotation(second, rotatedAtMs)) return second;
  const wait = Math.min((Math.floor(rotatedAtMs / 1000) + 1) * 1000 - now, MAX_WAIT_MS);
  await new Promise((resolve) => setTimeout(resolve, Math.max(wait, 0)));
  return Math.max(Math.floor(Date.now() / 1000), Math.floor(now / 1000) + 1);
}
