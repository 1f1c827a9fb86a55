/**
 * Scale-out plumbing that is not a store contract: the postgres configuration (file and
 * environment), `berth migrate` run by several processes at once against one fresh
 * database, and shared secrets that every node reads the same.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import pg from 'pg';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/load.js';
import { SharedSecrets } from '../../src/cluster/shared-secrets.js';
import { postgresHarness, sqliteHarness } from '../helpers/metadata.js';
import { createTestDatabase, postgresSkipReason } from '../helpers/postgres.js';

const run = promisify(execFile);
const CLI = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const skip = await postgresSkipReason();

describe('postgres configuration', () => {
  it('fills defaults and reads the environment', () => {
    const c = loadConfig({ env: { BERTH_METADATA__DRIVER: 'postgres', BERTH_METADATA__POSTGRES__URL: 'postgres://u@db:5432/berth', BERTH_METADATA__POSTGRES__SSL__ENABLED: 'true', BERTH_WORKERS: '3' } });
    assert.equal(c.workers, 3);
    assert.equal(c.metadata.driver, 'postgres');
    if (c.metadata.driver !== 'postgres') return;
    assert.equal(c.metadata.postgres.url, 'postgres://u@db:5432/berth');
    assert.equal(c.metadata.postgres.poolSize, 10);
    assert.deepEqual(c.metadata.postgres.ssl, { enabled: true, rejectUnauthorized: true });
  });

  it('names a bad key', () => {
    assert.throws(() => parseConfig({ metadata: { driver: 'postgres', postgres: { url: 'x', pool: 3 } } }), (e: unknown) => e instanceof ConfigError && /metadata\.postgres\.pool/.test(e.message));
    assert.throws(() => parseConfig({ metadata: { driver: 'postgres', postgres: { schema: 'Bad-Name' } } }), /metadata\.postgres\.schema/);
  });
});

describe('berth migrate', { skip }, () => {
  it('migrates one fresh database from several processes at once, into a schema of its own', async () => {
    const db = await createTestDatabase();
    const dir = await mkdtemp(join(tmpdir(), 'berth-migrate-'));
    try {
      const file = join(dir, 'berth.yaml');
      await writeFile(file, `metadata:\n  driver: postgres\n  postgres:\n    url: "${db.url}"\n    schema: registry\n`);
      const outs = await Promise.all([1, 2, 3].map(() => run(process.execPath, [CLI, 'migrate', '-c', file])));
      for (const o of outs) assert.match(o.stdout, /metadata \(postgres\) is up to date/);
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      try {
        const tables = await c.query<{ table_name: string }>("select table_name from information_schema.tables where table_schema = 'registry' order by 1");
        for (const t of ['jobs', 'manifests', 'settings', 'tags', 'uploads', 'berth_migrations']) assert.ok(tables.rows.some((r) => r.table_name === t), `missing ${t}`);
        const applied = await c.query<{ name: string }>('select name from registry.berth_migrations order by name');
        const { migrations } = await import('../../src/metadata/migrations/index.js');
        assert.deepEqual(applied.rows.map((r) => r.name), Object.keys(migrations('postgres')).sort());
      } finally {
        await c.end();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
      await db.drop();
    }
  });
});

for (const [name, open, why] of [['sqlite', sqliteHarness, undefined], ['postgres', postgresHarness, skip]] as const) {
  describe(`shared secrets on ${name}`, { skip: why }, () => {
    it('gives every node the same secret, created once', async () => {
      const h = await open();
      try {
        const nodes = [h.store, await h.another(), await h.another()].map((s) => new SharedSecrets(s.settings));
        const keys = await Promise.all(nodes.flatMap((n) => [n.get('token-signing'), n.get('token-signing')]));
        assert.equal(keys[0]!.length, 32);
        for (const k of keys) assert.ok(k.equals(keys[0]!));
        const other = await nodes[1]!.get('upload-state', 16);
        assert.equal(other.length, 16);
        assert.ok(!other.equals(keys[0]!.subarray(0, 16)));
        await h.store.settings.delete('secret:token-signing');
        await h.store.settings.delete('secret:upload-state');
      } finally {
        await h.close();
      }
    });
  });
}
