/**
 * Vulnerability scanning: the OSV database (advisories, and their affected entries indexed by
 * ecosystem family and package name, which is what matching asks for), scan results per
 * manifest digest (content-addressed, so one result serves every repository holding it) with
 * the stored inventory a rescan matches again without reading layers, the findings of each
 * result indexed for search by identifier or package, per-project security policies ('*' is
 * the system default), and named state values (the database version, the policy version
 * counter that read-gate caches in every process compare).
 */
import type { Kysely, Migration } from 'kysely';
import { types, type Dialect } from './index.js';

export function scanning(dialect: Dialect): Migration {
  const t = types(dialect);
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('vuln_advisories')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('modified', 'text', (c) => c.notNull())
        .addColumn('aliases', 'text', (c) => c.notNull()) // JSON array
        .addColumn('summary', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .addColumn('cvss', 'text') // JSON {score, vector}
        .addColumn('imported_at', t.bigint, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('vuln_affected')
        .addColumn('advisory_id', 'text', (c) => c.notNull().references('vuln_advisories.id').onDelete('cascade'))
        .addColumn('family', 'text', (c) => c.notNull()) // ecosystem before ':' ("Debian")
        .addColumn('name', 'text', (c) => c.notNull())
        .addColumn('entry', 'text', (c) => c.notNull()) // JSON AffectedEntry
        .execute();
      await db.schema.createIndex('vuln_affected_package').on('vuln_affected').columns(['family', 'name']).execute();
      await db.schema.createIndex('vuln_affected_advisory').on('vuln_affected').column('advisory_id').execute();
      // Other identifiers of an advisory (CVE ids of a DSA or GHSA), so search by either finds it.
      await db.schema
        .createTable('vuln_aliases')
        .addColumn('alias', 'text', (c) => c.notNull())
        .addColumn('advisory_id', 'text', (c) => c.notNull().references('vuln_advisories.id').onDelete('cascade'))
        .addPrimaryKeyConstraint('vuln_aliases_pk', ['alias', 'advisory_id'])
        .execute();
      await db.schema.createIndex('vuln_aliases_advisory').on('vuln_aliases').column('advisory_id').execute();

      await db.schema
        .createTable('scan_results')
        .addColumn('digest', 'text', (c) => c.primaryKey())
        .addColumn('status', 'text', (c) => c.notNull()) // running | done | failed | unsupported
        .addColumn('reason', 'text')
        .addColumn('inventory', 'text') // JSON Inventory
        .addColumn('vulnerabilities', 'text') // JSON Finding[]
        .addColumn('db_version', 'text')
        .addColumn('scanner', 'text', (c) => c.notNull())
        .addColumn('scanned_at', t.bigint)
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('scan_findings')
        .addColumn('digest', 'text', (c) => c.notNull().references('scan_results.digest').onDelete('cascade'))
        .addColumn('advisory_id', 'text', (c) => c.notNull())
        .addColumn('package', 'text', (c) => c.notNull())
        .addColumn('severity', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('scan_findings_digest').on('scan_findings').column('digest').execute();
      await db.schema.createIndex('scan_findings_advisory').on('scan_findings').column('advisory_id').execute();
      await db.schema.createIndex('scan_findings_package').on('scan_findings').column('package').execute();

      await db.schema
        .createTable('security_policies')
        .addColumn('project', 'text', (c) => c.primaryKey())
        .addColumn('policy', 'text', (c) => c.notNull())
        .addColumn('updated_at', t.bigint, (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('scanning_state')
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('value', 'text', (c) => c.notNull())
        .execute();
    },
  };
}
