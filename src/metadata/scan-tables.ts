/** Row types of the scanning tables (migrations 0010-scanning, 0013-scanners). */
export interface ScanTables {
  vuln_advisories: { id: string; modified: string; aliases: string; summary: string; severity: string; cvss: string | null; imported_at: number };
  vuln_aliases: { alias: string; advisory_id: string };
  vuln_affected: { advisory_id: string; family: string; name: string; entry: string };
  scan_results: {
    digest: string;
    status: string;
    reason: string | null;
    inventory: string | null;
    vulnerabilities: string | null;
    db_version: string | null;
    scanner: string;
    scanned_at: number | null;
    updated_at: number;
    /** The final status of the last finished scan while a new one is pending or running. */
    previous_status: string | null;
  };
  scan_findings: { digest: string; advisory_id: string; package: string; severity: string };
  security_policies: { project: string; policy: string; updated_at: number };
  scanning_state: { name: string; value: string };
  scanners: { name: string; url: string; registry_url: string; authorization_sealed: string | null; is_default: number; created_at: number; updated_at: number };
}
