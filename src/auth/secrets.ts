/**
 * Passwords and random secrets. Passwords are hashed with argon2id (@node-rs/argon2, slow on
 * purpose); robot secrets, personal access tokens and session ids are 256-bit random values,
 * so a SHA-256 of them is enough to store and compare (no dictionary to attack).
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const PAT_PREFIX = 'berth_pat_';

// argon2 (a native library) loads on the first password check, not at start: a registry that
// only serves tokens, robots' CI pulls and anonymous reads may never need it.
let argon2: Promise<typeof import('@node-rs/argon2')> | undefined;
const loadArgon2 = () => (argon2 ??= import('@node-rs/argon2'));

export async function hashPassword(password: string): Promise<string> {
  return (await loadArgon2()).hash(password);
}

export async function verifyPassword(passwordHash: string, password: string): Promise<boolean> {
  try {
    return await (await loadArgon2()).verify(passwordHash, password);
  } catch {
    return false;
  }
}

/** A hash that keeps the time of a failed lookup close to a real one (no user-name probing by timing). */
let dummyHash: Promise<string> | undefined;
export async function burnPasswordCheck(password: string): Promise<void> {
  dummyHash ??= hashPassword(randomSecret());
  await verifyPassword(await dummyHash, password);
}

export function randomSecret(bytes = 32): string {
  return randomBytes(bytes).toString('base64url');
}

export function sha256Hex(s: string): string {
  return createHash('sha256').update(s).digest('hex');
}

export function sameHash(aHex: string, bHex: string): boolean {
  const a = Buffer.from(aHex, 'hex');
  const b = Buffer.from(bHex, 'hex');
  return a.length === b.length && timingSafeEqual(a, b);
}

/** A personal access token: `berth_pat_<id>_<secret>`; the id finds the row, the secret proves it. */
export function newAccessToken(): { id: string; token: string; secretHash: string } {
  const id = randomBytes(9).toString('hex');
  const secret = randomSecret();
  return { id, token: `${PAT_PREFIX}${id}_${secret}`, secretHash: sha256Hex(secret) };
}

export function parseAccessToken(token: string): { id: string; secret: string } | undefined {
  if (!token.startsWith(PAT_PREFIX)) return undefined;
  const rest = token.slice(PAT_PREFIX.length);
  const i = rest.indexOf('_');
  if (i <= 0) return undefined;
  return { id: rest.slice(0, i), secret: rest.slice(i + 1) };
}
