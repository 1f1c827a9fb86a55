/**
 * Public keys and raw signatures, with node:crypto only. A trusted key is a PEM public key
 * (SubjectPublicKeyInfo: ECDSA P-256/P-384, RSA, Ed25519); its fingerprint is the SHA-256 of
 * its DER encoding, shown wherever a signature names its signer. The hash each key type
 * signs with is the one cosign and Notation use: SHA-256 for P-256 and RSA, SHA-384 for
 * P-384, none (the message itself) for Ed25519.
 */
import { createHash, createPublicKey, verify as cryptoVerify, type KeyObject } from 'node:crypto';

export class KeyFormatError extends Error {
  override readonly name = 'KeyFormatError';
}

export interface TrustedKey {
  key: KeyObject;
  /** `sha256:<hex>` of the DER SubjectPublicKeyInfo. */
  fingerprint: string;
  /** `ecdsa-p256`, `ecdsa-p384`, `rsa`, `ed25519`. */
  type: string;
  pem: string;
}

/** Parses one PEM public key; throws KeyFormatError naming what is wrong. */
export function parsePublicKey(pem: string): TrustedKey {
  if (typeof pem !== 'string' || !pem.includes('-----BEGIN PUBLIC KEY-----')) throw new KeyFormatError('a key must be a PEM public key (-----BEGIN PUBLIC KEY-----)');
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: 'pem' });
  } catch (e) {
    throw new KeyFormatError(`unreadable public key: ${(e as Error).message}`);
  }
  return trusted(key);
}

export function trusted(key: KeyObject): TrustedKey {
  const type = keyType(key);
  const der = key.export({ type: 'spki', format: 'der' });
  const pem = key.export({ type: 'spki', format: 'pem' }).toString();
  return { key, fingerprint: fingerprintOf(der), type, pem };
}

export function fingerprintOf(spkiDer: Buffer): string {
  return `sha256:${createHash('sha256').update(spkiDer).digest('hex')}`;
}

function keyType(key: KeyObject): string {
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      if (curve === 'prime256v1' || curve === 'P-256') return 'ecdsa-p256';
      if (curve === 'secp384r1' || curve === 'P-384') return 'ecdsa-p384';
      throw new KeyFormatError(`unsupported elliptic curve ${curve ?? 'unknown'} (P-256 and P-384 are supported)`);
    }
    case 'rsa':
      if ((key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) throw new KeyFormatError('RSA keys must have at least 2048 bits');
      return 'rsa';
    case 'ed25519':
      return 'ed25519';
    default:
      throw new KeyFormatError(`unsupported key type ${key.asymmetricKeyType ?? 'unknown'} (ECDSA P-256/P-384, RSA and Ed25519 are)`);
  }
}

/** The hash the key type signs with (null: Ed25519 signs the message itself). */
export function hashOf(key: TrustedKey): string | null {
  return key.type === 'ed25519' ? null : key.type === 'ecdsa-p384' ? 'sha384' : 'sha256';
}

/**
 * Whether `signature` (ECDSA: ASN.1 DER, as cosign writes it; RSA: PKCS#1 v1.5 or PSS) is
 * `key`'s signature over `message`. Never throws on malformed signatures.
 */
export function verifyRaw(key: TrustedKey, message: Buffer, signature: Buffer): boolean {
  try {
    if (key.type === 'rsa') {
      return (
        cryptoVerify('sha256', message, key.key, signature) ||
        cryptoVerify('sha256', message, { key: key.key, padding: 6 /* RSA_PKCS1_PSS_PADDING */, saltLength: -2 /* auto */ }, signature)
      );
    }
    return cryptoVerify(hashOf(key), message, key.key, signature);
  } catch {
    return false;
  }
}

/** Finds which of `keys` made `signature`; undefined when none did. */
export function whichKey(keys: readonly TrustedKey[], message: Buffer, signature: Buffer): TrustedKey | undefined {
  return keys.find((k) => verifyRaw(k, message, signature));
}
