/**
 * Starts a real Berth server on a free loopback port over a fresh data folder, for tests.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.js';
import type { ConfigInput } from '../../src/config/schema.js';
import { createBerth, type Berth } from '../../src/main.js';
import { createTestDatabase } from './postgres.js';
import { testStorage } from './storage.js';

export interface TestBerth {
  berth: Berth;
  /** Base URL, e.g. http://127.0.0.1:40123 */
  url: string;
  /** host:port, for clients that take a registry address. */
  host: string;
  dataDir: string;
  close(): Promise<void>;
}

export async function startBerth(config: Partial<ConfigInput> = {}): Promise<TestBerth> {
  const dataDir = config.dataDir ?? (await mkdtemp(join(tmpdir(), 'berth-test-')));
  // Existing tests push anonymously: they run an open registry unless they ask for auth.
  // BERTH_TEST_STORAGE=s3 puts every test server's blobs on S3 (test/helpers/storage.ts).
  // BERTH_TEST_METADATA=postgres gives every test server a PostgreSQL database of its own.
  const storage = config.storage ? undefined : await testStorage();
  const database = config.metadata || process.env.BERTH_TEST_METADATA !== 'postgres' ? undefined : await createTestDatabase();
  const berth = await createBerth(
    parseConfig({
      logLevel: 'warn',
      auth: { enabled: false },
      ...(storage ? { storage: storage.storage } : {}),
      ...(database ? { metadata: { driver: 'postgres', postgres: { url: database.url } } } : {}),
      ...config,
      listen: '127.0.0.1:0',
      dataDir,
    }),
  );
  const host = await berth.listen();
  return {
    berth,
    url: `http://${host}`,
    host,
    dataDir,
    async close() {
      await berth.close();
      await storage?.cleanup();
      await database?.drop();
      if (!config.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
