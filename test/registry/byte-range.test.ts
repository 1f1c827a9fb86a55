/**
 * The byte-range rules on their own: a blob GET's `Range: bytes=...` against the blob's size
 * (parseByteRange: a range, "unsatisfiable" for a 416, or undefined for the whole blob), a
 * chunk's `Content-Range` on an upload PATCH (parseContentRange), and the `Range` an upload
 * reports back (rangeHeader). Pure: no server.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseByteRange } from '../../src/registry/routes/blobs.js';
import { parseContentRange } from '../../src/registry/routes/respond.js';
import { rangeHeader } from '../../src/registry/upload-errors.js';

describe('parseByteRange (Range on a blob GET)', () => {
  const size = 100;
  const cases: [string | undefined, ReturnType<typeof parseByteRange>][] = [
    [undefined, undefined],
    ['', undefined],
    ['bytes=0-9', { start: 0, end: 9 }],
    ['bytes=10-10', { start: 10, end: 10 }],
    [' bytes=90-99 ', { start: 90, end: 99 }],
    ['bytes=90-', { start: 90, end: 99 }],
    ['bytes=90-1000', { start: 90, end: 99 }],
    ['bytes=0-', { start: 0, end: 99 }],
    ['bytes=-10', { start: 90, end: 99 }],
    ['bytes=-1000', { start: 0, end: 99 }],
    ['bytes=100-', 'unsatisfiable'],
    ['bytes=100-200', 'unsatisfiable'],
    ['bytes=-0', 'unsatisfiable'],
    ['bytes=20-10', 'unsatisfiable'],
    ['bytes=-', undefined],
    // Forms not served partially: the whole blob instead (RFC 9110 lets a server ignore Range).
    ['bytes=0-1,5-6', undefined],
    ['items=0-1', undefined],
    ['bytes=a-b', undefined],
    ['bytes 0-9', undefined],
  ];
  for (const [header, want] of cases) it(`${JSON.stringify(header)} of ${size} bytes -> ${JSON.stringify(want)}`, () => assert.deepEqual(parseByteRange(header, size), want));

  it('nothing of an empty blob is satisfiable, but no header still means the whole (empty) blob', () => {
    assert.equal(parseByteRange('bytes=0-', 0), 'unsatisfiable');
    assert.equal(parseByteRange('bytes=-5', 0), 'unsatisfiable');
    assert.equal(parseByteRange(undefined, 0), undefined);
  });

  it('a start past any safe integer is unsatisfiable, not a wrapped number', () => {
    assert.equal(parseByteRange('bytes=99999999999999999999-', size), 'unsatisfiable');
  });
});

describe('parseContentRange (Content-Range on an upload PATCH)', () => {
  const cases: [string | undefined, ReturnType<typeof parseContentRange>][] = [
    [undefined, undefined],
    ['0-99', { start: 0, end: 99 }],
    ['100-199', { start: 100, end: 199 }],
    ['bytes 0-99', { start: 0, end: 99 }],
    ['bytes=0-99', { start: 0, end: 99 }],
    ['0-99/200', { start: 0, end: 99 }],
    ['bytes 0-99/*', { start: 0, end: 99 }],
    [' 5-9 ', { start: 5, end: 9 }],
  ];
  for (const [header, want] of cases) it(`${JSON.stringify(header)} -> ${JSON.stringify(want)}`, () => assert.deepEqual(parseContentRange(header), want));

  for (const bad of ['', '0-', '-99', 'a-b', '0-99/x', 'bytes 0-99,100-199', '1234567890123456-1234567890123457']) {
    it(`${JSON.stringify(bad)} is unreadable and says so`, () => {
      const got = parseContentRange(bad);
      assert.equal(typeof got, 'string');
      assert.match(got as string, /^invalid Content-Range .*: expected <start>-<end>$/);
    });
  }

  it('a hostile header is quoted only in part', () => {
    assert.ok((parseContentRange('x'.repeat(10_000)) as string).length < 200);
  });
});

describe('rangeHeader (Range an upload reports)', () => {
  it('is 0-<last byte received>, and 0-0 before any byte', () => {
    assert.equal(rangeHeader(0), '0-0');
    assert.equal(rangeHeader(1), '0-0');
    assert.equal(rangeHeader(100), '0-99');
  });
});
