/**
 * How identities from outside reach a project: the identity-provider groups that grant roles
 * in it (read-only: they are configured in auth.groupMappings), and its trust policies, which
 * let CI jobs log in with their OIDC ID token (user `oidc`) instead of a stored secret.
 */
import { useState } from 'react';
import { api } from '../api';
import { useConfirm } from '../components/confirm';
import { CopyField } from '../components/copy';
import { Empty } from '../components/feedback';
import { Check, Field, InlineForm } from '../components/form';
import { DangerCell, DataTable, Listing } from '../components/table';
import { dateTime } from '../format';
import { useApi } from '../hooks';

const PERMISSIONS = ['pull', 'push', 'delete'] as const;

export function GroupMappings({ project }: { project: string }) {
  const mappings = useApi('/projects/{name}/group-mappings', { params: { name: project }, query: { limit: 200 } });
  return (
    <section className="card" aria-labelledby="groups-h">
      <h2 id="groups-h">Group mappings</h2>
      <p className="muted">Members of these identity-provider groups get the role at every sign-in (configured in auth.groupMappings).</p>
      <Listing list={mappings} loading={false} empty={<Empty title="No group grants a role in this project." />}>
        {(items) => (
          <DataTable columns={['Group', 'Role', 'Also system admin']}>
            {items.map((m) => (
              <tr key={`${m.group}:${m.role}`}>
                <td>
                  <code>{m.group}</code>
                </td>
                <td>{m.role}</td>
                <td>{m.admin ? 'yes' : 'no'}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </Listing>
    </section>
  );
}

/** `key=value` lines to a claims object. */
function parseClaims(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf('=');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

export function TrustPolicies({ project }: { project: string }) {
  const policies = useApi('/projects/{name}/trust-policies', { params: { name: project }, query: { limit: 200 } });
  const [issuer, setIssuer] = useState('');
  const [audience, setAudience] = useState('berth');
  const [claims, setClaims] = useState('');
  const [perms, setPerms] = useState<string[]>(['pull', 'push']);
  const [remove, removeDialog] = useConfirm((id: number) => ({
    title: `Delete trust policy ${id}?`,
    body: 'CI jobs that log in through it are refused from now on.',
    action: 'Delete policy',
    onConfirm: async () => {
      await api.delete('/projects/{name}/trust-policies/{id}', { params: { name: project, id: String(id) } });
      policies.reload();
    },
  }));

  async function create() {
    await api.post('/projects/{name}/trust-policies', { params: { name: project }, body: { issuer: issuer.trim(), audience: audience.trim(), claims: parseClaims(claims), permissions: perms } });
    setIssuer('');
    setClaims('');
    policies.reload();
  }

  return (
    <section className="card" aria-labelledby="trust-h">
      <h2 id="trust-h">Trust policies (keyless CI login)</h2>
      <p className="muted">CI jobs whose OIDC ID token comes from the issuer, for the audience, with these claims, may log in as user oidc with the token as password.</p>
      <CopyField label="Login command" text={`echo "$ID_TOKEN" | skopeo login --username oidc --password-stdin ${location.host}`} />
      <Listing list={policies} loading={false} empty={<Empty title="No trust policies." />}>
        {(items) => (
          <DataTable columns={['Issuer', 'Audience', 'Claims', 'Permissions', 'Created']} actions>
            {items.map((p) => (
              <tr key={p.id}>
                <td>
                  <code>{p.issuer}</code>
                </td>
                <td>
                  <code>{p.audience}</code>
                </td>
                <td>
                  {Object.entries(p.claims).map(([k, v]) => (
                    <div key={k}>
                      <code>
                        {k}={v}
                      </code>
                    </div>
                  ))}
                </td>
                <td>{p.permissions.join(', ')}</td>
                <td title={p.createdBy}>{dateTime(p.createdAt)}</td>
                <DangerCell label="Delete" onClick={() => remove(p.id)} />
              </tr>
            ))}
          </DataTable>
        )}
      </Listing>
      <InlineForm submit="Add trust policy" onSubmit={create} disabled={perms.length === 0}>
        <Field label="Issuer" name="issuer" required placeholder="https://gitlab.example.com" value={issuer} onChange={setIssuer} />
        <Field label="Audience" name="audience" required value={audience} onChange={setAudience} />
        <label>
          Required claims (one claim=value per line; * matches anything)
          <textarea name="claims" required rows={3} placeholder={'project_path=group/app\nref_protected=true'} value={claims} onChange={(e) => setClaims(e.target.value)} />
        </label>
        <fieldset className="checks">
          <legend>Permissions</legend>
          {PERMISSIONS.map((p) => (
            <Check key={p} label={p} name={`trust-${p}`} checked={perms.includes(p)} onChange={(on) => setPerms((ps) => (on ? [...ps, p] : ps.filter((x) => x !== p)))} />
          ))}
        </fieldset>
      </InlineForm>
      {removeDialog}
    </section>
  );
}
