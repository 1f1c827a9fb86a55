/**
 * An image's vulnerabilities: the scan status and database, a severity summary, the table of
 * findings (filter by severity, fixed or not, package) and links to its SBOMs. The summary
 * alone (`SeveritySummary`) is shown beside tags.
 */
import { useMemo, useState } from 'react';
import { apiUrl } from '../api';
import { ErrorBox, Loading } from '../components/feedback';
import { DataTable } from '../components/table';
import { dateTime } from '../format';
import { useApi } from '../hooks';

const SEVERITIES = ['critical', 'high', 'medium', 'low', 'unknown'] as const;

export function SeveritySummary({ repo, digest }: { repo: string; digest: string }) {
  const r = useApi('/repositories/{repo}/manifests/{digest}/vulnerabilities', { params: { repo, digest } });
  if (!r.data) return <span className="muted">{r.error ? 'scan unavailable' : '…'}</span>;
  if (r.data.status !== 'done') return <span className="muted">scan {r.data.status}</span>;
  const shown = SEVERITIES.filter((s) => (r.data!.summary[s] ?? 0) > 0);
  if (shown.length === 0) return <span className="sev sev-none">no known vulnerabilities</span>;
  return (
    <span className="sev-summary" aria-label="vulnerabilities by severity">
      {shown.map((s) => (
        <span key={s} className={`sev sev-${s}`} title={`${r.data!.summary[s]} ${s}`}>
          {s[0]!.toUpperCase()} {r.data!.summary[s]}
        </span>
      ))}
    </span>
  );
}

export function VulnerabilitySection({ repo, digest }: { repo: string; digest: string }) {
  const r = useApi('/repositories/{repo}/manifests/{digest}/vulnerabilities', { params: { repo, digest } });
  const [severity, setSeverity] = useState('');
  const [fixed, setFixed] = useState('');
  const [pkg, setPkg] = useState('');
  const rows = useMemo(() => {
    const rank = (s: string) => SEVERITIES.length - SEVERITIES.indexOf(s as (typeof SEVERITIES)[number]);
    return (r.data?.vulnerabilities ?? []).filter(
      (v) => (!severity || rank(v.severity) >= rank(severity)) && (!fixed || (v.fixedVersion !== null) === (fixed === 'fixed')) && (!pkg || v.package.includes(pkg)),
    );
  }, [r.data, severity, fixed, pkg]);
  const d = r.data;
  return (
    <section aria-labelledby="vulns-h">
      <h2 id="vulns-h">Vulnerabilities</h2>
      <ErrorBox error={r.error} />
      {r.loading && !d ? <Loading what="Loading the scan" /> : null}
      {d ? (
        <>
          <p>
            Scan <strong>{d.status}</strong>
            {d.scanner && d.scanner !== 'berth' ? ` by ${d.scanner}` : ''}
            {d.reason ? `: ${d.reason}` : ''}
            {d.scannedAt ? ` at ${dateTime(new Date(d.scannedAt).toISOString())}` : ''}; database {d.database.version ?? 'not imported'} ({d.database.advisories} advisories). <SeveritySummary repo={repo} digest={digest} />
          </p>
          {d.status === 'done' && d.scanner === 'berth' ? (
            <p>
              SBOM: <a href={apiUrl('/repositories/{repo}/manifests/{digest}/sbom', { repo, digest }, { format: 'spdx' })}>SPDX 2.3</a>,{' '}
              <a href={apiUrl('/repositories/{repo}/manifests/{digest}/sbom', { repo, digest }, { format: 'cyclonedx' })}>CycloneDX 1.6</a>
            </p>
          ) : null}
          <div className="filters">
            <label>
              Severity{' '}
              <select value={severity} onChange={(e) => setSeverity(e.target.value)}>
                <option value="">any</option>
                {SEVERITIES.filter((s) => s !== 'unknown').map((s) => (
                  <option key={s} value={s}>
                    {s} or worse
                  </option>
                ))}
              </select>
            </label>{' '}
            <label>
              Fix{' '}
              <select value={fixed} onChange={(e) => setFixed(e.target.value)}>
                <option value="">any</option>
                <option value="fixed">fixed version exists</option>
                <option value="unfixed">no fix yet</option>
              </select>
            </label>{' '}
            <label>
              Package <input value={pkg} onChange={(e) => setPkg(e.target.value)} />
            </label>
          </div>
          <DataTable columns={['Severity', 'Vulnerability', 'Package', 'Installed', 'Fixed in', ['CVSS', 'num']]} caption={`${rows.length} of ${d.vulnerabilities.length} vulnerabilities`}>
            {rows.map((v) => (
              <tr key={`${v.id} ${v.package} ${v.installedVersion}`}>
                <td>
                  <span className={`sev sev-${v.severity}`}>{v.severity}</span>
                </td>
                <th scope="row" title={v.summary}>
                  {v.id}
                  {v.aliases.length ? <span className="muted"> ({v.aliases.join(', ')})</span> : null}
                </th>
                <td>{v.package}</td>
                <td>{v.installedVersion}</td>
                <td>{v.fixedVersion ?? <span className="muted">not fixed</span>}</td>
                <td className="num">{v.cvss ? v.cvss.score.toFixed(1) : '–'}</td>
              </tr>
            ))}
          </DataTable>
        </>
      ) : null}
    </section>
  );
}
