/**
 * Secrets at rest (issue 12): webhook endpoint secrets (Standard Webhooks' `whsec_…`, and the
 * DeltaPay and Centrapay formats' private keys) and API keys' signing secrets (AlphaPo's) are
 * stored sealed with AES-256-GCM (`node:crypto`) under a master key from `PAYREQ_SECRET_KEY`.
 *
 * A sealed value is `prqenc:v1:<key id>:<iv>:<ciphertext>:<tag>` (base64url; the key id is the
 * first 8 hex characters of the key's SHA-256, the IV 12 random bytes, the tag 16 bytes). The
 * additional authenticated data is the value's place (`webhook_endpoints.secret:<id>`), so a
 * sealed value copied into another row or column does not open. Values from before sealing are
 * plain text; {@link SecretBox.needsReseal} finds them, and those sealed under a previous key,
 * and the server reseals them under the current key when it starts (rotation: README).
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const PREFIX = 'prqenc:v1:';

/** Seals and opens secrets under the current master key (and opens under previous ones). */
export interface SecretBox {
  /** The current key's id: 8 hex characters of its SHA-256. */
  readonly keyId: string;
  /**
   * True when the current key was generated and is kept beside the data (test mode without
   * `PAYREQ_SECRET_KEY`, src/secret-key.ts): fit for test-mode secrets only, so such a process
   * refuses live-mode keys and secrets.
   */
  readonly generated: boolean;
  /**
   * Seals `plaintext` for the place `context` (say `api_keys.signing_secret:<id>`).
   * @throws Error when the box has no key (a store opened without one).
   */
  seal(plaintext: string, context: string): string;
  /**
   * Opens a stored value for `context`; a plain-text value (stored before sealing) is answered as is.
   * @throws Error when it was sealed under a key this box does not hold, or for another place, or was altered.
   */
  open(stored: string, context: string): string;
  /** True when `stored` is plain text or sealed under another key than the current one. */
  needsReseal(stored: string): boolean;
  /**
   * `stored` sealed anew under the current key when it is plain text or under a previous key;
   * undefined when it already is under the current key (nothing to write).
   * @throws Error as {@link SecretBox.open} and {@link SecretBox.seal}.
   */
  reseal(stored: string, context: string): string | undefined;
}

/** The id of a 32-byte key: the first 8 hex characters of its SHA-256. */
export function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/**
 * Parses a master key: 64 hexadecimal characters (32 bytes).
 * @throws Error naming `name` when it is not.
 */
export function parseSecretKey(text: string, name = 'PAYREQ_SECRET_KEY'): Buffer {
  if (!/^[0-9a-fA-F]{64}$/.test(text.trim())) throw new Error(`${name} must be 64 hexadecimal characters (32 bytes), e.g. from \`openssl rand -hex 32\``);
  return Buffer.from(text.trim(), 'hex');
}

/**
 * A box sealing under `current` and opening under it or any of `previous` (rotation). Without
 * `current` (a store opened only to read, say by a test or a CLI command), it opens plain text
 * only and refuses to seal. `options.generated`: `current` is a generated key kept beside the
 * data ({@link SecretBox.generated}).
 */
export function secretBox(current: Buffer | undefined, previous: readonly Buffer[] = [], options: { generated?: boolean } = {}): SecretBox {
  const keys = new Map<string, Buffer>();
  for (const key of [...previous, ...(current ? [current] : [])]) keys.set(keyIdOf(key), key);
  const keyId = current ? keyIdOf(current) : '';
  return {
    keyId,
    generated: options.generated === true,
    seal(plaintext, context) {
      if (!current) throw new Error('no master key: secrets cannot be sealed (PAYREQ_SECRET_KEY)');
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', current, iv);
      cipher.setAAD(Buffer.from(context, 'utf8'));
      const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
      return `${PREFIX}${keyId}:${iv.toString('base64url')}:${ciphertext.toString('base64url')}:${cipher.getAuthTag().toString('base64url')}`;
    },
    open(stored, context) {
      if (!stored.startsWith(PREFIX)) return stored;
      const [id, iv, ciphertext, tag] = stored.slice(PREFIX.length).split(':');
      const key = keys.get(id ?? '');
      if (!key) throw new Error(`a secret is sealed under master key ${id ?? '?'}, which this server does not hold: set PAYREQ_SECRET_KEY (or PAYREQ_SECRET_KEY_PREVIOUS while rotating) to it`);
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv ?? '', 'base64url'));
      decipher.setAAD(Buffer.from(context, 'utf8'));
      decipher.setAuthTag(Buffer.from(tag ?? '', 'base64url'));
      return Buffer.concat([decipher.update(Buffer.from(ciphertext ?? '', 'base64url')), decipher.final()]).toString('utf8');
    },
    needsReseal(stored) {
      return !stored.startsWith(`${PREFIX}${keyId}:`);
    },
    reseal(stored, context) {
      return this.needsReseal(stored) ? this.seal(this.open(stored, context), context) : undefined;
    },
  };
}
