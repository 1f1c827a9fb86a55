/**
 * A project's security policy and the one function that judges a scan result by it. A pull
 * is refused when the image has a vulnerability at or above `blockSeverity` that no
 * unexpired allowlist entry names (by its id or an alias), or, with `blockUnscanned`, when
 * the image has no finished scan yet. The verdict says until when it holds (the earliest
 * allowlist expiry that would change it), so a cached verdict never outlives an allowlist
 * entry.
 */
import { z } from 'zod';
import type { Finding } from './match.js';
import { severityRank, type Severity } from './osv.js';

export const BLOCK_SEVERITIES = ['none', 'low', 'medium', 'high', 'critical'] as const;

export const SecurityPolicySchema = z.strictObject({
  blockSeverity: z.enum(BLOCK_SEVERITIES).default('none').describe('Refuse pulls of images with a vulnerability at or above this severity (none: never).'),
  blockUnscanned: z.boolean().default(false).describe('Refuse pulls of images whose scan has not finished (unscanned, pending, running or failed).'),
  allowlist: z
    .array(
      z.strictObject({
        id: z.string().min(1).max(200).describe('A vulnerability identifier (CVE, GHSA, OSV id) or an alias of one.'),
        expires: z.iso.date().or(z.iso.datetime()).optional().describe('The entry stops applying at this date (UTC).'),
      }),
    )
    .max(10_000)
    .default([]),
});
export type SecurityPolicy = z.infer<typeof SecurityPolicySchema>;

export interface ImageScan {
  status: 'unscanned' | 'pending' | 'running' | 'done' | 'failed' | 'unsupported';
  vulnerabilities: Finding[];
}

export type Verdict = { allow: true; until: number } | { allow: false; reason: string; until: number };

const expiry = (e: { expires?: string | undefined }): number => (e.expires ? Date.parse(e.expires.length === 10 ? `${e.expires}T00:00:00Z` : e.expires) : Infinity);

/** Judges the scans of an image (one per platform for an index) by `policy` at `now`. */
export function judge(policy: SecurityPolicy, scans: ImageScan[], now: number): Verdict {
  if (policy.blockSeverity === 'none' && !policy.blockUnscanned) return { allow: true, until: Infinity };
  if (policy.blockUnscanned) {
    const unscanned = scans.filter((s) => s.status === 'unscanned' || s.status === 'pending' || s.status === 'running' || s.status === 'failed');
    if (unscanned.length) return { allow: false, reason: `the image has not been scanned for vulnerabilities yet (${unscanned[0]!.status}) and the project refuses unscanned images`, until: Infinity };
  }
  if (policy.blockSeverity === 'none') return { allow: true, until: Infinity };
  const threshold = severityRank(policy.blockSeverity as Severity);
  let until = Infinity;
  const live = new Set<string>();
  for (const e of policy.allowlist) {
    const x = expiry(e);
    if (x > now) {
      live.add(e.id);
      until = Math.min(until, x);
    }
  }
  const blocking = new Map<string, Severity>();
  for (const s of scans) {
    for (const v of s.vulnerabilities) {
      if (severityRank(v.severity) < threshold) continue;
      if (live.has(v.id) || v.aliases.some((a) => live.has(a))) continue;
      const prev = blocking.get(v.id);
      if (!prev || severityRank(v.severity) > severityRank(prev)) blocking.set(v.id, v.severity);
    }
  }
  if (blocking.size === 0) return { allow: true, until };
  const worst = [...blocking].sort((a, b) => severityRank(b[1]) - severityRank(a[1]) || (a[0] < b[0] ? -1 : 1));
  const names = worst.slice(0, 5).map(([id, sev]) => `${id} (${sev})`);
  return {
    allow: false,
    reason: `the image has ${blocking.size} vulnerabilit${blocking.size === 1 ? 'y' : 'ies'} at or above ${policy.blockSeverity} that the project's security policy refuses: ${names.join(', ')}${blocking.size > 5 ? ', ...' : ''}`,
    until,
  };
}
