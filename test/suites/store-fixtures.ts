/**
 * What the store contract suites share: typed test values (repository names, digests,
 * manifests) and the harness lifecycle every suite runs under: open before the suite, close
 * after it, and fail any test that left a row behind (tables of history kept by contract
 * excepted).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, afterEach, before } from 'node:test';
import type { NewManifest } from '../../src/metadata/store.js';
import type { Digest, RepoName } from '../../src/domain/names.js';

export const repo = (s: string) => s as RepoName;
export const digest = (s: string) => `sha256:${createHash('sha256').update(s).digest('hex')}` as Digest;

/** An image manifest whose bytes are `content` (its digest is theirs). */
export function manifest(content: string, over: Partial<NewManifest> = {}): NewManifest {
  return { digest: digest(content), mediaType: 'application/vnd.oci.image.manifest.v1+json', artifactType: null, subject: null, content: Buffer.from(content), annotations: null, blobs: [], children: [], ...over };
}

/** Rows the run tables keep by contract: history, not leftovers. */
export const RUN_HISTORY: ReadonlySet<string> = new Set(['gc_runs', 'retention_runs']);

/**
 * Opens the harness before the suite's tests (handing it to `opened`), closes it after them,
 * and after each test fails when a table outside `history` still holds a row.
 */
export function storeHooks<H extends { rowCounts(): Promise<Record<string, number>>; close(): Promise<void> }>(open: () => Promise<H>, opened: (h: H) => void, history: ReadonlySet<string> = new Set()): void {
  let h: H | undefined;
  before(async () => {
    h = await open();
    opened(h);
  });
  after(async () => {
    await h?.close();
  });
  afterEach(async () => {
    const left = Object.entries(await h!.rowCounts()).filter(([t, n]) => n > 0 && !history.has(t));
    assert.deepEqual(left, [], 'the test left rows behind');
  });
}
