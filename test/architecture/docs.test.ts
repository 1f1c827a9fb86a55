/**
 * docs/architecture.md names real places: every repository path it mentions (src/…, test/…,
 * ui/…, docs/…, bench/…, scripts/…, README.md) exists, so the page a newcomer reads first
 * cannot drift from the tree without a failing test.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = normalize(join(dirname(fileURLToPath(import.meta.url)), '../../..'));
const PAGE = 'docs/architecture.md';

/** Paths as the page writes them: a known top-level folder, then path characters. */
function namedPaths(text: string): string[] {
  const found = text.match(/(?<![\w./-])(?:(?:src|test|ui|docs|bench|scripts)\/[\w./-]*|README\.md)/g) ?? [];
  return [...new Set(found.map((p) => p.replace(/[.,;:]+$/, '')))];
}

describe(PAGE, () => {
  const text = readFileSync(join(ROOT, PAGE), 'utf8');
  const paths = namedPaths(text);

  it('names the places a newcomer needs', () => {
    assert.ok(paths.length >= 30, `names ${paths.length} paths`);
    for (const p of ['src/policy/authorize.ts', 'src/registry/manifest/parse.ts', 'src/lifecycle/gc.ts', 'src/registry/uploads.ts', 'src/jobs/kinds.ts']) assert.ok(paths.includes(p), `names ${p}`);
  });

  it('every path it names exists', () => {
    assert.deepEqual(paths.filter((p) => !existsSync(join(ROOT, p))), []);
  });

  it('is about one page', () => {
    assert.ok(text.split('\n').length <= 120, `${text.split('\n').length} lines`);
  });
});
