/**
 * Secrets every node must agree on (token signing keys, upload-state signing): created
 * randomly by whichever node asks first, stored in the shared metadata store, and read by
 * all others, so a token issued by one node is honoured by every other. Cached per process
 * once read (a secret never changes under the same name; rotation uses a new name).
 */
import { randomBytes } from 'node:crypto';
import type { SettingQueries } from '../metadata/store.js';

const PREFIX = 'secret:';

export class SharedSecrets {
  private readonly cache = new Map<string, Promise<Buffer>>();

  constructor(private readonly settings: SettingQueries) {}

  /** The secret called `name`: `bytes` random bytes the first time any node asks. */
  get(name: string, bytes = 32): Promise<Buffer> {
    let p = this.cache.get(name);
    if (!p) {
      p = this.settings.getOrCreate(PREFIX + name, randomBytes(bytes).toString('base64url')).then((v) => Buffer.from(v, 'base64url'));
      p.catch(() => this.cache.delete(name));
      this.cache.set(name, p);
    }
    return p;
  }
}
