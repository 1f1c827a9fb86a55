/**
 * Checks a Berth data folder for the invariants a crash must never break, from two sides:
 * the SQLite file opened read-only (no dangling reference, every blob row backed by verified
 * bytes in storage, every tag on a manifest of its repository) and the HTTP API (every tag and
 * manifest answers, and every blob a manifest references is served with the right digest).
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';

export interface ConsistencyReport {
  blobs: number;
  manifests: number;
  tags: number;
  uploads: number;
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return 'sha256:' + hash.digest('hex');
}

export function blobPath(dataDir: string, digest: string): string {
  const [algorithm, hex] = digest.split(':') as [string, string];
  return join(dataDir, 'storage', 'blobs', algorithm, hex.slice(0, 2), hex);
}

/** Reads the metadata with a read-only connection (the server may be running). */
export function readMetadata<T>(dataDir: string, fn: (db: Database.Database) => T): T {
  const db = new Database(join(dataDir, 'berth.db'), { readonly: true, fileMustExist: true });
  try {
    return fn(db);
  } finally {
    db.close();
  }
}

export async function checkConsistency(dataDir: string, url: string): Promise<ConsistencyReport> {
  const m = readMetadata(dataDir, (db) => ({
    danglingBlobRefs: db.prepare('SELECT mb.digest FROM manifest_blobs mb LEFT JOIN blobs b ON b.digest = mb.digest WHERE b.digest IS NULL').all(),
    danglingChildren: db
      .prepare(
        `SELECT p.digest AS parent, mc.child_id FROM manifest_children mc JOIN manifests p ON p.id = mc.parent_id
         LEFT JOIN manifests c ON c.id = mc.child_id AND c.repository_id = p.repository_id WHERE c.id IS NULL`,
      )
      .all(),
    danglingTags: db
      .prepare('SELECT t.name FROM tags t LEFT JOIN manifests m ON m.id = t.manifest_id AND m.repository_id = t.repository_id WHERE m.id IS NULL')
      .all(),
    blobs: db.prepare('SELECT digest, size FROM blobs').all() as { digest: string; size: number }[],
    manifests: db
      .prepare('SELECT r.name AS repo, m.id, m.digest, m.content FROM manifests m JOIN repositories r ON r.id = m.repository_id')
      .all() as { repo: string; id: number; digest: string; content: Buffer }[],
    manifestBlobs: db.prepare('SELECT manifest_id, digest FROM manifest_blobs').all() as { manifest_id: number; digest: string }[],
    tags: db
      .prepare('SELECT r.name AS repo, t.name, m.digest FROM tags t JOIN repositories r ON r.id = t.repository_id JOIN manifests m ON m.id = t.manifest_id')
      .all() as { repo: string; name: string; digest: string }[],
    uploads: (db.prepare('SELECT count(*) AS n FROM uploads').get() as { n: number }).n,
  }));
  assert.deepEqual(m.danglingBlobRefs, [], 'manifest -> blob references without a blob row');
  assert.deepEqual(m.danglingChildren, [], 'index -> child references without a manifest in the repository');
  assert.deepEqual(m.danglingTags, [], 'tags without a manifest in their repository');

  // A blob row exists only once its bytes are durable and verified.
  for (const b of m.blobs) {
    const path = blobPath(dataDir, b.digest);
    const s = await stat(path).catch(() => undefined);
    assert.ok(s, `blob row ${b.digest} has no bytes in storage`);
    assert.equal(s.size, Number(b.size), `blob ${b.digest} size`);
    assert.equal(await fileSha256(path), b.digest, `blob ${b.digest} bytes`);
  }

  for (const man of m.manifests) {
    const content = Buffer.from(man.content);
    assert.equal('sha256:' + createHash('sha256').update(content).digest('hex'), man.digest, 'stored manifest bytes match their digest');
    const r = await fetch(`${url}/v2/${man.repo}/manifests/${man.digest}`);
    assert.equal(r.status, 200, `GET ${man.repo}@${man.digest}`);
    assert.deepEqual(Buffer.from(await r.arrayBuffer()), content);
    for (const ref of m.manifestBlobs.filter((x) => x.manifest_id === man.id)) {
      const h = await fetch(`${url}/v2/${man.repo}/blobs/${ref.digest}`, { method: 'HEAD' });
      assert.equal(h.status, 200, `${man.repo}@${man.digest} references ${ref.digest}, which is not served`);
    }
  }
  for (const t of m.tags) {
    const r = await fetch(`${url}/v2/${t.repo}/manifests/${t.name}`, { method: 'HEAD' });
    assert.equal(r.status, 200, `tag ${t.repo}:${t.name}`);
    assert.equal(r.headers.get('docker-content-digest'), t.digest);
  }
  return { blobs: m.blobs.length, manifests: m.manifests.length, tags: m.tags.length, uploads: m.uploads };
}
