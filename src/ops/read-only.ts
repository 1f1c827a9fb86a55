/**
 * Read-only mode: while it is on, pushes, deletes and management writes are refused with a
 * 503-class answer saying so, and pulls go on. It is on when the configuration says so
 * (`readOnly.enabled`, for the life of the process) or when an administrator turned it on
 * through `POST /api/v1/system/read-only`; that switch is a row in the shared settings table,
 * so every node and every worker process sees it.
 *
 * Each process caches the row and re-reads it at most every `recheckMs` (the node that flips
 * it sees the change at once). So for up to `recheckMs` after the switch another node may still
 * accept a write: the switch is for maintenance, not a fence, and the README says to wait that
 * long before relying on it. A failed re-read keeps the last known state (a database outage is
 * readiness's business and must not flip the mode).
 *
 * Which requests count as writes is `isWriteRequest`, one pure rule the HTTP edge applies to
 * every request before any handler runs.
 */
import { OciError } from '../errors/oci.js';
import { ProblemError } from '../errors/problem.js';
import type { SettingQueries } from '../metadata/store.js';

const KEY = 'system:read-only';

export interface ReadOnlyState {
  enabled: boolean;
  /** Why (shown to refused clients); empty when none was given. */
  reason: string;
  /** `config` when readOnly.enabled forces it, else `switch` (the stored switch). */
  source: 'config' | 'switch';
  /** Who flipped the switch last, and when (ms since the epoch); absent when it never was. */
  changedBy?: string;
  changedAt?: number;
}

interface Stored {
  enabled: boolean;
  reason: string;
  by: string;
  at: number;
}

export interface ReadOnlyOptions {
  /** readOnly.enabled: read-only regardless of the switch. */
  forced: boolean;
  recheckMs: number;
  now?: () => number;
  /** Told each state read (the read-only gauge). */
  observe?: (enabled: boolean) => void;
}

export class ReadOnlyMode {
  private cached: Stored | undefined;
  private readAt = Number.NEGATIVE_INFINITY;
  private reading: Promise<void> | undefined;
  private readonly now: () => number;

  constructor(
    private readonly settings: SettingQueries,
    private readonly opts: ReadOnlyOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** The current state, from the cache when it is younger than `recheckMs`. */
  async state(): Promise<ReadOnlyState> {
    if (this.now() - this.readAt >= this.opts.recheckMs) await this.refresh();
    const s = this.cached;
    const enabled = this.opts.forced || (s?.enabled ?? false);
    this.opts.observe?.(enabled);
    if (this.opts.forced) return { enabled, reason: 'readOnly.enabled is set in the configuration', source: 'config' };
    return { enabled, reason: s?.enabled ? s.reason : '', source: 'switch', ...(s ? { changedBy: s.by, changedAt: s.at } : {}) };
  }

  /** Flips the shared switch (every node follows within `recheckMs`); returns the resulting state. */
  async set(enabled: boolean, reason: string, by: string): Promise<ReadOnlyState> {
    const stored: Stored = { enabled, reason, by, at: this.now() };
    await this.settings.put(KEY, JSON.stringify(stored));
    this.cached = stored;
    this.readAt = this.now();
    return this.state();
  }

  private refresh(): Promise<void> {
    this.reading ??= (async () => {
      try {
        const raw = await this.settings.get(KEY);
        this.cached = raw === undefined ? undefined : (JSON.parse(raw) as Stored);
        this.readAt = this.now();
      } catch {
        // Keep the last known state; try again on the next request.
      } finally {
        this.reading = undefined;
      }
    })();
    return this.reading;
  }
}

const SAFE = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Requests that still work in read-only mode although their method is not safe: exchanging
 * credentials for a registry token (/auth/token), signing in and out of the web UI, and the
 * switch itself (so it can be turned off again).
 */
const EXEMPT = [/^\/auth\/token(\?|$)/, /^\/api\/v1\/auth\/(login|logout)(\?|$)/, /^\/api\/v1\/system\/read-only(\?|$)/];

/** Whether read-only mode refuses this request: every unsafe method, except the exemptions above. */
export function isWriteRequest(method: string, url: string): boolean {
  if (SAFE.has(method)) return false;
  return !EXEMPT.some((re) => re.test(url));
}

/** The sentence refused clients read. */
export function readOnlyMessage(state: ReadOnlyState): string {
  return `the registry is in read-only mode${state.reason ? ` (${state.reason})` : ''}: pulls work, pushes, deletes and changes are refused until an administrator turns it off`;
}

/** The refusal of a write: OCI UNAVAILABLE (503) on /v2, the UNAVAILABLE problem elsewhere. */
export function readOnlyRefusal(state: ReadOnlyState, v2: boolean): OciError | ProblemError {
  const message = readOnlyMessage(state);
  return v2 ? new OciError('UNAVAILABLE', { reason: message, readOnly: true }, { message: `service unavailable: ${message}` }) : new ProblemError('UNAVAILABLE', message, { readOnly: true });
}

/** A refusal made by read-only mode: an answer working as intended, not a server failure to log as one. */
export function isReadOnlyRefusal(err: unknown): boolean {
  if (err instanceof OciError) return (err.detail as { readOnly?: unknown } | null)?.readOnly === true;
  if (err instanceof ProblemError) return err.extra.readOnly === true;
  return false;
}
