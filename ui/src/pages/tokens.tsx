/**
 * Personal access tokens of the signed-in user (or, for administrators on the admin page, of any
 * user): create (the token is shown once, with a copy button), list, revoke.
 */
import { useState, type FormEvent } from 'react';
import { api, seg, type Page, type TokenRow } from '../api';
import { ConfirmDialog } from '../components/confirm';
import { CopyField } from '../components/copy';
import { Empty, ErrorBox, Loading } from '../components/feedback';
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
  const base = `/users/${seg(user)}/tokens`;
  const tokens = useApi<Page<TokenRow>>(`${base}?limit=200`);
  const [name, setName] = useState('');
  const [days, setDays] = useState('90');
  const [created, setCreated] = useState<{ name: string; token: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [revoking, setRevoking] = useState<TokenRow | null>(null);

  async function create(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const body: Record<string, unknown> = { name: name.trim() };
      if (days) body.expiresInDays = Number(days);
      setCreated(await api<{ id: string; name: string; token: string }>(base, { method: 'POST', body }));
      setName('');
      tokens.reload();
    } catch (err) {
      setError(err);
    }
  }

  return (
    <section className="card" aria-label="Tokens">
      {created ? (
        <div className="secret" role="status">
          <p>
            <strong>Token {created.name} created.</strong> Copy it now: it is not shown again.
          </p>
          <CopyField label="Token" text={created.token} />
          <button type="button" onClick={() => setCreated(null)}>
            I have copied the token
          </button>
        </div>
      ) : null}
      <ErrorBox error={tokens.error} />
      {tokens.loading && !tokens.data ? <Loading /> : null}
      {tokens.data && tokens.data.items.length === 0 ? <Empty title="No tokens." /> : null}
      {tokens.data && tokens.data.items.length > 0 ? (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Scopes</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {tokens.data.items.map((t) => (
                <tr key={t.id}>
                  <td>{t.name}</td>
                  <td>{t.scopes?.length ? t.scopes.join(', ') : 'all of the user’s rights'}</td>
                  <td>{t.expiresAt ? dateTime(t.expiresAt) : 'never'}</td>
                  <td title={dateTime(t.lastUsedAt)}>{ago(t.lastUsedAt)}</td>
                  <td>{dateTime(t.createdAt)}</td>
                  <td className="actions-cell">
                    <button type="button" className="danger" onClick={() => setRevoking(t)}>
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
          Token name
          <input name="token-name" required value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Expires in days
          <input name="token-days" type="number" min={1} placeholder="never" value={days} onChange={(e) => setDays(e.target.value)} />
        </label>
        <button type="submit" className="primary">
          Create token
        </button>
      </form>
      <ErrorBox error={error} />
      <ConfirmDialog
        open={revoking !== null}
        title={`Revoke token ${revoking?.name ?? ''}?`}
        body="Anything using this token loses access at once."
        action="Revoke token"
        onClose={() => setRevoking(null)}
        onConfirm={async () => {
          await api(`${base}/${seg(String(revoking?.id ?? ''))}`, { method: 'DELETE' });
          tokens.reload();
        }}
      />
    </section>
  );
}
