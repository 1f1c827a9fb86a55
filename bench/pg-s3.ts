/**
 * The scale-out configuration: Berth on PostgreSQL (a database of its own, `berth_bench_<random>`,
 * on the local server) and S3 (a bucket of its own on the Ceph RADOS Gateway of
 * scripts/ceph-rgw.sh, started if it is not running), plus the listing figures that matter
 * there: 5,000 tags in one list and catalog pages over 10,000 repositories (inserted straight
 * into the database, since pushing 10,000 repositories over HTTP is slow). The cleanup drops
 * the database and empties and deletes the bucket, whatever happened before.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import pg from 'pg';
import { openPostgres } from '../src/metadata/postgres.js';
import { postgresConfig } from '../test/helpers/metadata.js';
import { cephEndpoint, createBucket, deleteBucket } from '../test/helpers/s3.js';
import { load, type LoadResult } from './client.js';
import type { Row, Table } from './report.js';
import type { Registry } from './servers.js';
import type { Settings } from './workloads.js';

export const ADMIN_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const REPOSITORIES = 10_000;

export interface PgS3 {
  /** BERTH_* settings for `berth serve`. */
  env: Record<string, string>;
  databaseUrl: string;
  describe: string;
  /** The reference's `storage:` section on a bucket of its own on the same Ceph RGW. */
  referenceStorage: string[];
  cleanup(): Promise<void>;
}

async function admin(query: string): Promise<void> {
  const c = new pg.Client({ connectionString: ADMIN_URL, connectionTimeoutMillis: 5000 });
  await c.connect();
  try {
    await c.query(query);
  } finally {
    await c.end();
  }
}

/** Creates the database and the bucket; `cleanup` removes both (and is safe to call after a partial setup). */
export async function createPgS3(log: (l: string) => void): Promise<PgS3> {
  const cleanups: (() => Promise<void>)[] = [];
  // Once, however many callers (a failure and a signal may both ask): each awaits the same run.
  let done: Promise<void> | undefined;
  const cleanup = () =>
    (done ??= (async () => {
      for (const c of cleanups.reverse()) await c().catch((e: unknown) => log(`bench: cleanup: ${String(e)}`));
    })());
  try {
    const name = `berth_bench_${randomBytes(6).toString('hex')}`;
    await admin(`create database ${name}`).catch((e: unknown) => {
      throw new Error(`PostgreSQL at ${ADMIN_URL.replace(/\/\/[^@]*@/, '//')} (set BENCH_POSTGRES_URL, or BENCH_ONLY without pgs3): ${String(e)}`);
    });
    cleanups.push(() => admin(`drop database if exists ${name} with (force)`));
    const url = new URL(ADMIN_URL);
    url.pathname = `/${name}`;
    const ep = await cephEndpoint();
    if (typeof ep === 'string') throw new Error(`${ep} (run scripts/ceph-rgw.sh start, or BENCH_ONLY without pgs3)`);
    const bucket = await createBucket(ep, 'berth-bench');
    // force: empties the bucket (objects and unfinished multipart uploads) before deleting it.
    cleanups.push(() => deleteBucket(ep, bucket, true));
    const referenceBucket = await createBucket(ep, 'reference-bench');
    cleanups.push(() => deleteBucket(ep, referenceBucket, true));
    log(`bench: PostgreSQL database ${name}, S3 buckets ${bucket} (Berth) and ${referenceBucket} (reference) at ${ep.endpoint}`);
    return {
      databaseUrl: url.toString(),
      describe: `PostgreSQL database ${name} on ${url.host}, S3 bucket on the Ceph RGW at ${ep.endpoint}`,
      // Distribution's s3 driver: a regionendpoint implies path-style addressing; redirects
      // off so it serves the bytes itself, as Berth does here.
      referenceStorage: [
        'storage:',
        '  s3:',
        `    accesskey: ${ep.accessKeyId}`,
        `    secretkey: ${ep.secretAccessKey}`,
        `    region: ${ep.region}`,
        `    regionendpoint: ${ep.endpoint}`,
        `    bucket: ${referenceBucket}`,
        '    secure: false',
        '    v4auth: true',
        '    rootdirectory: /',
        '  redirect:',
        '    disable: true',
      ],
      env: {
        BERTH_METADATA__DRIVER: 'postgres',
        BERTH_METADATA__POSTGRES__URL: url.toString(),
        BERTH_STORAGE__DRIVER: 's3',
        BERTH_STORAGE__S3__ENDPOINT: ep.endpoint,
        BERTH_STORAGE__S3__REGION: ep.region,
        BERTH_STORAGE__S3__BUCKET: bucket,
        BERTH_STORAGE__S3__FORCE_PATH_STYLE: 'true',
        BERTH_STORAGE__S3__ACCESS_KEY_ID: ep.accessKeyId,
        BERTH_STORAGE__S3__SECRET_ACCESS_KEY: ep.secretAccessKey,
        // Berth serves the bytes itself, so the pull figures measure Berth (with redirect: true, clients fetch from S3).
        BERTH_STORAGE__S3__REDIRECT: 'false',
      },
      cleanup,
    };
  } catch (e) {
    await cleanup();
    throw e;
  }
}

/** Tags `digest` in `repo` with every name in `tags`, straight in the database (the manifest must be there). */
export async function seedTags(databaseUrl: string, repo: string, digest: string, tags: string[]): Promise<void> {
  const store = openPostgres(postgresConfig(databaseUrl));
  try {
    const m = await store.db
      .selectFrom('manifests as m')
      .innerJoin('repositories as r', 'r.id', 'm.repository_id')
      .select(['m.id', 'm.repository_id'])
      .where('r.name', '=', repo)
      .where('m.digest', '=', digest)
      .executeTakeFirstOrThrow();
    const now = Date.now();
    for (let i = 0; i < tags.length; i += 1000) {
      await store.db
        .insertInto('tags')
        .values(tags.slice(i, i + 1000).map((name) => ({ repository_id: m.repository_id, name, manifest_id: m.id, updated_at: now })))
        .onConflict((oc) => oc.doNothing())
        .execute();
    }
  } finally {
    await store.close();
  }
}

/** Inserts `REPOSITORIES` repositories (50 projects) straight into the server's database. */
async function seedRepositories(databaseUrl: string): Promise<void> {
  const store = openPostgres(postgresConfig(databaseUrl));
  try {
    const now = Date.now();
    for (let i = 0; i < REPOSITORIES; i += 1000) {
      await store.db
        .insertInto('repositories')
        .values(Array.from({ length: 1000 }, (_, j) => ({ name: `team${(i + j) % 50}/app-${String(i + j).padStart(5, '0')}`, project: `team${(i + j) % 50}`, created_at: now })))
        .execute();
    }
    await sql`analyze`.execute(store.db);
  } finally {
    await store.close();
  }
}

/**
 * p99 of listings on the PostgreSQL server, one connection: the 5,000-tag list (the repository
 * the main table's tag phase filled) and catalog pages once 10,000 repositories exist.
 * `referenceTagList` is the reference's figure for the same tag list, when it was measured.
 */
export async function listingTable(server: Registry, env: PgS3, s: Settings, log: (l: string) => void, referenceTagList?: LoadResult): Promise<Table> {
  await seedRepositories(env.databaseUrl);
  const run = async (path: string, expectCount: number, key: 'tags' | 'repositories'): Promise<LoadResult> => {
    const first = await fetch(`${server.url}${path}`);
    const body = (await first.json()) as Record<string, string[] | undefined>;
    if (first.status !== 200 || (body[key]?.length ?? 0) !== expectCount) throw new Error(`${path}: ${first.status}, ${body[key]?.length} ${key}, expected ${expectCount}`);
    await load(server.url, { method: 'GET', paths: [path], connections: 1, seconds: 0.5 });
    const r = await load(server.url, { method: 'GET', paths: [path], connections: 1, seconds: s.tagListSeconds });
    log(`  listing: ${path}: p99 ${r.p99Ms.toFixed(1)} ms, mean ${r.meanMs.toFixed(1)} ms`);
    if (r.errors) throw new Error(`${path}: ${r.errors} failed requests`);
    return r;
  };
  const tags = await run(`/v2/bench/tags/tags/list?n=${s.tags * 2}`, s.tags + 1, 'tags');
  const firstPage = await run('/v2/_catalog', 1000, 'repositories');
  const middle = await run('/v2/_catalog?n=1000&last=team3/app-05000', 1000, 'repositories');
  const all = await run('/v2/_catalog?n=10000', 10_000, 'repositories');
  const row = (label: string, r: LoadResult, ref: LoadResult | undefined, target?: number): Row => ({
    label,
    unit: 'ms',
    better: 'lower',
    reference: ref?.p99Ms ?? NaN,
    berth: r.p99Ms,
    ...(target === undefined ? {} : { targetBerth: target }),
  });
  return {
    title: `Listings on PostgreSQL: p99 latency, one connection`,
    columns: ['Reference (filesystem)', 'Berth (PostgreSQL)', 'Berth/Ref'],
    rows: [
      row(`tags list of ${s.tags} tags in one page (n=${s.tags * 2}), p99`, tags, referenceTagList, 20),
      row(`catalog, first page of 1,000 over ${REPOSITORIES.toLocaleString('en')} repositories, p99`, firstPage, undefined, 20),
      row('catalog, a page of 1,000 from the middle (last=...), p99', middle, undefined, 20),
      row(`catalog, all ${REPOSITORIES.toLocaleString('en')} repositories in one page (n=10000), p99`, all, undefined),
      { label: 'catalog, all in one page, mean', unit: 'ms', better: 'lower', reference: NaN, berth: all.meanMs },
    ],
    notes: [
      `${REPOSITORIES.toLocaleString('en')} repositories (50 projects) inserted straight into the database, then ANALYZE; the tag list is the repository filled by the main table's tag phase (${s.tags} tags + 1). Each path: one keep-alive connection for ${s.tagListSeconds} s after 0.5 s of warm-up; the first answer is checked for the expected number of entries.`,
      `The reference's tag-list figure is its filesystem run from the main table; its catalog over 10,000 repositories was not measured (it walks the storage tree).`,
    ],
  };
}
