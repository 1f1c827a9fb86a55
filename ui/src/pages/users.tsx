/**
 * User accounts for administrators: create, make or unmake admin, disable, reset the password,
 * delete, and manage a user's personal access tokens.
 */
import { useState, type FormEvent } from 'react';
import { api, seg, type UserRow } from '../api';
import { ConfirmDialog } from '../components/confirm';
import { Empty, ErrorBox, Loading, PagerControls } from '../components/feedback';
import { dateTime } from '../format';
import { usePager } from '../hooks';
import { useSession } from '../session';
import { Tokens } from './tokens';

export function Users() {
  const users = usePager<UserRow>('/users', {}, 100);
  const { user: me } = useSession();
  const [error, setError] = useState<unknown>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const [tokensOf, setTokensOf] = useState<string | null>(null);

  async function patch(name: string, body: Record<string, unknown>) {
    setError(null);
    try {
      await api(`/users/${seg(name)}`, { method: 'PATCH', body });
      users.reload();
    } catch (e) {
      setError(e);
    }
  }

  return (
    <section aria-label="Users">
      <CreateUser onCreated={users.reload} />
      <ErrorBox error={users.error ?? error} />
      {users.loading && !users.data ? <Loading /> : null}
      {users.data && users.data.items.length === 0 ? <Empty title="No users." /> : null}
      {users.data && users.data.items.length > 0 ? (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Administrator</th>
                <th scope="col">Status</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {users.data.items.map((u) => (
                <tr key={u.name}>
                  <th scope="row">{u.name}</th>
                  <td>
                    <input type="checkbox" aria-label={`${u.name} is an administrator`} checked={u.admin} disabled={u.name === me?.name} onChange={(e) => void patch(u.name, { admin: e.target.checked })} />
                  </td>
                  <td>
                    <span className={`badge ${u.disabled ? 'private' : 'public'}`}>{u.disabled ? 'Disabled' : 'Active'}</span>
                  </td>
                  <td>{dateTime(u.createdAt)}</td>
                  <td className="actions-cell">
                    <button type="button" onClick={() => setTokensOf(tokensOf === u.name ? null : u.name)} aria-expanded={tokensOf === u.name}>
                      Tokens
                    </button>
                    <button
                      type="button"
                      onClick={() => {
                        const password = window.prompt(`New password for ${u.name}`);
                        if (password) void patch(u.name, { password });
                      }}
                    >
                      Set password
                    </button>
                    {u.name !== me?.name ? (
                      <>
                        <button type="button" onClick={() => void patch(u.name, { disabled: !u.disabled })}>
                          {u.disabled ? 'Enable' : 'Disable'}
                        </button>
                        <button type="button" className="danger" onClick={() => setDeleting(u.name)}>
                          Delete
                        </button>
                      </>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <PagerControls label="Users" {...users} />
      {tokensOf ? (
        <>
          <h2>Tokens of {tokensOf}</h2>
          <Tokens key={tokensOf} user={tokensOf} />
        </>
      ) : null}
      <ConfirmDialog
        open={deleting !== null}
        title={`Delete user ${deleting ?? ''}?`}
        body="The account, its memberships and its tokens are removed."
        action="Delete user"
        onClose={() => setDeleting(null)}
        onConfirm={async () => {
          await api(`/users/${seg(deleting ?? '')}`, { method: 'DELETE' });
          users.reload();
        }}
      />
    </section>
  );
}

function CreateUser({ onCreated }: { onCreated(): void }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [admin, setAdmin] = useState(false);
  const [error, setError] = useState<unknown>(null);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      await api('/users', { method: 'POST', body: { name: name.trim(), password, admin } });
      setName('');
      setPassword('');
      setAdmin(false);
      onCreated();
    } catch (err) {
      setError(err);
    }
  }
  return (
    <details className="card">
      <summary>New user</summary>
      <form onSubmit={submit} className="inline-form">
        <label>
          User name
          <input name="new-user" required autoComplete="off" value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label>
          Password
          <input name="new-password" type="password" required autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <label className="check">
          <input type="checkbox" checked={admin} onChange={(e) => setAdmin(e.target.checked)} /> Administrator
        </label>
        <button type="submit" className="primary">
          Create user
        </button>
      </form>
      <ErrorBox error={error} />
    </details>
  );
}
