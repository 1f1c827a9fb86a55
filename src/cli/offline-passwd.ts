/**
 * `berth user passwd NAME --data-dir DIR` (or `--config FILE`): the operator at the machine
 * resets a password directly in the metadata database, without a server or the current
 * password (the way back in after the generated admin password was lost). Like the API's
 * password change it voids what was issued before: `credentials_changed_at` moves to now (so
 * registry and refresh tokens die), the user's UI sessions end, and an audit event records it.
 * It never creates a database: a data folder without one is an error naming the path.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { hashPassword } from '../auth/secrets.js';
import { loadConfig } from '../config/load.js';
import { openMetadata } from '../main.js';
import { SqlAuthStore } from '../metadata/sql/auth-store.js';

export interface OfflineReset {
  user: string;
  password: string;
  dataDir?: string;
  config?: string;
}

/** Sets the password; resolves to where (the database file or "the configured database"). */
export async function resetPasswordOffline(o: OfflineReset): Promise<string> {
  if (o.password.length < 8 || o.password.length > 256) throw new Error('password must be 8 to 256 characters');
  const config = loadConfig({ file: o.config ?? process.env.BERTH_CONFIG, overrides: o.dataDir !== undefined ? { dataDir: o.dataDir } : {} });
  let where = 'the configured PostgreSQL database';
  if (config.metadata.driver === 'sqlite') {
    where = resolve(config.metadata.sqlite.path ?? `${config.dataDir}/berth.db`);
    if (!existsSync(where)) throw new Error(`no Berth database at ${where}: give the --data-dir of the registry (nothing was created)`);
  }
  const passwordHash = await hashPassword(o.password);
  const meta = await openMetadata(config);
  try {
    const store = new SqlAuthStore(meta.db, meta.dialect);
    await store.transaction(async (tx) => {
      const u = await tx.users.byName(o.user);
      if (!u) throw new Error(`user ${o.user} does not exist in ${where}`);
      const now = Date.now();
      await tx.users.update(u.id, { passwordHash, credentialsChangedAt: now }, now);
      await tx.sessions.deleteForUser(u.id);
      await tx.audit.insert([{ at: now, actor: 'berth-cli (offline)', action: 'user.update', resource: `user:${o.user}`, project: null, result: 'success', sourceAddress: null, detail: { password: 'reset offline' } }]);
    });
  } finally {
    await meta.close();
  }
  return where;
}
