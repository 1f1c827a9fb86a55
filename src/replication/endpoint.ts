/**
 * One side of a replication: this registry (an adapter over the registry services, built in
 * src/registry/replication-endpoint.ts) or another OCI registry (oci-client.ts). The engine
 * copies from one Endpoint to the other and never knows which is which, so push and pull
 * are one code path.
 */
import type { Readable } from 'node:stream';

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  artifactType?: string;
  annotations?: Record<string, string>;
  platform?: { os?: string; architecture?: string; variant?: string };
}

export interface FetchedManifest {
  body: Buffer;
  mediaType: string;
  digest: string;
}

export interface Endpoint {
  /** For logs and run results. */
  readonly name: string;
  /** The manifest by tag or digest; undefined when absent. */
  manifest(repo: string, ref: string, signal: AbortSignal): Promise<FetchedManifest | undefined>;
  /** The digest a tag or digest resolves to (HEAD); undefined when absent. */
  manifestDigest(repo: string, ref: string, signal: AbortSignal): Promise<string | undefined>;
  putManifest(repo: string, ref: string, m: FetchedManifest, signal: AbortSignal): Promise<void>;
  /** Deletes a tag or a manifest by digest; false when absent or the registry refuses deletes. */
  deleteManifest(repo: string, ref: string, signal: AbortSignal): Promise<boolean>;
  hasBlob(repo: string, digest: string, signal: AbortSignal): Promise<boolean>;
  /** Cross-repository mount; false when the registry would not (the caller uploads then). */
  mountBlob(repo: string, digest: string, from: string, signal: AbortSignal): Promise<boolean>;
  /** The blob's bytes as a stream (never whole in memory). */
  openBlob(repo: string, digest: string, signal: AbortSignal): Promise<{ size: number; stream: Readable }>;
  /** Uploads a blob from a stream of exactly `size` bytes. */
  putBlob(repo: string, digest: string, size: number, stream: Readable, signal: AbortSignal): Promise<void>;
  /** Every tag of a repository (empty when it does not exist). */
  tags(repo: string, signal: AbortSignal): Promise<string[]>;
  /** Every repository (the catalog). */
  repositories(signal: AbortSignal): Promise<string[]>;
  /**
   * The manifests whose subject is `digest`: through the referrers API, or the tag fallback
   * (`sha256-<hex>`) when the registry has no referrers API (`api: false`).
   */
  referrers(repo: string, digest: string, signal: AbortSignal): Promise<{ api: boolean; manifests: Descriptor[] }>;
}

/** Every tag-or-digest reference string of the fallback scheme: `sha256:abc` -> `sha256-abc`. */
export function fallbackTag(digest: string): string {
  return digest.replace(':', '-');
}
