/**
 * Webhooks of a project (its settings page) or of the whole registry (administration): create
 * (the signing secret is shown once), list with their state, ping, enable again after an
 * automatic disable, delete, and the recent deliveries of one.
 */
import { useState } from 'react';
import { api } from '../api';
import { useConfirm } from '../components/confirm';
import { CopyField } from '../components/copy';
import { Empty } from '../components/feedback';
import { Field, InlineForm } from '../components/form';
import { SecretOnce } from '../components/secret';
import { DangerCell, DataTable, Listing } from '../components/table';
import { dateTime } from '../format';
import { useApi } from '../hooks';

const EVENTS = ['artifact.pushed', 'artifact.deleted', 'tag.deleted', 'artifact.pulled', 'scan.completed', 'replication.completed', 'quota.warning'] as const;
type Event = (typeof EVENTS)[number];

function Deliveries({ project, id }: { project: string | null; id: number }) {
  const list = project === null ? useApi('/system/webhooks/{id}/deliveries', { params: { id: String(id) }, query: { limit: 20 } }) : useApi('/projects/{name}/webhooks/{id}/deliveries', { params: { name: project, id: String(id) }, query: { limit: 20 } });
  return (
    <Listing list={list} empty={<Empty title="No deliveries yet." />}>
      {(items) => (
        <DataTable columns={['Event', 'Status', 'Attempts', 'Response', 'Latency', 'Error', 'When']} caption={`Deliveries of webhook ${id}`}>
          {items.map((d) => (
            <tr key={d.id}>
              <td>{d.event}</td>
              <td>{d.status}</td>
              <td>{d.attempts}</td>
              <td title={d.responseExcerpt ?? ''}>{d.responseStatus ?? '—'}</td>
              <td>{d.latencyMs === null ? '—' : `${d.latencyMs} ms`}</td>
              <td>{d.error ?? ''}</td>
              <td>{dateTime(d.createdAt)}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </Listing>
  );
}

export function Webhooks({ project }: { project: string | null }) {
  const hooks = project === null ? useApi('/system/webhooks', { query: { limit: 200 } }) : useApi('/projects/{name}/webhooks', { params: { name: project }, query: { limit: 200 } });
  const [url, setUrl] = useState('');
  const [events, setEvents] = useState<Event[]>(['artifact.pushed']);
  const [harbor, setHarbor] = useState(false);
  const [created, setCreated] = useState<{ id: number; secret: string } | null>(null);
  const [open, setOpen] = useState<number | null>(null);
  const params = (id: number) => (project === null ? { id: String(id) } : { name: project, id: String(id) });
  const call = async (method: 'post' | 'patch' | 'delete', suffix: '' | '/ping', id: number, body?: unknown) => {
    const path = `${project === null ? '/system/webhooks/{id}' : '/projects/{name}/webhooks/{id}'}${suffix}`;
    await (api as any)[method](path, { params: params(id), ...(body ? { body } : {}) });
    hooks.reload();
  };
  const [remove, removeDialog] = useConfirm((w: { id: number; url: string }) => ({
    title: `Delete the webhook to ${w.url}?`,
    body: 'Its delivery log goes with it.',
    action: 'Delete webhook',
    onConfirm: () => call('delete', '', w.id),
  }));

  async function create() {
    const body = { url: url.trim(), events, ...(harbor ? { format: 'harbor' as const } : {}) };
    const r = project === null ? await api.post('/system/webhooks', { body }) : await api.post('/projects/{name}/webhooks', { params: { name: project }, body });
    setCreated({ id: r.id, secret: r.secret });
    setUrl('');
    hooks.reload();
  }

  return (
    <section className="card" aria-labelledby="webhooks-h">
      <h2 id="webhooks-h">Webhooks</h2>
      <p className="muted">Signed CloudEvents (Standard Webhooks signature) POSTed on each event, retried for a day, in order.</p>
      {created ? (
        <SecretOnce title={`Webhook ${created.id} created.`} note="Copy the signing secret now: it is not shown again." dismiss="I have copied the secret" onDismiss={() => setCreated(null)}>
          <CopyField label="Signing secret" text={created.secret} />
        </SecretOnce>
      ) : null}
      <Listing list={hooks} empty={<Empty title="No webhooks." />}>
        {(items) => (
          <DataTable columns={['URL', 'Events', 'Format', 'State', '', '']} actions>
            {items.map((w) => (
              <tr key={w.id}>
                <td>
                  <button type="button" className="link" onClick={() => setOpen(open === w.id ? null : w.id)}>
                    {w.url}
                  </button>
                </td>
                <td>{w.events.join(', ')}</td>
                <td>{w.format}</td>
                <td title={w.disabledReason ?? ''}>{w.enabled ? 'enabled' : `disabled${w.disabledReason ? `: ${w.disabledReason}` : ''}`}</td>
                <td className="actions-cell">
                  <button type="button" onClick={() => void call('post', '/ping', w.id)}>
                    Ping
                  </button>
                </td>
                <td className="actions-cell">
                  <button type="button" onClick={() => void call('patch', '', w.id, { enabled: !w.enabled })}>
                    {w.enabled ? 'Disable' : 'Enable'}
                  </button>
                </td>
                <DangerCell label="Delete" onClick={() => remove(w)} />
              </tr>
            ))}
          </DataTable>
        )}
      </Listing>
      {open !== null ? <Deliveries project={project} id={open} /> : null}
      <InlineForm submit="Add webhook" onSubmit={create}>
        <Field label="URL" name="webhook-url" type="url" required value={url} onChange={setUrl} />
        <fieldset>
          <legend>Events</legend>
          {EVENTS.map((e) => (
            <label key={e}>
              <input type="checkbox" checked={events.includes(e)} onChange={(x) => setEvents(x.target.checked ? [...events, e] : events.filter((y) => y !== e))} /> {e}
            </label>
          ))}
        </fieldset>
        <label>
          <input type="checkbox" checked={harbor} onChange={(x) => setHarbor(x.target.checked)} /> Harbor payload format
        </label>
      </InlineForm>
      {removeDialog}
    </section>
  );
}
