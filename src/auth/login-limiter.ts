/**
 * Brute-force protection, shared by every process and node through the auth store (a limit
 * kept per process would let `--workers N` check N times as many passwords). Three counters,
 * each a fixed window of `windowMs`:
 *
 * - per account and address: past `maxPerAccountAddress` failures that pair is refused (429)
 *   until the window ends: the guesser is stopped, the account's owner elsewhere is not;
 * - per address: past `maxPerAddress` failures (one address trying many accounts) every login
 *   from it is refused;
 * - per account, from anywhere: past `maxPerAccountAddress` failures each further password
 *   check of that user waits a little longer (up to `maxDelayMs`) instead of being refused, so
 *   an attacker spreading guesses over many addresses is slowed but cannot lock the user out.
 *   Robots are never slowed: their secrets are random (guessing is hopeless) and CI must not
 *   stall because someone else guesses.
 *
 * A key found over its limit is remembered in memory until its window ends, so repeated
 * refused attempts cost no database read; only the first refusal per key is reported as such.
 */
import { createHash } from 'node:crypto';
import type { LoginFailureQueries } from '../metadata/auth-store.js';

export interface LimiterOptions {
  maxPerAccountAddress: number;
  maxPerAddress: number;
  windowMs: number;
  /** Longest slowdown of a password check for an account under attack from many addresses. */
  maxDelayMs: number;
}

export interface Gate {
  /** Seconds until a login may be attempted again; 0 when it may be attempted now. */
  retryAfter: number;
  /** Whether this refusal is the first this process saw for the key (to report it once). */
  firstRefusal: boolean;
  /** How long to wait before checking the secret. */
  delayMs: number;
}

const DELAY_STEP_MS = 250;
const MAX_BLOCKED_KEYS = 100_000;

export class LoginLimiter {
  /** Keys known to be over their limit, until when. */
  private blocked = new Map<string, number>();
  private lastPrune = 0;

  constructor(
    private readonly failures: LoginFailureQueries,
    private readonly options: LimiterOptions,
    private readonly now: () => number = Date.now,
  ) {}

  async check(account: string, address: string, robot: boolean): Promise<Gate> {
    const t = this.now();
    const [pair, addr, acct] = keys(account, address);
    const known = Math.max(this.blockedUntil(pair, t), this.blockedUntil(addr, t));
    if (known > t) return { retryAfter: Math.ceil((known - t) / 1000), firstRefusal: false, delayMs: 0 };
    const rows = await this.failures.get(robot ? [pair, addr] : [pair, addr, acct], t);
    let until = 0;
    for (const [key, max] of [[pair, this.options.maxPerAccountAddress], [addr, this.options.maxPerAddress]] as const) {
      const w = rows.get(key);
      if (w && w.failures >= max) {
        this.block(key, w.resetAt);
        until = Math.max(until, w.resetAt);
      }
    }
    if (until > t) return { retryAfter: Math.ceil((until - t) / 1000), firstRefusal: true, delayMs: 0 };
    const spread = rows.get(acct);
    const over = spread ? spread.failures - this.options.maxPerAccountAddress + 1 : 0;
    return { retryAfter: 0, firstRefusal: false, delayMs: over > 0 ? Math.min(this.options.maxDelayMs, over * DELAY_STEP_MS) : 0 };
  }

  async fail(account: string, address: string, robot: boolean): Promise<void> {
    const t = this.now();
    const [pair, addr, acct] = keys(account, address);
    for (const key of robot ? [pair, addr] : [pair, addr, acct]) await this.failures.record(key, this.options.windowMs, t);
    if (t - this.lastPrune > this.options.windowMs) {
      this.lastPrune = t;
      await this.failures.deleteExpired(t);
    }
  }

  /** A good login from this address forgets that pair's failures (not the account's or address's). */
  async succeed(account: string, address: string): Promise<void> {
    const [pair] = keys(account, address);
    await this.failures.clear(pair);
  }

  private blockedUntil(key: string, t: number): number {
    const until = this.blocked.get(key);
    if (until === undefined) return 0;
    if (until <= t) this.blocked.delete(key);
    return until;
  }

  private block(key: string, until: number): void {
    if (this.blocked.size >= MAX_BLOCKED_KEYS) this.blocked = new Map();
    this.blocked.set(key, until);
  }
}

/** Keys are hashes: bounded in length whatever a client sends as a user name, and never a NUL in SQL text. */
function keys(account: string, address: string): [pair: string, address: string, account: string] {
  const h = (s: string) => createHash('sha256').update(s).digest('base64url');
  return [`p:${h(`${address}\n${account}`)}`, `a:${h(address)}`, `u:${h(account)}`];
}
