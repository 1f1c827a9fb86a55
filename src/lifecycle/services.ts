/**
 * Builds the lifecycle services (settings, GC and its runs, retention, trash, leases, the
 * scheduler) and the write policy (quotas, immutability) the registry core consults. Called
 * once by main.ts; nothing here is a singleton.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { MetadataStore } from '../metadata/store.js';
import type { ChangeFeed } from '../metadata/change-feed.js';
import { ImmutabilityPolicy } from '../policy/immutability.js';
import { lifecycleWritePolicy } from '../policy/lifecycle-writes.js';
import { QuotaPolicy } from '../policy/quota.js';
import type { WritePolicy } from '../policy/write-policy.js';
import type { BlobStore } from '../storage/blob-store.js';
import { GarbageCollector } from './gc.js';
import { GcRuns } from './gc-runs.js';
import { Leases } from './lease.js';
import { RetentionService } from './retention.js';
import { LifecycleScheduler, type OfferJob } from './scheduler.js';
import { LifecycleSettings } from './settings.js';
import { TrashService } from './trash.js';

export interface Lifecycle {
  meta: MetadataStore;
  settings: LifecycleSettings;
  gc: GarbageCollector;
  runs: GcRuns;
  retention: RetentionService;
  trash: TrashService;
  leases: Leases;
  quota: QuotaPolicy;
  immutability: ImmutabilityPolicy;
  writePolicy: WritePolicy;
  scheduler: LifecycleScheduler;
  close(): Promise<void>;
}

/** For one-off processes (`berth gc`, benchmarks) that never start the scheduler. */
const noJobQueue: OfferJob = async () => {
  throw new Error('this process has no job queue; scheduled runs need `berth serve`');
};

/** `changes`: the change feed that keeps every process's cached project settings current (none: read on every use). */
export function createLifecycle(config: Config, meta: MetadataStore, blobs: BlobStore, logger: Logger, onChange: (repo: string) => Promise<void>, offer: OfferJob = noJobQueue, changes?: ChangeFeed): Lifecycle {
  const settings = new LifecycleSettings(meta, Date.now, changes);
  const leases = new Leases(meta);
  const gc = new GarbageCollector(meta, blobs, settings, config.lifecycle.gc, config.registry.uploadMaxAgeSeconds * 1000, onChange);
  const runs = new GcRuns(meta, gc, leases);
  const immutability = new ImmutabilityPolicy(settings);
  const quota = new QuotaPolicy(settings);
  const retention = new RetentionService(meta, settings, immutability, config.lifecycle.trashDays, onChange);
  const trash = new TrashService(meta, onChange);
  const scheduler = new LifecycleScheduler(settings, config.lifecycle.gc.schedule, logger.child({ area: 'lifecycle' }), offer);
  return {
    meta,
    settings,
    gc,
    runs,
    retention,
    trash,
    leases,
    quota,
    immutability,
    writePolicy: lifecycleWritePolicy(meta, immutability, quota),
    scheduler,
    async close() {
      scheduler.stop();
      await runs.drain();
    },
  };
}
