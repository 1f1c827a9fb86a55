/**
 * Personal access tokens of the signed-in user (or, for administrators on the admin page, of any
 * user): create (the token is shown once, with a copy button), list, revoke.
 */
import { useState } from 'react';
import { api, type TokenRow } from '../api';
import { useConfirm } from '../components/confirm';
import { CopyField } from '../components/copy';
import { Empty } from '../components/feedback';
import { Field, InlineForm } from '../components/form';
import { SecretOnce } from '../components/secret';
import { DangerCell, DataTable, Listing } from '../components/table';
import { ago, dateTime } from '../format';
import { useApi, useTitle } from '../hooks';

export function TokensPage() {
  useTitle('Access tokens');
  return (
    <>
      <h1>Personal access tokens</h1>
      <p className="muted">Use a token as the password for docker, podman, skopeo or the API.</p>
      <Tokens user="me" />
    </>
  );
}

export function Tokens({ user }: { user: string }) {
  const tokens = useApi('/users/{name}/tokens', { params: { name: user }, query: { limit: 200 } });
  const [name, setName] = useState('');
  const [days, setDays] = useState('90');
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const [revoke, revokeDialog] = useConfirm((t: TokenRow) => ({
    title: `Revoke token ${t.name}?`,
    body: 'Anything using this token loses access at once.',
    action: 'Revoke token',
    onConfirm: async () => {
      await api.delete('/users/{name}/tokens/{id}', { params: { name: user, id: String(t.id) } });
      tokens.reload();
    },
  }));

  async function create() {
    const body = { name: name.trim(), ...(days ? { expiresInDays: Number(days) } : {}) };
    setCreated(await api.post('/users/{name}/tokens', { params: { name: user }, body }));
    setName('');
    tokens.reload();
  }

  return (
    <section className="card" aria-label="Tokens">
      {created ? (
        <SecretOnce title={`Token ${created.name} created.`} note="Copy it now: it is not shown again." dismiss="I have copied the token" onDismiss={() => setCreated(null)}>
          <CopyField label="Token" text={created.token} />
        </SecretOnce>
      ) : null}
      <Listing list={tokens} empty={<Empty title="No tokens." />}>
        {(items) => (
          <DataTable columns={['Name', 'Scopes', 'Expires', 'Last used', 'Created']} actions>
            {items.map((t) => (
              <tr key={t.id}>
                <td>{t.name}</td>
                <td>{t.scopes?.length ? t.scopes.join(', ') : 'all of the user’s rights'}</td>
                <td>{t.expiresAt ? dateTime(t.expiresAt) : 'never'}</td>
                <td title={dateTime(t.lastUsedAt)}>{ago(t.lastUsedAt)}</td>
                <td>{dateTime(t.createdAt)}</td>
                <DangerCell label="Revoke" onClick={() => revoke(t)} />
              </tr>
            ))}
          </DataTable>
        )}
      </Listing>
      <InlineForm submit="Create token" onSubmit={create}>
        <Field label="Token name" name="token-name" required value={name} onChange={setName} />
        <Field label="Expires in days" name="token-days" type="number" min={1} placeholder="never" value={days} onChange={setDays} />
      </InlineForm>
      {revokeDialog}
    </section>
  );
}
