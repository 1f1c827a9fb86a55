/**
 * Brute-force protection: failed logins counted per user name and per client address in a
 * fixed window. Past the limit a login is refused with 429 TOOMANYREQUESTS and a Retry-After
 * of the window's remaining seconds, before any password is checked. In memory per node.
 */

interface Window {
  failures: number;
  resetAt: number;
}

export interface LimiterOptions {
  maxPerUser: number;
  maxPerAddress: number;
  windowMs: number;
}

export class LoginLimiter {
  private readonly windows = new Map<string, Window>();

  constructor(
    private readonly options: LimiterOptions,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds to wait, or 0 when a login may be attempted. */
  retryAfter(user: string | undefined, address: string): number {
    const t = this.now();
    let wait = 0;
    for (const [key, max] of this.keys(user, address)) {
      const w = this.windows.get(key);
      if (w && w.resetAt > t && w.failures >= max) wait = Math.max(wait, Math.ceil((w.resetAt - t) / 1000));
    }
    return wait;
  }

  fail(user: string | undefined, address: string): void {
    const t = this.now();
    if (this.windows.size > 100_000) this.prune(t);
    for (const [key] of this.keys(user, address)) {
      const w = this.windows.get(key);
      if (!w || w.resetAt <= t) this.windows.set(key, { failures: 1, resetAt: t + this.options.windowMs });
      else w.failures++;
    }
  }

  succeed(user: string | undefined): void {
    if (user !== undefined) this.windows.delete(`u:${user}`);
  }

  private keys(user: string | undefined, address: string): [string, number][] {
    const keys: [string, number][] = [[`a:${address}`, this.options.maxPerAddress]];
    if (user !== undefined) keys.push([`u:${user}`, this.options.maxPerUser]);
    return keys;
  }

  private prune(t: number): void {
    for (const [k, w] of this.windows) if (w.resetAt <= t) this.windows.delete(k);
  }
}
