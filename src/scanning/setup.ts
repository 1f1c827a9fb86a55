/**
 * Wires vulnerability scanning in two steps, because the registry needs its parts before the
 * service exists: first the pull gate and the push listener (handed to the manifest service),
 * then, once the audit log, the registry and the token issuer exist, the scan service and the
 * external scanners. Changes of results and policies are announced on the change feed; a feed
 * that cannot publish is down, and then every gate reads through (and drops everything when it
 * reconnects), so a failed announcement is logged, not thrown.
 */
import type { Logger } from 'pino';
import type { AuditLog } from '../audit/audit-log.js';
import type { KeySealer } from '../auth/key-sealing.js';
import type { Config } from '../config/schema.js';
import type { ChangeFeed } from '../metadata/change-feed.js';
import { SqlScanStore } from '../metadata/sql/scans.js';
import type { SqlMetadataStore } from '../metadata/sql/store.js';
import type { MetadataStore } from '../metadata/store.js';
import type { Metrics } from '../ops/metrics.js';
import type { RegistryChangeListener } from '../policy/registry-changes.js';
import type { BlobStore } from '../storage/blob-store.js';
import { SecurityGate } from './gate.js';
import { ScannerRegistry } from './scanners.js';
import { ScanService, type ScanServiceDeps } from './service.js';

export interface Scanning {
  /** The vulnerability pull gate (a ManifestReadGate). */
  gate: SecurityGate;
  /** Enqueues a scan in the transaction of every pushed image (a RegistryChangeListener). */
  onPush: RegistryChangeListener;
  /** Builds the service; call once, before the registry takes requests. */
  start(deps: {
    blobs: BlobStore;
    audit: AuditLog;
    sealer: KeySealer;
    logger: Logger;
    metrics: Metrics;
    attach: ScanServiceDeps['attach'];
    pullToken: ScanServiceDeps['pullToken'];
  }): { service: ScanService; scanners: ScannerRegistry };
}

export function createScanning(config: Config['scanning'], meta: MetadataStore & Pick<SqlMetadataStore, 'db' | 'dialect'>, changes: ChangeFeed): Scanning {
  const store = new SqlScanStore(meta.db, meta.dialect);
  const gate = new SecurityGate(store, { maxEntries: config.gateCacheEntries });
  changes.subscribe((message) => gate.onChange(message));
  let service: ScanService | undefined;
  const listen = { scanOnPush: config.onPush, databaseRepository: config.databaseRepository };
  return {
    gate,
    onPush: (tx, change) => {
      if (!service) throw new Error('scanning is not started');
      return service.listener(listen)(tx, change);
    },
    start({ blobs, audit, sealer, logger, metrics, attach, pullToken }) {
      const scanners = new ScannerRegistry(store, sealer, audit);
      service = new ScanService({
        meta,
        store,
        blobs,
        audit,
        logger,
        changed: async (messages) => {
          for (const m of messages) await changes.publish(m).catch((err: unknown) => logger.warn({ err, message: m }, 'scanning: could not announce a change'));
        },
        attach,
        scanners,
        pullToken,
        metrics: {
          finished: (scanner, status, seconds) => {
            metrics.scanDuration.observe({ scanner, status }, seconds);
            if (status === 'failed') metrics.scanFailures.inc({ scanner });
          },
        },
      });
      return { service, scanners };
    },
  };
}
