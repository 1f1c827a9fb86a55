/**
 * Typed values parsed once at the edge: repository names, digests, tags and references.
 * An invalid string becomes the matching OCI error right here, so nothing deeper ever sees one.
 */
import { OciError } from '../errors/oci.js';

declare const brand: unique symbol;
type Brand<T, B extends string> = T & { readonly [brand]: B };

export type RepoName = Brand<string, 'RepoName'>;
export type Digest = Brand<string, 'Digest'>;
export type Tag = Brand<string, 'Tag'>;
export type Reference = { kind: 'tag'; tag: Tag } | { kind: 'digest'; digest: Digest };

/** The distribution-spec name grammar: path components separated by `/`. */
const NAME_COMPONENT = '[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*';
const NAME_RE = new RegExp(`^${NAME_COMPONENT}(?:/${NAME_COMPONENT})*$`);
export const MAX_NAME_LENGTH = 255;
const TAG_RE = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** Supported digest algorithms and the length of their lowercase hex encoding. */
export const DIGEST_ALGORITHMS = { sha256: 64, sha512: 128 } as const;
export type DigestAlgorithm = keyof typeof DIGEST_ALGORITHMS;
const DIGEST_RE = /^([a-z0-9]+(?:[.+_-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/;

export function isRepoName(s: string): boolean {
  return s.length <= MAX_NAME_LENGTH && NAME_RE.test(s);
}

export function parseRepoName(s: string): RepoName {
  if (!isRepoName(s)) {
    const why = s.length > MAX_NAME_LENGTH ? `longer than ${MAX_NAME_LENGTH} characters` : 'must match [a-z0-9]+((.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((.|_|__|-+)[a-z0-9]+)*)*';
    throw new OciError('NAME_INVALID', { name: s.slice(0, 300), reason: `repository name ${why}` });
  }
  return s as RepoName;
}

export function isTag(s: string): boolean {
  return TAG_RE.test(s);
}

export function parseTag(s: string): Tag {
  if (!isTag(s)) throw new OciError('TAG_INVALID', { tag: s.slice(0, 200), reason: 'tag must match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}' }, { status: 400 });
  return s as Tag;
}

/** Returns the parsed digest, or a reason it is invalid. */
export function checkDigest(s: string): { digest: Digest } | { reason: string } {
  const m = DIGEST_RE.exec(s);
  if (!m) return { reason: 'not of the form algorithm:hex' };
  const algorithm = m[1]!;
  const len = DIGEST_ALGORITHMS[algorithm as DigestAlgorithm];
  if (len === undefined) return { reason: `unsupported digest algorithm ${algorithm}` };
  const hex = m[2]!;
  if (hex.length !== len || !/^[a-f0-9]+$/.test(hex)) return { reason: `${algorithm} digest must be ${len} lowercase hex characters` };
  return { digest: s as Digest };
}

export function isDigest(s: string): boolean {
  return 'digest' in checkDigest(s);
}

export function parseDigest(s: string): Digest {
  const r = checkDigest(s);
  if ('reason' in r) throw new OciError('DIGEST_INVALID', { digest: s.slice(0, 200), reason: r.reason });
  return r.digest;
}

export function digestAlgorithm(d: Digest): DigestAlgorithm {
  return d.slice(0, d.indexOf(':')) as DigestAlgorithm;
}

/** A manifest reference: a digest if it contains a colon, else a tag. */
export function parseReference(s: string): Reference {
  return s.includes(':') ? { kind: 'digest', digest: parseDigest(s) } : { kind: 'tag', tag: parseTag(s) };
}

/**
 * A reference to read (GET, HEAD) or delete. A string that is not a valid tag names nothing
 * that could exist, so it is MANIFEST_UNKNOWN (404), as the distribution spec's conformance
 * tests expect; only a push is told its tag is invalid (TAG_INVALID). A malformed digest is
 * still DIGEST_INVALID: the client asked for content by a name no content can have.
 */
export function parseExistingReference(s: string): Reference {
  if (s.includes(':') || isTag(s)) return parseReference(s);
  throw new OciError('MANIFEST_UNKNOWN', { tag: s.slice(0, 200), reason: 'no manifest can exist under an invalid tag' });
}

export function referenceString(r: Reference): string {
  return r.kind === 'tag' ? r.tag : r.digest;
}

/** The project of a repository is its first path segment (`team-a/api/server` -> `team-a`). */
export function projectOf(name: RepoName): string {
  const i = name.indexOf('/');
  return i < 0 ? name : name.slice(0, i);
}
