/**
 * Repository and tag patterns of replication policies: globs where `*` matches within one
 * path component, `**` across components, `?` one character, and `{a,b}` alternatives
 * (picomatch). `team/**` matches every repository under `team/`.
 */
import picomatch from 'picomatch';

export function matcher(patterns: readonly string[]): (name: string) => boolean {
  const tests = patterns.map((p) => picomatch(p, { dot: true }));
  return (name) => tests.some((t) => t(name));
}

/** Throws TypeError naming a pattern picomatch cannot compile. */
export function checkPatterns(patterns: readonly string[]): void {
  for (const p of patterns) {
    try {
      picomatch.makeRe(p);
    } catch (e) {
      throw new TypeError(`bad pattern ${JSON.stringify(p)}: ${(e as Error).message}`);
    }
  }
}
