/**
 * Robot accounts of a project: create one (its secret is shown once, with a copy button and a
 * ready-made login command), list them, revoke them.
 */
import { useState, type FormEvent } from 'react';
import { api, seg, type Page, type Robot } from '../api';
import { ConfirmDialog } from '../components/confirm';
import { CopyField } from '../components/copy';
import { Empty, ErrorBox } from '../components/feedback';
import { ago, dateTime } from '../format';
import { useApi } from '../hooks';

const PERMISSIONS = ['pull', 'push', 'delete'] as const;

interface Created {
  name: string;
  secret: string;
  permissions: string[];
  expiresAt: string | null;
}

export function Robots({ project }: { project: string }) {
  const robots = useApi<Page<Robot>>(`/projects/${seg(project)}/robots?limit=200`);
  const [name, setName] = useState('');
  const [perms, setPerms] = useState<string[]>(['pull']);
  const [days, setDays] = useState('');
  const [created, setCreated] = useState<Created | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [revoking, setRevoking] = useState<string | null>(null);

  async function create(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const body: Record<string, unknown> = { name: name.trim(), permissions: perms };
      if (days) body.expiresInDays = Number(days);
      setCreated(await api<Created>(`/projects/${seg(project)}/robots`, { method: 'POST', body }));
      setName('');
      robots.reload();
    } catch (err) {
      setError(err);
    }
  }

  return (
    <section className="card" aria-labelledby="robots-h">
      <h2 id="robots-h">Robot accounts</h2>
      <p className="muted">Credentials for CI pipelines, limited to this project.</p>
      {created ? (
        <div className="secret" role="status">
          <p>
            <strong>Robot {created.name} created.</strong> Copy its secret now: it is not shown again.
          </p>
          <CopyField label="Robot name" text={created.name} />
          <CopyField label="Secret" text={created.secret} />
          <p className="muted">Log in with:</p>
          <CopyField label="Login command" text={`skopeo login --username '${created.name}' --password-stdin ${location.host}`} />
          <button type="button" onClick={() => setCreated(null)}>
            I have copied the secret
          </button>
        </div>
      ) : null}
      <ErrorBox error={robots.error} />
      {robots.data && robots.data.items.length === 0 ? <Empty title="No robot accounts." /> : null}
      {robots.data && robots.data.items.length > 0 ? (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Permissions</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {robots.data.items.map((r) => (
                <tr key={r.name}>
                  <td>
                    <code>{r.name}</code>
                  </td>
                  <td>{r.permissions.join(', ')}</td>
                  <td>{r.expiresAt ? dateTime(r.expiresAt) : 'never'}</td>
                  <td title={dateTime(r.lastUsedAt)}>{ago(r.lastUsedAt)}</td>
                  <td className="actions-cell">
                    <button type="button" className="danger" onClick={() => setRevoking(r.name)}>
                      Revoke
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <form onSubmit={create} className="inline-form">
        <label>
          Robot name
          <input name="robot" required pattern="[a-z0-9]+([._\-][a-z0-9]+)*" title="lower-case letters, digits, and . _ - between them" value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <fieldset className="checks">
          <legend>Permissions</legend>
          {PERMISSIONS.map((p) => (
            <label key={p} className="check">
              <input type="checkbox" name={`perm-${p}`} checked={perms.includes(p)} onChange={(e) => setPerms((ps) => (e.target.checked ? [...ps, p] : ps.filter((x) => x !== p)))} /> {p}
            </label>
          ))}
        </fieldset>
        <label>
          Expires in days
          <input name="days" type="number" min={1} placeholder="never" value={days} onChange={(e) => setDays(e.target.value)} />
        </label>
        <button type="submit" className="primary" disabled={perms.length === 0}>
          Create robot
        </button>
      </form>
      <ErrorBox error={error} />
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke ${revoking ?? ''}?`}
        body="Pipelines using this robot's secret stop working at once."
        action="Revoke robot"
        onClose={() => setRevoking(null)}
        onConfirm={async () => {
          await api(`/projects/${seg(project)}/robots/${seg(revoking ?? '')}`, { method: 'DELETE' });
          robots.reload();
        }}
      />
    </section>
  );
}
