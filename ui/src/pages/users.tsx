/**
 * User accounts for administrators: create, make or unmake admin, disable, reset the password,
 * delete, and manage a user's personal access tokens.
 */
import { useState } from 'react';
import { api, type UserRow } from '../api';
import { useConfirm } from '../components/confirm';
import { Empty, PagerControls } from '../components/feedback';
import { Check, Field, InlineForm, useAction } from '../components/form';
import { DataTable, Listing } from '../components/table';
import { dateTime } from '../format';
import { usePager } from '../hooks';
import { useSession } from '../session';
import { Tokens } from './tokens';

export function Users() {
  const users = usePager('/users', {}, 100);
  const { user: me } = useSession();
  const action = useAction();
  const [tokensOf, setTokensOf] = useState<string | null>(null);
  const [remove, removeDialog] = useConfirm((name: string) => ({
    title: `Delete user ${name}?`,
    body: 'The account, its memberships and its tokens are removed.',
    action: 'Delete user',
    onConfirm: async () => {
      await api.delete('/users/{name}', { params: { name } });
      users.reload();
    },
  }));

  function patch(name: string, body: Record<string, unknown>) {
    void action.run(async () => {
      await api.patch('/users/{name}', { params: { name }, body });
      users.reload();
    });
  }

  return (
    <section aria-label="Users">
      <CreateUser onCreated={users.reload} />
      <Listing list={users} error={users.error ?? action.error} empty={<Empty title="No users." />}>
        {(items) => (
          <DataTable columns={['User', 'Administrator', 'Status', 'Created']} actions>
            {items.map((u) => (
              <tr key={u.name}>
                <th scope="row">{u.name}</th>
                <td>
                  <input type="checkbox" aria-label={`${u.name} is an administrator`} checked={u.admin} disabled={u.name === me?.name} onChange={(e) => patch(u.name, { admin: e.target.checked })} />
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
                      // Your own password changes only with the current one (the server insists).
                      const currentPassword = u.name === me?.name ? window.prompt('Your current password') : undefined;
                      if (currentPassword === null) return;
                      const password = window.prompt(`New password for ${u.name}`);
                      if (password) patch(u.name, { password, ...(currentPassword ? { currentPassword } : {}) });
                    }}
                  >
                    Set password
                  </button>
                  {u.name !== me?.name ? (
                    <>
                      <button type="button" onClick={() => patch(u.name, { disabled: !u.disabled })}>
                        {u.disabled ? 'Enable' : 'Disable'}
                      </button>
                      <button type="button" className="danger" onClick={() => remove(u.name)}>
                        Delete
                      </button>
                    </>
                  ) : null}
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </Listing>
      <PagerControls label="Users" {...users} />
      {tokensOf ? (
        <>
          <h2>Tokens of {tokensOf}</h2>
          <Tokens key={tokensOf} user={tokensOf} />
        </>
      ) : null}
      {removeDialog}
    </section>
  );
}

function CreateUser({ onCreated }: { onCreated(): void }) {
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [admin, setAdmin] = useState(false);
  async function create() {
    await api.post('/users', { body: { name: name.trim(), password, admin } });
    setName('');
    setPassword('');
    setAdmin(false);
    onCreated();
  }
  return (
    <details className="card">
      <summary>New user</summary>
      <InlineForm submit="Create user" onSubmit={create}>
        <Field label="User name" name="new-user" required autoComplete="off" value={name} onChange={setName} />
        <Field label="Password" name="new-password" type="password" required autoComplete="new-password" value={password} onChange={setPassword} />
        <Check label="Administrator" checked={admin} onChange={setAdmin} />
      </InlineForm>
    </details>
  );
}
