/**
 * Replication (administration): targets (registries to copy to or from), policies (what,
 * which way, when) with "Run now", and the latest runs of a policy with their results.
 */
import { useState } from 'react';
import { api } from '../api';
import { Empty } from '../components/feedback';
import { Field, InlineForm } from '../components/form';
import { DataTable, Listing } from '../components/table';
import { dateTime } from '../format';
import { useApi } from '../hooks';

function Runs({ policy }: { policy: string }) {
  const p = useApi('/replication/policies/{name}', { params: { name: policy } });
  const runs = p.data?.runs ?? [];
  if (runs.length === 0) return <Empty title="No runs yet." />;
  return (
    <DataTable columns={['Run', 'Trigger', 'Status', 'Started', 'Finished', 'Copied', 'Skipped', 'Failed', 'Error']} caption={`Runs of ${policy}`}>
      {runs.map((r) => (
        <tr key={r.id}>
          <td>{r.id}</td>
          <td>{r.trigger}</td>
          <td>{r.status}</td>
          <td>{dateTime(r.startedAt)}</td>
          <td>{r.finishedAt ? dateTime(r.finishedAt) : '—'}</td>
          <td>{String(r.summary?.copied ?? '—')}</td>
          <td>{String(r.summary?.skipped ?? '—')}</td>
          <td>{String(r.summary?.failed ?? '—')}</td>
          <td>{r.error ?? ''}</td>
        </tr>
      ))}
    </DataTable>
  );
}

export function Replication() {
  const targets = useApi('/replication/targets', { query: { limit: 200 } });
  const policies = useApi('/replication/policies', { query: { limit: 200 } });
  const [open, setOpen] = useState<string | null>(null);
  const [t, setT] = useState({ name: '', url: '', username: '', password: '' });
  const [p, setP] = useState({ name: '', target: '', direction: 'push', repositories: '', tags: '**', trigger: 'manual', schedule: '' });

  async function addTarget() {
    await api.post('/replication/targets', { body: { name: t.name.trim(), url: t.url.trim(), ...(t.username ? { username: t.username, password: t.password } : {}) } });
    setT({ name: '', url: '', username: '', password: '' });
    targets.reload();
  }
  async function addPolicy() {
    const split = (s: string) => s.split(',').map((x) => x.trim()).filter(Boolean);
    await api.post('/replication/policies', {
      body: { name: p.name.trim(), target: p.target.trim(), direction: p.direction as 'push' | 'pull', repositories: split(p.repositories), tags: split(p.tags), trigger: p.trigger as 'manual' | 'event' | 'cron', ...(p.schedule ? { schedule: p.schedule } : {}) },
    });
    policies.reload();
  }
  async function runNow(name: string) {
    await api.post('/replication/policies/{name}/runs', { params: { name } });
    setOpen(name);
  }

  return (
    <>
      <section className="card" aria-labelledby="targets-h">
        <h2 id="targets-h">Targets</h2>
        <Listing list={targets} empty={<Empty title="No targets." />}>
          {(items) => (
            <DataTable columns={['Name', 'URL', 'User']}>
              {items.map((x) => (
                <tr key={x.name}>
                  <td>{x.name}</td>
                  <td>{x.url}</td>
                  <td>{x.username ?? '—'}</td>
                </tr>
              ))}
            </DataTable>
          )}
        </Listing>
        <InlineForm submit="Add target" onSubmit={addTarget}>
          <Field label="Name" name="target-name" required value={t.name} onChange={(v) => setT({ ...t, name: v })} />
          <Field label="Registry URL" name="target-url" type="url" required value={t.url} onChange={(v) => setT({ ...t, url: v })} />
          <Field label="Username" name="target-user" value={t.username} onChange={(v) => setT({ ...t, username: v })} />
          <Field label="Password or token" name="target-password" type="password" value={t.password} onChange={(v) => setT({ ...t, password: v })} />
        </InlineForm>
      </section>
      <section className="card" aria-labelledby="policies-h">
        <h2 id="policies-h">Policies</h2>
        <Listing list={policies} empty={<Empty title="No policies." />}>
          {(items) => (
            <DataTable columns={['Name', 'Target', 'Direction', 'Repositories', 'Tags', 'Trigger', '']} actions>
              {items.map((x) => (
                <tr key={x.name}>
                  <td>
                    <button type="button" className="link" onClick={() => setOpen(open === x.name ? null : x.name)}>
                      {x.name}
                    </button>
                  </td>
                  <td>{x.target}</td>
                  <td>{x.direction}</td>
                  <td>{x.repositories.join(', ')}</td>
                  <td>{x.tags.join(', ')}</td>
                  <td>{x.trigger === 'cron' ? `cron ${x.schedule}` : x.trigger}</td>
                  <td className="actions-cell">
                    <button type="button" onClick={() => void runNow(x.name)}>
                      Run now
                    </button>
                  </td>
                </tr>
              ))}
            </DataTable>
          )}
        </Listing>
        {open ? <Runs key={open} policy={open} /> : null}
        <InlineForm submit="Add policy" onSubmit={addPolicy}>
          <Field label="Name" name="policy-name" required value={p.name} onChange={(v) => setP({ ...p, name: v })} />
          <Field label="Target" name="policy-target" required value={p.target} onChange={(v) => setP({ ...p, target: v })} />
          <label>
            Direction
            <select value={p.direction} onChange={(e) => setP({ ...p, direction: e.target.value })}>
              <option value="push">push (here to there)</option>
              <option value="pull">pull (there to here)</option>
            </select>
          </label>
          <Field label="Repositories (patterns, comma-separated)" name="policy-repos" required placeholder="team/**" value={p.repositories} onChange={(v) => setP({ ...p, repositories: v })} />
          <Field label="Tags" name="policy-tags" value={p.tags} onChange={(v) => setP({ ...p, tags: v })} />
          <label>
            Trigger
            <select value={p.trigger} onChange={(e) => setP({ ...p, trigger: e.target.value })}>
              <option value="manual">by hand</option>
              <option value="event">on push (events)</option>
              <option value="cron">cron schedule</option>
            </select>
          </label>
          {p.trigger === 'cron' ? <Field label="Schedule" name="policy-schedule" placeholder="0 * * * *" value={p.schedule} onChange={(v) => setP({ ...p, schedule: v })} /> : null}
        </InlineForm>
      </section>
    </>
  );
}
