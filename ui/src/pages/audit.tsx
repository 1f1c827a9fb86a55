/**
 * The audit log, newest first, filtered by project, user, action and time range; filters live
 * in the URL so a filtered view can be shared.
 */
import { useMemo } from 'react';
import { useSearchParams } from 'react-router';
import type { AuditEntry } from '../api';
import { Empty, PagerControls } from '../components/feedback';
import { DataTable, Listing } from '../components/table';
import { dateTime } from '../format';
import { useDebounced, usePager } from '../hooks';

const FILTERS = [
  ['project', 'Project', 'text'],
  ['user', 'User', 'text'],
  ['action', 'Action', 'text'],
  ['since', 'Since', 'datetime-local'],
  ['until', 'Until', 'datetime-local'],
] as const;

function iso(local: string | null): string | undefined {
  if (!local) return undefined;
  const t = Date.parse(local);
  return Number.isNaN(t) ? undefined : new Date(t).toISOString();
}

export function AuditLog() {
  const [params, setParams] = useSearchParams();
  const get = (k: string) => params.get(k) ?? '';
  // Debounce a string, not an object: a fresh object each render would never settle.
  const key = useDebounced(
    JSON.stringify({
      project: get('project').trim(),
      user: get('user').trim(),
      action: get('action').trim(),
      since: iso(get('since')),
      until: iso(get('until')),
    }),
    300,
  );
  const filters = useMemo(() => JSON.parse(key) as Record<string, string | undefined>, [key]);
  const log = usePager('/audit', { query: filters }, 50);
  return (
    <section aria-label="Audit log">
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="Audit filters">
        {FILTERS.map(([k, label, type]) => (
          <label key={k}>
            {label}
            <input
              name={`audit-${k}`}
              type={type}
              value={get(k)}
              onChange={(e) => {
                const p = new URLSearchParams(params);
                if (e.target.value) p.set(k, e.target.value);
                else p.delete(k);
                setParams(p, { replace: true });
              }}
            />
          </label>
        ))}
      </form>
      <Listing list={log} empty={<Empty title="No audit entries match these filters." />}>
        {(items) => (
          <DataTable className="audit" columns={['Time', 'Actor', 'Action', 'Resource', 'Result', 'Source']}>
            {items.map((a) => (
              <tr key={a.id}>
                <td>{dateTime(a.at)}</td>
                <td>{a.actor ?? 'anonymous'}</td>
                <td>
                  <code>{a.action}</code>
                </td>
                <td className="break">
                  {a.resource ?? '—'}
                  {a.detail ? <div className="muted small">{typeof a.detail === 'string' ? a.detail : JSON.stringify(a.detail)}</div> : null}
                </td>
                <td>
                  <span className={`badge ${a.result === 'success' ? 'public' : 'private'}`}>{a.result}</span>
                </td>
                <td>{a.sourceAddress ?? '—'}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </Listing>
      <PagerControls label="Audit log" {...log} />
    </section>
  );
}
