/**
 * The OSV format (https://ossf.github.io/osv-schema/): reading advisories, deciding whether an
 * installed version is affected, and rating severity. An advisory is split into its affected
 * entries, one per (ecosystem, package), which is what the database indexes and matching
 * reads. Ranges follow the schema's evaluation rule: events sorted by the ecosystem's version
 * order (`introduced: "0"` first), the version is affected after an `introduced` at or below
 * it until a `fixed` at or below it, or a `last_affected` below it; listed `versions` count
 * too. `GIT` ranges name commits, not versions, and are ignored. Severity is the CVSS v3/v4
 * base score computed from the vector, else the database's own rating.
 */
import cvss from 'ae-cvss-calculator';
import { COMPARE, orderOf, type Compare } from './versions.js';

export const SEVERITIES = ['unknown', 'low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const severityRank = (s: Severity): number => SEVERITIES.indexOf(s);

export interface OsvEvent {
  introduced?: string;
  fixed?: string;
  last_affected?: string;
  limit?: string;
}
export interface OsvRange {
  type: string;
  events: OsvEvent[];
}

/** One affected entry of an advisory: what the database stores per package. */
export interface AffectedEntry {
  ecosystem: string;
  name: string;
  ranges: OsvRange[];
  versions: string[];
  /** A per-package rating some databases give (Debian, Ubuntu). */
  severity: Severity | null;
}

export interface Advisory {
  id: string;
  modified: string;
  aliases: string[];
  summary: string;
  severity: Severity;
  /** The CVSS base score and vector the severity came from, when there was one. */
  cvss: { score: number; vector: string } | null;
  affected: AffectedEntry[];
}

const RATINGS: Record<string, Severity> = {
  critical: 'critical',
  high: 'high',
  important: 'high',
  moderate: 'medium',
  medium: 'medium',
  low: 'low',
  negligible: 'low',
  unimportant: 'low',
};

export function ratingOf(score: number): Severity {
  return score >= 9 ? 'critical' : score >= 7 ? 'high' : score >= 4 ? 'medium' : score > 0 ? 'low' : 'unknown';
}

/** The CVSS base score of a v3.0, v3.1 or v4.0 vector; null when it is not one. */
export function cvssBaseScore(vector: string): number | null {
  try {
    const v = vector.startsWith('CVSS:4.0/') ? new cvss.Cvss4P0(vector) : vector.startsWith('CVSS:3.1/') ? new cvss.Cvss3P1(vector) : vector.startsWith('CVSS:3.0/') ? new cvss.Cvss3P0(vector) : null;
    const base = v?.calculateScores().base;
    return typeof base === 'number' && Number.isFinite(base) ? base : null;
  } catch {
    return null;
  }
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const rating = (v: unknown): Severity | null => (typeof v === 'string' ? (RATINGS[v.toLowerCase()] ?? null) : null);

/** Reads one OSV record; throws with the reason when it is not one. */
export function parseAdvisory(json: unknown): Advisory {
  if (!json || typeof json !== 'object') throw new Error('not a JSON object');
  const o = json as Record<string, unknown>;
  const id = str(o.id);
  const modified = str(o.modified);
  if (!id || !modified) throw new Error('an OSV record needs "id" and "modified"');
  let cvss: Advisory['cvss'] = null;
  for (const s of Array.isArray(o.severity) ? o.severity : []) {
    const vector = str((s as Record<string, unknown>)?.score);
    const score = vector ? cvssBaseScore(vector) : null;
    // The newest CVSS version given wins (v4 over v3).
    if (vector && score !== null && (!cvss || vector > cvss.vector)) cvss = { score, vector };
  }
  const db = o.database_specific as Record<string, unknown> | undefined;
  const affected: AffectedEntry[] = [];
  for (const a of Array.isArray(o.affected) ? (o.affected as Record<string, unknown>[]) : []) {
    const pkg = a?.package as Record<string, unknown> | undefined;
    const ecosystem = str(pkg?.ecosystem);
    const name = str(pkg?.name);
    if (!ecosystem || !name) continue;
    const ranges = (Array.isArray(a.ranges) ? a.ranges : [])
      .filter((r: any) => r && typeof r.type === 'string' && Array.isArray(r.events))
      .map((r: any) => ({ type: r.type as string, events: (r.events as OsvEvent[]).filter((e) => e && typeof e === 'object') }));
    const versions = (Array.isArray(a.versions) ? a.versions : []).filter((v): v is string => typeof v === 'string');
    const es = a.ecosystem_specific as Record<string, unknown> | undefined;
    affected.push({ ecosystem, name, ranges, versions, severity: rating(es?.severity) ?? rating((a.database_specific as Record<string, unknown> | undefined)?.severity) });
  }
  const aliases = (Array.isArray(o.aliases) ? o.aliases : []).filter((v): v is string => typeof v === 'string');
  return {
    id,
    modified,
    aliases,
    summary: str(o.summary) ?? str(o.details)?.slice(0, 200) ?? '',
    severity: cvss ? ratingOf(cvss.score) : (rating(db?.severity) ?? 'unknown'),
    cvss,
    affected,
  };
}

/** Each range's events in version order, sorted once per range object (rescans reuse entries). */
const sortedEvents = new WeakMap<OsvRange, OsvEvent[]>();

/** Whether `version` falls in one range; and the fixed version that ends it. */
function inRange(range: OsvRange, version: string, cmp: Compare): { affected: boolean; fixed: string | null } {
  let events = sortedEvents.get(range);
  if (!events) {
    const key = (e: OsvEvent): string => e.introduced ?? e.fixed ?? e.last_affected ?? e.limit ?? '';
    const order = (a: OsvEvent, b: OsvEvent): number => {
      if (a.introduced === '0') return b.introduced === '0' ? 0 : -1;
      if (b.introduced === '0') return 1;
      return cmp(key(a), key(b));
    };
    events = [...range.events].sort(order);
    sortedEvents.set(range, events);
  }
  let affected = false;
  let fixed: string | null = null;
  for (const e of events) {
    if (e.introduced !== undefined) {
      if (e.introduced === '0' || cmp(e.introduced, version) <= 0) affected = true;
    } else if (e.fixed !== undefined) {
      if (cmp(e.fixed, version) <= 0) affected = false;
      else if (affected && fixed === null) fixed = e.fixed;
    } else if (e.last_affected !== undefined) {
      if (cmp(e.last_affected, version) < 0) affected = false;
    }
  }
  return { affected, fixed: affected ? fixed : null };
}

/** Whether an advisory's ecosystem names the package's ("Debian" covers "Debian:12"). */
export function ecosystemMatches(advisory: string, pkg: string): boolean {
  if (advisory === pkg) return true;
  const [a, ...ar] = advisory.split(':');
  const [p, ...pr] = pkg.split(':');
  if (a !== p) return false;
  return ar.length === 0 || pr.length === 0 || orderOf(a!) === 'rpm';
}

/** Whether `version` of a package is affected by `entry`; with the version that fixes it. */
export function affects(entry: AffectedEntry, version: string): { fixed: string | null } | null {
  if (entry.versions.includes(version)) return { fixed: null };
  let affected = false;
  let fixed: string | null = null;
  for (const range of entry.ranges) {
    if (range.type === 'GIT') continue;
    const cmp = COMPARE[range.type === 'SEMVER' ? 'semver' : orderOf(entry.ecosystem)];
    const r = inRange(range, version, cmp);
    if (r.affected) {
      affected = true;
      fixed ??= r.fixed;
    }
  }
  return affected ? { fixed } : null;
}
