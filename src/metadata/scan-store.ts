/**
 * The scanning store: the OSV database, scan results with their inventories and findings,
 * security policies and named state values. It holds no rules: what matches, what a policy
 * refuses and when to rescan are decided in src/scanning. Results are keyed by manifest
 * digest (content-addressed: the same image in two repositories is scanned once).
 *
 * `transaction` gives the scan queries, the audit log's and the job queue's on one connection,
 * so a stored result and its `scan.completed` audit entry (or an import and its rescan job)
 * commit together.
 */
import type { EventQueries } from './event-store.js';
import type { AuditQueries } from './auth-store.js';
import type { JobQueries, TransactionOptions } from './store.js';

export interface StoredAdvisory {
  id: string;
  modified: string;
  aliases: string[];
  summary: string;
  severity: string;
  cvss: { score: number; vector: string } | null;
}

export interface AdvisoryInput extends StoredAdvisory {
  /** Affected entries: the ecosystem family ("Debian"), package name, and the entry as JSON-able. */
  affected: { family: string; name: string; entry: unknown }[];
}

export type ScanStatus = 'pending' | 'running' | 'done' | 'failed' | 'unsupported';

/** An external scanner as stored (its Authorization header sealed). */
export interface ScannerRecord {
  name: string;
  url: string;
  registryUrl: string;
  authorizationSealed: string | null;
  isDefault: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface ScanResultRecord {
  digest: string;
  status: ScanStatus;
  reason: string | null;
  inventory: unknown;
  vulnerabilities: unknown[];
  dbVersion: string | null;
  scanner: string;
  scannedAt: number | null;
  updatedAt: number;
  /** While a new scan is pending or running: how the last finished one ended (null: there was none). */
  previousStatus: 'done' | 'failed' | 'unsupported' | null;
}

export interface FindingRow {
  advisoryId: string;
  package: string;
  severity: string;
}

export interface ScanQueries {
  /** Inserts or replaces advisories (and all their affected entries). */
  putAdvisories(list: AdvisoryInput[], now: number): Promise<void>;
  /** The number of advisories stored. */
  advisoryCount(): Promise<number>;
  /**
   * Affected entries naming any of `packages` (family + name), with their advisory; entries
   * as stored (JSON values).
   */
  affectedBy(packages: { family: string; name: string }[]): Promise<{ advisory: StoredAdvisory; entry: unknown }[]>;
  /** The result of a manifest, undefined when it was never scanned. */
  result(digest: string): Promise<ScanResultRecord | undefined>;
  /** Results of several manifests (missing ones are left out). */
  results(digests: string[]): Promise<ScanResultRecord[]>;
  /**
   * Writes a manifest's result (replacing any) and its findings. `findings` index the
   * vulnerabilities for search.
   */
  putResult(r: Omit<ScanResultRecord, 'updatedAt' | 'previousStatus'>, findings: FindingRow[], now: number): Promise<void>;
  /**
   * Records that a scan of `digest` by `scanner` is `pending` (enqueued) or `running`: a new
   * row, or only the status of an existing one (its inventory and findings stay, and a final
   * status moves to `previousStatus`, so the gate keeps judging the last finished scan while a
   * new one runs).
   */
  setStatus(digest: string, status: 'pending' | 'running', scanner: string, now: number): Promise<void>;
  /** Forgets the results (and findings) of `digests`; no-op for unknown ones. */
  deleteResults(digests: string[]): Promise<void>;
  /** Forgets the results of those of `digests` that no repository holds as a manifest any more. */
  forgetUnheld(digests: string[]): Promise<void>;
  /**
   * Stored inventories in digest order after `after`, up to `limit` (rescans page through
   * them), with their current vulnerabilities as the stored JSON text (a rescan compares its
   * new findings with it without parsing).
   */
  inventories(after: string | null, limit: number): Promise<{ digest: string; inventory: unknown; vulnerabilitiesJson: string; scanner: string }[]>;
  /**
   * Replaces the findings (not the inventory) of several results after matching them against
   * `dbVersion` at `now`: each result's vulnerabilities as JSON text and its search rows.
   */
  setFindings(updates: { digest: string; vulnerabilitiesJson: string; findings: FindingRow[] }[], dbVersion: string | null, now: number): Promise<void>;
  /** Records that the results of `digests` were matched against `dbVersion` at `now` (findings unchanged). */
  markMatched(digests: string[], dbVersion: string | null, now: number): Promise<void>;
  /** Findings naming the advisory `advisoryId` (its id, or any of its aliases) or `package`, by digest. */
  findDigests(q: { advisoryId?: string | undefined; package?: string | undefined }, limit: number): Promise<{ digest: string; advisoryId: string; package: string; severity: string }[]>;
  /** The repositories holding each manifest of `digests`, with the tags pointing at it there. */
  holders(digests: string[]): Promise<{ digest: string; repository: string; tags: string[] }[]>;
  /** A project's policy as stored (JSON), undefined when unset. '*' is the system default. */
  policy(project: string): Promise<unknown>;
  /** Stores (or with null clears) a project's policy. */
  setPolicy(project: string, policy: unknown, now: number): Promise<void>;
  /** A named state value. */
  state(name: string): Promise<string | undefined>;
  setState(name: string, value: string): Promise<void>;
  /** Registered external scanners, by name. */
  scanners(): Promise<ScannerRecord[]>;
  /** Inserts or replaces a scanner; with `isDefault` it becomes the only default. */
  putScanner(s: Omit<ScannerRecord, 'createdAt' | 'updatedAt'>, now: number): Promise<void>;
  /** Removes a scanner; false when there was none of that name. */
  deleteScanner(name: string): Promise<boolean>;
  /** Adds one to a numeric state value (0 when unset); returns the new value. Atomic. */
  bump(name: string): Promise<number>;
}

export interface ScanTx {
  scans: ScanQueries;
  audit: AuditQueries;
  /** The job queue, to enqueue follow-up work (a rescan) that commits with the change. */
  jobs: JobQueries;
  /** The event outbox (`scan.completed` commits with the result). */
  events: EventQueries;
}

export interface ScanStore extends ScanQueries {
  /** Runs `fn` in one transaction (default serializable; see MetadataStore.transaction). */
  transaction<T>(fn: (tx: ScanTx) => Promise<T>, options?: TransactionOptions): Promise<T>;
}
