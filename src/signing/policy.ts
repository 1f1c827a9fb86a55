/**
 * A project's signing policy: what it trusts (PEM public keys and X.509 certificates), whether
 * pulls must carry a valid signature (`enforce`), and whether Berth signs what is pushed
 * (`signOnPush`). The input schema is the API's body; `compileTrust` turns a stored policy into
 * parsed keys and certificates once, and names the entry that is wrong.
 */
import { X509Certificate } from 'node:crypto';
import { z } from 'zod';
import { KeyFormatError, parsePublicKey, type TrustedKey } from './keys.js';
import type { Trust } from './formats.js';

export const SigningPolicyInput = z.strictObject({
  verify: z
    .strictObject({
      keys: z.array(z.string().max(16_384)).max(50).default([]).describe('Trusted PEM public keys (ECDSA P-256/P-384, RSA, Ed25519).'),
      certificates: z.array(z.string().max(65_536)).max(50).default([]).describe('Trusted X.509 certificates (PEM) for Notation signatures: roots or signing certificates.'),
      enforce: z.boolean().default(false).describe('Refuse pulls of manifests no trusted signature covers.'),
    })
    .default({ keys: [], certificates: [], enforce: false }),
  signOnPush: z.boolean().default(false).describe("Sign every pushed manifest with the project's key (cosign format)."),
});
export type SigningPolicy = z.infer<typeof SigningPolicyInput>;

export const NO_POLICY: SigningPolicy = { verify: { keys: [], certificates: [], enforce: false }, signOnPush: false };

export class PolicyError extends Error {
  override readonly name = 'PolicyError';
}

/** Reads a stored policy (rows outlive code: anything unreadable counts as no policy but enforcement). */
export function storedPolicy(raw: unknown): SigningPolicy {
  if (raw === undefined || raw === null) return NO_POLICY;
  const parsed = SigningPolicyInput.safeParse(raw);
  // A row this version cannot read must not open the gate: enforce with nothing trusted.
  return parsed.success ? parsed.data : { ...NO_POLICY, verify: { ...NO_POLICY.verify, enforce: true } };
}

export function parseCertificate(pem: string): X509Certificate {
  if (!pem.includes('-----BEGIN CERTIFICATE-----')) throw new PolicyError('a certificate must be PEM (-----BEGIN CERTIFICATE-----)');
  try {
    return new X509Certificate(pem);
  } catch (e) {
    throw new PolicyError(`unreadable certificate: ${(e as Error).message}`);
  }
}

/** The keys and certificates of `policy` plus `ownKeys` (the project's signing keys); throws PolicyError. */
export function compileTrust(policy: SigningPolicy, ownKeys: readonly string[] = []): Trust {
  const keys: TrustedKey[] = [];
  [...policy.verify.keys, ...ownKeys].forEach((pem, i) => {
    try {
      keys.push(parsePublicKey(pem));
    } catch (e) {
      if (e instanceof KeyFormatError) throw new PolicyError(`verify.keys[${i}]: ${e.message}`);
      throw e;
    }
  });
  const certificates = policy.verify.certificates.map((pem, i) => {
    try {
      return parseCertificate(pem);
    } catch (e) {
      throw new PolicyError(`verify.certificates[${i}]: ${(e as Error).message}`);
    }
  });
  return { keys, certificates };
}
