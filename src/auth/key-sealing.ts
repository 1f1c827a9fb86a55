/**
 * Encryption at rest of the token-signing private keys. The keys live in the shared metadata
 * database (so every node signs and verifies alike); sealing them with a key that is NOT in
 * that database means a leaked database file or backup cannot mint registry tokens.
 *
 * The key-encryption key comes from `auth.keyEncryptionKey` (or BERTH_AUTH__KEY_ENCRYPTION_KEY).
 * When it is unset, a random one is created once in `<dataDir>/signing-keys.key` (mode 0600);
 * that suits one host (all `--workers` share the folder), while several nodes must be given
 * the same configured key. Sealed values are AES-256-GCM: `sealed:v1:<base64url(iv|tag|ct)>`.
 * A value stored before sealing existed (plain JSON) is still read, and sealed on first start.
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

const PREFIX = 'sealed:v1:';

export class KeySealingError extends Error {
  override readonly name = 'KeySealingError';
}

export class KeySealer {
  private readonly key: Buffer;

  /** `secret`: the configured key-encryption key or the contents of the key file. */
  constructor(secret: string | Buffer) {
    // HKDF turns any sufficiently random secret into exactly one AES-256 key.
    this.key = Buffer.from(hkdfSync('sha256', secret, 'berth', 'token signing keys at rest', 32));
  }

  /** Reads the configured secret, or the data folder's key file (created on first use). */
  static async open(configured: string | undefined, keyFile: string): Promise<KeySealer> {
    if (configured !== undefined) return new KeySealer(configured);
    await mkdir(dirname(keyFile), { recursive: true });
    try {
      // O_EXCL: of several processes starting together, one creates the file and all read it.
      const f = await open(keyFile, 'wx', 0o600);
      try {
        await f.writeFile(randomBytes(32).toString('base64url') + '\n');
        await f.sync();
      } finally {
        await f.close();
      }
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const secret = (await readFile(keyFile, 'utf8')).trim();
    if (secret.length < 32) throw new KeySealingError(`${keyFile} holds no usable key (delete it only if the database holds no signing keys yet)`);
    return new KeySealer(secret);
  }

  static isSealed(stored: string): boolean {
    return stored.startsWith(PREFIX);
  }

  seal(plain: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    const ct = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), ct]).toString('base64url');
  }

  /** The plain value of a stored one (sealed or, from before sealing, plain JSON). */
  open(stored: string): string {
    if (!KeySealer.isSealed(stored)) return stored;
    const raw = Buffer.from(stored.slice(PREFIX.length), 'base64url');
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      throw new KeySealingError(
        'cannot decrypt the token signing keys: they were sealed with another key-encryption key (every node must have the same auth.keyEncryptionKey, or share the data folder\'s signing-keys.key)',
      );
    }
  }
}
