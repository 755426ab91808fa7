import { type KeyObject, sign, verify } from 'node:crypto';

/**
 * Compact JWS with RS256 on node:crypto directly: signing this way runs at the raw RSA rate
 * (jose's async WebCrypto path costs more per token), which the token endpoint's target needs.
 */
export interface JwtHeader {
  alg: string;
  typ?: string;
  kid?: string;
}

const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Signs `payload` with RS256 (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3). */
export function signRs256(
  header: JwtHeader,
  payload: Record<string, unknown>,
  privateKey: KeyObject,
): string {
  const input = `${encode(header)}.${encode(payload)}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

export interface DecodedJwt {
  header: JwtHeader & Record<string, unknown>;
  payload: Record<string, unknown>;
  signingInput: string;
  signature: Buffer;
}

/** Splits and parses a compact JWS without checking anything; returns null when it is not one. */
export function decodeJwt(token: string): DecodedJwt | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [rawHeader, rawPayload, rawSignature] = parts as [string, string, string];
  try {
    const header = JSON.parse(Buffer.from(rawHeader, 'base64url').toString('utf8'));
    const payload = JSON.parse(Buffer.from(rawPayload, 'base64url').toString('utf8'));
    if (typeof header !== 'object' || header === null || typeof payload !== 'object' || payload === null)
      return null;
    if (Array.isArray(payload)) return null;
    return {
      header,
      payload,
      signingInput: `${rawHeader}.${rawPayload}`,
      signature: Buffer.from(rawSignature, 'base64url'),
    };
  } catch {
    return null;
  }
}

/** Checks an RS256 signature of a decoded token against a public key. */
export function verifyRs256(decoded: DecodedJwt, publicKey: KeyObject): boolean {
  return verify('sha256', Buffer.from(decoded.signingInput), publicKey, decoded.signature);
}
