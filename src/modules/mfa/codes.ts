import { createHash, randomInt } from 'node:crypto';
import { Secret, TOTP } from 'otpauth';
import { lazyImport } from '../../lib/lazy-import.js';

/** The QR code library, loaded at the first TOTP enrollment (docs/performance.md, "Idle memory"). */
const qrcode = lazyImport(() => import('qrcode'));

/** RFC 6238 as authenticator apps expect it: SHA-1, 6 digits, 30-second steps. */
const TOTP_PERIOD = 30;
const TOTP_DIGITS = 6;

function totpOf(secretBase32: string, issuer = 'ScaiKey', label = 'account'): TOTP {
  return new TOTP({
    issuer,
    label,
    algorithm: 'SHA1',
    digits: TOTP_DIGITS,
    period: TOTP_PERIOD,
    secret: Secret.fromBase32(secretBase32),
  });
}

/** A new TOTP seed (160 bits, base32) and its `otpauth://` URI with a QR code of it (SVG). */
export async function newTotpSecret(issuer: string, account: string) {
  const secret = new Secret({ size: 20 }).base32;
  return { secret, ...(await totpEnrollmentOf(secret, issuer, account)) };
}

/** The `otpauth://` URI of a seed and its QR code (SVG), for an app to scan. */
export async function totpEnrollmentOf(secret: string, issuer: string, account: string) {
  const uri = totpOf(secret, issuer, account).toString();
  const qrSvg = await (await qrcode()).default.toString(uri, {
    type: 'svg',
    errorCorrectionLevel: 'M',
    margin: 2,
  });
  return { uri, qrSvg };
}

/**
 * The time step a code belongs to, when it is the code of the step at `now` or of one step before
 * or after (clock drift); null otherwise. The caller accepts a step at most once (replay).
 */
export function totpStep(secretBase32: string, code: string, now: Date): number | null {
  const token = normalizeDigits(code);
  if (token.length !== TOTP_DIGITS) return null;
  const current = Math.floor(now.getTime() / 1000 / TOTP_PERIOD);
  const delta = totpOf(secretBase32).validate({ token, timestamp: now.getTime(), window: 1 });
  return delta === null ? null : current + delta;
}

const normalizeDigits = (code: string) => code.replace(/[\s-]/g, '');

/** A six-digit one-time code (emailed). */
export function newNumericCode(): string {
  return String(randomInt(0, 1_000_000)).padStart(6, '0');
}

/** The stored form of a one-time code: SHA-256 over its context (challenge or user) and the code. */
export function codeHash(context: string, code: string): string {
  return createHash('sha256')
    .update(`${context}\u0000${normalizeDigits(code).toLowerCase()}`)
    .digest('hex');
}

const BACKUP_ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789';

/** Ten backup codes, `xxxxx-xxxxx` (50 bits each), shown once and stored as hashes. */
export function newBackupCodes(count = 10): string[] {
  return Array.from({ length: count }, () => {
    let code = '';
    for (let i = 0; i < 10; i++) code += BACKUP_ALPHABET[randomInt(BACKUP_ALPHABET.length)];
    return `${code.slice(0, 5)}-${code.slice(5)}`;
  });
}

/** Whether a typed code looks like a backup code rather than a six-digit one. */
export const looksLikeBackupCode = (code: string) => normalizeDigits(code).length === 10;

/** The pseudonymous form of an email address a page may show (`j•••@example.com`). */
export function maskEmail(email: string): string {
  const at = email.lastIndexOf('@');
  if (at < 1) return '•••';
  return `${email[0]}•••${email.slice(at)}`;
}

/** The least time between two emailed codes of one challenge or enrollment. */
export const EMAIL_CODE_INTERVAL_MS = 30_000;

/** Seconds to wait before another code may be mailed, when the last went at `lastSentAt` (0: now). */
export function emailCodeWait(lastSentAt: Date | null, now: Date): number {
  if (!lastSentAt) return 0;
  return Math.max(0, Math.ceil((lastSentAt.getTime() + EMAIL_CODE_INTERVAL_MS - now.getTime()) / 1000));
}
