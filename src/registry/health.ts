/**
 * Readiness of the registry as the version check (`GET /v2/`) reports it: the registry can
 * serve only while its metadata database answers, so the check asks it (one trivial query) and
 * a load balancer or health check sees a 503 during an outage instead of a 200 that every
 * following request contradicts.
 */
import { databaseUnavailable } from '../errors/oci.js';
import type { MetadataStore } from '../metadata/store.js';

export class HealthService {
  constructor(private readonly meta: Pick<MetadataStore, 'ping'>) {}

  /** Resolves when the registry can serve; throws the 503 OciError otherwise. */
  async check(): Promise<void> {
    try {
      await this.meta.ping();
    } catch {
      throw databaseUnavailable();
    }
  }
}
