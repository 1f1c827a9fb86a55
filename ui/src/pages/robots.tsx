/**
 * Robot accounts of a project: create one (its secret is shown once, with a copy button and a
 * ready-made login command), list them, revoke them.
 */
import { useState } from 'react';
import { api, type ResponseOf } from '../api';
import { useConfirm } from '../components/confirm';
import { CopyField } from '../components/copy';
import { Empty } from '../components/feedback';
import { Check, Field, InlineForm } from '../components/form';
import { SecretOnce } from '../components/secret';
import { DangerCell, DataTable, Listing } from '../components/table';
import { ago, dateTime } from '../format';
import { useApi } from '../hooks';

const PERMISSIONS = ['pull', 'push', 'delete'] as const;

type Created = ResponseOf<'/projects/{name}/robots', 'post'>;

export function Robots({ project }: { project: string }) {
  const robots = useApi('/projects/{name}/robots', { params: { name: project }, query: { limit: 200 } });
  const [name, setName] = useState('');
  const [perms, setPerms] = useState<string[]>(['pull']);
  const [days, setDays] = useState('');
  const [created, setCreated] = useState<Created | null>(null);
  const [revoke, revokeDialog] = useConfirm((robot: string) => ({
    title: `Revoke ${robot}?`,
    body: "Pipelines using this robot's secret stop working at once.",
    action: 'Revoke robot',
    onConfirm: async () => {
      await api.delete('/projects/{name}/robots/{robot}', { params: { name: project, robot } });
      robots.reload();
    },
  }));

  async function create() {
    const body = { name: name.trim(), permissions: perms, ...(days ? { expiresInDays: Number(days) } : {}) };
    setCreated(await api.post('/projects/{name}/robots', { params: { name: project }, body }));
    setName('');
    robots.reload();
  }

  return (
    <section className="card" aria-labelledby="robots-h">
      <h2 id="robots-h">Robot accounts</h2>
      <p className="muted">Credentials for CI pipelines, limited to this project.</p>
      {created ? (
        <SecretOnce title={`Robot ${created.name} created.`} note="Copy its secret now: it is not shown again." dismiss="I have copied the secret" onDismiss={() => setCreated(null)}>
          <CopyField label="Robot name" text={created.name} />
          <CopyField label="Secret" text={created.secret} />
          <p className="muted">Log in with:</p>
          <CopyField label="Login command" text={`skopeo login --username '${created.name}' --password-stdin ${location.host}`} />
        </SecretOnce>
      ) : null}
      <Listing list={robots} loading={false} empty={<Empty title="No robot accounts." />}>
        {(items) => (
          <DataTable columns={['Name', 'Permissions', 'Expires', 'Last used']} actions>
            {items.map((r) => (
              <tr key={r.name}>
                <td>
                  <code>{r.name}</code>
                </td>
                <td>{r.permissions.join(', ')}</td>
                <td>{r.expiresAt ? dateTime(r.expiresAt) : 'never'}</td>
                <td title={dateTime(r.lastUsedAt)}>{ago(r.lastUsedAt)}</td>
                <DangerCell label="Revoke" onClick={() => revoke(r.name)} />
              </tr>
            ))}
          </DataTable>
        )}
      </Listing>
      <InlineForm submit="Create robot" onSubmit={create} disabled={perms.length === 0}>
        <Field label="Robot name" name="robot" required pattern="[a-z0-9]+([._\-][a-z0-9]+)*" title="lower-case letters, digits, and . _ - between them" value={name} onChange={setName} />
        <fieldset className="checks">
          <legend>Permissions</legend>
          {PERMISSIONS.map((p) => (
            <Check key={p} label={p} name={`perm-${p}`} checked={perms.includes(p)} onChange={(on) => setPerms((ps) => (on ? [...ps, p] : ps.filter((x) => x !== p)))} />
          ))}
        </fieldset>
        <Field label="Expires in days" name="days" type="number" min={1} placeholder="never" value={days} onChange={setDays} />
      </InlineForm>
      {revokeDialog}
    </section>
  );
}
