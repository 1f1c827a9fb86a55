/**
 * External scanners registered by an admin: a name, the adapter's URL, an optional
 * Authorization header (sealed at rest like other stored secrets, never shown back), the URL
 * the adapter reaches this registry at, and whether it is the default. Registering checks the
 * adapter first (its metadata must follow the Pluggable Scanner API and offer a report Berth
 * reads), so a wrong URL is refused and changes nothing. While a default exists, image scans
 * go to it (harbor.ts) instead of the built-in scanner.
 */
import { z } from 'zod';
import type { AuditLog } from '../audit/audit-log.js';
import type { ScannerRecord, ScanStore } from '../metadata/scan-store.js';
import { REPORT_TYPES, ScannerError, scannerMetadata, type ScannerEndpoint, type ScannerMetadata } from './harbor.js';

/** Seals a secret for storage and opens it again (the key sealer main.ts holds). */
export interface Sealer {
  seal(plain: string): string;
  open(sealed: string): string;
}

const httpUrl = z.url({ protocol: /^https?$/ }).max(2000);

export const ScannerInput = z.strictObject({
  url: httpUrl.describe("The adapter's base URL (its API is under /api/v1)."),
  authorization: z.string().min(1).max(4000).nullable().default(null).describe('Authorization header sent to the adapter (e.g. "Bearer ..."); null: none. Stored sealed, never shown.'),
  registryUrl: httpUrl.describe('The URL the adapter reaches this registry at (sent in each scan request).'),
  default: z.boolean().default(false).describe('Scan every image with this scanner instead of the built-in one.'),
});
export type ScannerInput = z.infer<typeof ScannerInput>;

export const SCANNER_NAME = /^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$/;

export interface ScannerView {
  name: string;
  url: string;
  registryUrl: string;
  hasAuthorization: boolean;
  default: boolean;
  createdAt: number;
  updatedAt: number;
}

/** A scanner ready to be called. */
export interface ActiveScanner {
  name: string;
  endpoint: ScannerEndpoint;
  registryUrl: string;
}

export class ScannerInputError extends Error {}

const view = (r: ScannerRecord): ScannerView => ({ name: r.name, url: r.url, registryUrl: r.registryUrl, hasAuthorization: r.authorizationSealed !== null, default: r.isDefault, createdAt: r.createdAt, updatedAt: r.updatedAt });

export class ScannerRegistry {
  constructor(
    private readonly store: ScanStore,
    private readonly sealer: Sealer,
    private readonly audit: AuditLog,
    private readonly now: () => number = Date.now,
  ) {}

  async list(): Promise<ScannerView[]> {
    return (await this.store.scanners()).map(view);
  }

  /** Registers or replaces a scanner after checking the adapter answers as the API says. */
  async put(name: string, input: ScannerInput, actor: string, sourceAddress: string | null): Promise<{ scanner: ScannerView; metadata: ScannerMetadata }> {
    if (!SCANNER_NAME.test(name)) throw new ScannerInputError('a scanner name is 1 to 64 lower-case letters, digits, ".", "_" or "-", starting and ending with a letter or digit');
    let metadata: ScannerMetadata;
    try {
      metadata = await scannerMetadata({ url: input.url, authorization: input.authorization });
    } catch (e) {
      if (e instanceof ScannerError) throw new ScannerInputError(`the scanner at ${input.url} did not answer as a Pluggable Scanner API adapter: ${e.message}`);
      throw e;
    }
    if (!metadata.capabilities.some((c) => c.produces_mime_types.some((t) => REPORT_TYPES.includes(t)))) {
      throw new ScannerInputError(`the scanner produces none of the report types Berth reads (${REPORT_TYPES.join(', ')})`);
    }
    const now = this.now();
    await this.store.transaction(async (tx) => {
      await tx.scans.putScanner({ name, url: input.url, registryUrl: input.registryUrl, authorizationSealed: input.authorization === null ? null : this.sealer.seal(input.authorization), isDefault: input.default }, now);
      await this.audit.recordIn(tx, { actor, action: 'scanner.set', resource: `scanner:${name}`, project: null, result: 'success', sourceAddress, detail: { url: input.url, registryUrl: input.registryUrl, default: input.default, scanner: metadata.scanner } });
    });
    const stored = (await this.store.scanners()).find((s) => s.name === name)!;
    return { scanner: view(stored), metadata };
  }

  /** Removes a scanner; false when none had that name. */
  async delete(name: string, actor: string, sourceAddress: string | null): Promise<boolean> {
    return this.store.transaction(async (tx) => {
      const gone = await tx.scans.deleteScanner(name);
      if (gone) await this.audit.recordIn(tx, { actor, action: 'scanner.delete', resource: `scanner:${name}`, project: null, result: 'success', sourceAddress });
      return gone;
    });
  }

  /** The default scanner, unsealed for a scan; undefined when scans use the built-in scanner. */
  async active(): Promise<ActiveScanner | undefined> {
    const r = (await this.store.scanners()).find((s) => s.isDefault);
    return r && { name: r.name, endpoint: { url: r.url, authorization: r.authorizationSealed === null ? null : this.sealer.open(r.authorizationSealed) }, registryUrl: r.registryUrl };
  }
}
