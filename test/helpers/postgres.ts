/**
 * PostgreSQL for tests: each caller gets a database of its own (`berth_test_<random>`),
 * created on the server named by BERTH_TEST_POSTGRES_URL (default: the local server), with
 * a natural-language collation where the server has ICU, and
 * dropped again afterwards, so runs never see each other's rows. When the server cannot be
 * reached, tests skip outside CI and fail under CI=true.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const ADMIN_URL = process.env.BERTH_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

let reachable: Promise<boolean> | undefined;

export function postgresReachable(): Promise<boolean> {
  reachable ??= (async () => {
    const c = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 3000 });
    try {
      await c.connect();
      await c.query('select 1');
      return true;
    } catch {
      return false;
    } finally {
      await c.end().catch(() => {});
    }
  })();
  return reachable;
}

/**
 * `undefined` when PostgreSQL tests should run, or the skip reason outside CI. Under CI=true
 * an unreachable server gives `undefined` too, so the tests run and fail on connecting.
 */
export async function postgresSkipReason(): Promise<string | undefined> {
  if (await postgresReachable()) return undefined;
  if (process.env.CI === 'true') return undefined;
  return `PostgreSQL not reachable at ${ADMIN_URL.replace(/\/\/[^@]*@/, '//')} (set BERTH_TEST_POSTGRES_URL)`;
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

async function admin<T>(fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: ADMIN_URL });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `berth_test_${randomBytes(6).toString('hex')}`;
  // A natural-language collation (ICU en-US), as many production servers have: the suite then
  // proves listings come back in byte order whatever the server's default collation.
  await admin((c) => c.query(`create database ${name} template template0 locale_provider icu icu_locale 'en-US'`).catch(() => c.query(`create database ${name}`)));
  const url = new URL(ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      await admin((c) => c.query(`drop database if exists ${name} with (force)`));
    },
  };
}
