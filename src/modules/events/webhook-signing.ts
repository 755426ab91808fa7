import { createHmac, randomBytes } from 'node:crypto';

/**
 * Webhook signatures (docs/api-decisions.md, "Webhooks"): the Standard Webhooks scheme
 * (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256>` over
 * `{id}.{timestamp}.{body}`, keyed with the secret's bytes) and ScaiKey's documented
 * `X-ScaiKey-Signature: t=<ts>,v1=<hex HMAC-SHA256>` over `{timestamp}.{body}` with the same key.
 */

const SECRET_PREFIX = 'whsec_';

/** A new signing secret as Standard Webhooks writes it: `whsec_` + base64 of 32 random bytes. */
export function newWebhookSecret(): string {
  return SECRET_PREFIX + randomBytes(32).toString('base64');
}

/** The key bytes of a `whsec_` secret. */
function keyOf(secret: string): Buffer {
  return Buffer.from(
    secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret,
    'base64',
  );
}

export interface SignedMessage {
  /** The message id (the event id; the same on every retry). */
  id: string;
  /** Unix seconds of this attempt. */
  timestamp: number;
  body: string;
}

/** The `webhook-signature` value: one `v1,<base64>` per secret, space-separated (rotation overlap). */
export function standardSignature(secrets: readonly string[], message: SignedMessage): string {
  const content = `${message.id}.${message.timestamp}.${message.body}`;
  return secrets
    .map((secret) => `v1,${createHmac('sha256', keyOf(secret)).update(content).digest('base64')}`)
    .join(' ');
}

/** The `X-ScaiKey-Signature` value: `t=<ts>,v1=<hex>[,v1=<hex>]` (one v1 per secret). */
export function scaikeySignature(secrets: readonly string[], message: SignedMessage): string {
  const content = `${message.timestamp}.${message.body}`;
  const parts = secrets.map(
    (secret) => `v1=${createHmac('sha256', keyOf(secret)).update(content).digest('hex')}`,
  );
  return [`t=${message.timestamp}`, ...parts].join(',');
}

/** JSON with object keys sorted at every level and no blanks (the documented body form). */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.keys(value as Record<string, unknown>)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}
