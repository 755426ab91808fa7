import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';
import type { Db } from './db/database.js';
import { instanceSecret } from './db/instance-secrets.js';

/** The instance secret (instance_secrets) the key of sealed values is derived from. */
const KEY_NAME = 'secret_box_key';
const VERSION = 'v1';

/**
 * Secrets stored at rest (TOTP seeds; later upstream client secrets and bind passwords):
 * AES-256-GCM under a key every instance shares (created on first use in `instance_secrets`), the
 * stored form `v1.<iv>.<tag>.<ciphertext>` (base64url). A database dump alone does not reveal them
 * unless it includes `instance_secrets`; backups that must keep them apart can exclude that table.
 * `context` (e.g. the factor's id) is bound as additional data: a sealed value copied to another
 * row does not open there.
 */
export class SecretBox {
  private constructor(private readonly key: Buffer) {}

  static async open(db: Db): Promise<SecretBox> {
    const secret = await instanceSecret(db, KEY_NAME);
    return new SecretBox(createHash('sha256').update(`scaikey secret box\u0000${secret}`).digest());
  }

  seal(plaintext: string, context: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(context));
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, iv, cipher.getAuthTag(), body]
      .map((part) => (typeof part === 'string' ? part : part.toString('base64url')))
      .join('.');
  }

  /** The plaintext, or null when the value was not sealed here for `context`. */
  unseal(sealed: string, context: string): string | null {
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== VERSION || !iv || !tag || body === undefined) return null;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(iv, 'base64url'));
      decipher.setAAD(Buffer.from(context));
      decipher.setAuthTag(Buffer.from(tag, 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString(
        'utf8',
      );
    } catch {
      return null;
    }
  }
}
