/**
 * Helpers for access-control tests: a Berth with auth enabled and a known admin password,
 * and small HTTP helpers for Basic credentials and the management API.
 */
import { join } from 'node:path';
import type { JWK } from 'jose';
import { KeySealer } from '../../src/auth/key-sealing.js';
import type { ConfigInput } from '../../src/config/schema.js';
import type { SqlMetadataStore } from '../../src/metadata/sql/store.js';
import { startBerth, type TestBerth } from './berth.js';

export const ADMIN_PASSWORD = 'admin-secret-1';

export async function startAuthBerth(config: Partial<ConfigInput> = {}): Promise<TestBerth> {
  const prev = process.env.BERTH_ADMIN_PASSWORD;
  process.env.BERTH_ADMIN_PASSWORD = ADMIN_PASSWORD;
  try {
    return await startBerth({ ...config, auth: { enabled: true, ...(config.auth ?? {}) } });
  } finally {
    if (prev === undefined) delete process.env.BERTH_ADMIN_PASSWORD;
    else process.env.BERTH_ADMIN_PASSWORD = prev;
  }
}

export function basic(user: string, secret: string): string {
  return 'Basic ' + Buffer.from(`${user}:${secret}`).toString('base64');
}

export const ADMIN = basic('admin', ADMIN_PASSWORD);

/** Calls /api/v1 with JSON; returns status and parsed body. */
export async function api(url: string, method: string, path: string, auth: string | undefined, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const r = await fetch(`${url}/api/v1${path}`, {
    method,
    headers: { ...(auth ? { Authorization: auth } : {}), ...(body !== undefined ? { 'Content-Type': 'application/json' } : {}), ...headers },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await r.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    // not JSON
  }
  return { status: r.status, body: parsed, headers: r.headers };
}

/** Asserts a 2xx and returns the body. */
export async function ok(p: Promise<{ status: number; body: any }>): Promise<any> {
  const r = await p;
  if (r.status >= 300) throw new Error(`expected success, got ${r.status}: ${JSON.stringify(r.body)}`);
  return r.body;
}

/** The server's active token-signing key, unsealed (tests forge tokens with it). */
export async function activeSigningKey(b: TestBerth): Promise<{ kid: string; jwk: JWK }> {
  const db = (b.berth.meta as SqlMetadataStore).db;
  const row = await db.selectFrom('signing_keys').selectAll().where('retired_at', 'is', null).executeTakeFirstOrThrow();
  const sealer = await KeySealer.open(b.berth.config.auth.keyEncryptionKey, join(b.dataDir, 'signing-keys.key'));
  return { kid: row.kid, jwk: JSON.parse(sealer.open(row.private_jwk)) as JWK };
}
