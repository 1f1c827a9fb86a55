/**
 * Matching an inventory against the advisories that name its packages: pure, so a scan and a
 * rescan (which only re-matches a stored inventory) give the same answer. A package matches
 * an affected entry by name or by its source package (Debian and Alpine advisories name source
 * packages), when the entry's ecosystem covers the package's and its version is affected.
 */
import type { Inventory, Package } from './inventory.js';
import { affects, ecosystemMatches, severityRank, SEVERITIES, type AffectedEntry, type Severity } from './osv.js';

export interface Finding {
  id: string;
  aliases: string[];
  summary: string;
  package: string;
  ecosystem: string;
  installedVersion: string;
  fixedVersion: string | null;
  severity: Severity;
  cvss: { score: number; vector: string } | null;
}

export interface AdvisoryRow {
  advisory: { id: string; aliases: string[]; summary: string; severity: string; cvss: { score: number; vector: string } | null };
  entry: unknown;
}

export const familyOf = (ecosystem: string): string => {
  const i = ecosystem.indexOf(':');
  return i < 0 ? ecosystem : ecosystem.slice(0, i);
};

/** The (family, name) keys to look advisories up by. */
export function lookupKeys(inv: Inventory): { family: string; name: string }[] {
  const keys = new Map<string, { family: string; name: string }>();
  for (const p of inv.packages) {
    for (const name of p.source ? [p.name, p.source] : [p.name]) keys.set(`${familyOf(p.ecosystem)}\0${name}`, { family: familyOf(p.ecosystem), name });
  }
  return [...keys.values()];
}

const asSeverity = (s: string | null | undefined): Severity | null => (s && (SEVERITIES as readonly string[]).includes(s) ? (s as Severity) : null);

/** The findings of `inv` among `rows`, worst first. */
export function matchInventory(inv: Inventory, rows: readonly AdvisoryRow[]): Finding[] {
  const byName = new Map<string, Package[]>();
  for (const p of inv.packages) {
    for (const name of p.source ? [p.name, p.source] : [p.name]) {
      const k = `${familyOf(p.ecosystem)}\0${name}`;
      if (!byName.has(k)) byName.set(k, []);
      byName.get(k)!.push(p);
    }
  }
  const found = new Map<string, Finding>();
  for (const { advisory, entry } of rows) {
    const e = entry as AffectedEntry;
    for (const p of byName.get(`${familyOf(e.ecosystem)}\0${e.name}`) ?? []) {
      if (!ecosystemMatches(e.ecosystem, p.ecosystem)) continue;
      const hit = affects(e, p.version);
      if (!hit) continue;
      const key = `${advisory.id}\0${p.ecosystem}\0${p.name}\0${p.version}`;
      const severity = advisory.cvss ? asSeverity(advisory.severity)! : (asSeverity(e.severity) ?? asSeverity(advisory.severity) ?? 'unknown');
      const prev = found.get(key);
      if (prev && severityRank(prev.severity) >= severityRank(severity)) continue;
      found.set(key, {
        id: advisory.id,
        aliases: advisory.aliases,
        summary: advisory.summary,
        package: p.name,
        ecosystem: p.ecosystem,
        installedVersion: p.version,
        fixedVersion: hit.fixed,
        severity,
        cvss: advisory.cvss,
      });
    }
  }
  return [...found.values()].sort((a, b) => severityRank(b.severity) - severityRank(a.severity) || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0) || (a.package < b.package ? -1 : 1));
}

/** Counts per severity. */
export function summarize(findings: readonly { severity: string }[]): Record<Severity, number> {
  const out = Object.fromEntries(SEVERITIES.map((s) => [s, 0])) as Record<Severity, number>;
  for (const f of findings) if (asSeverity(f.severity)) out[f.severity as Severity]++;
  return out;
}
