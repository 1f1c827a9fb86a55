/**
 * Remembers verified credentials for a short time so repeated requests with Basic auth skip
 * argon2 (slow on purpose). Entries are keyed by an HMAC of user name and secret under a
 * random per-process key: the secret itself is never kept. Any account change clears the
 * whole cache (`clear`), so a disabled user or changed password takes effect at once here;
 * the authenticator also re-checks a remembered credential's account against the shared
 * database, so a change made by another process takes effect within seconds there too.
 */
import { createHmac, randomBytes } from 'node:crypto';

export class CredentialCache<T> {
  private readonly key = randomBytes(32);
  private entries = new Map<string, { value: T; until: number }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  keyOf(user: string, secret: string): string {
    return createHmac('sha256', this.key).update(user).update('\0').update(secret).digest('base64url');
  }

  get(key: string): T | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.until <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  set(key: string, value: T): void {
    if (this.ttlMs <= 0) return;
    if (this.entries.size >= this.maxEntries) this.entries = new Map();
    this.entries.set(key, { value, until: this.now() + this.ttlMs });
  }

  delete(key: string): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries = new Map();
  }
}
