/**
 * Project settings: visibility, members and their roles, the identity-provider groups that
 * grant roles, robot accounts (the secret is shown once, right after creation, with a copy
 * button), trust policies for keyless CI login, lifecycle policies where the registry offers
 * them, and the signing policy.
 */
import { useState } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, type Role } from '../api';
import { useConfirm } from '../components/confirm';
import { Empty, ErrorBox, Loading } from '../components/feedback';
import { Field, InlineForm, useAction } from '../components/form';
import { DangerCell, DataTable, Listing } from '../components/table';
import { useApi, useTitle } from '../hooks';
import { projectPath } from '../links';
import { useSession } from '../session';
import { Lifecycle } from './lifecycle';
import { Robots } from './robots';
import { SigningPolicy } from './signatures';
import { GroupMappings, TrustPolicies } from './identity';
import { Webhooks } from './webhooks';

const ROLES: Role[] = ['admin', 'maintainer', 'developer', 'guest'];

export function ProjectSettingsPage() {
  const { name = '' } = useParams();
  useTitle(`${name} settings`);
  const { user } = useSession();
  const project = useApi('/projects/{name}', { params: { name } });
  const navigate = useNavigate();
  const visibility = useAction();
  const [confirmDelete, deleteDialog] = useConfirm((doomed: string) => ({
    title: `Delete project ${doomed}?`,
    body: 'The project, its members and its robot accounts are removed. This cannot be undone.',
    action: 'Delete project',
    onConfirm: async () => {
      await api.delete('/projects/{name}', { params: { name: doomed } });
      navigate('/');
    },
  }));
  const p = project.data;

  function setVisibility(isPublic: boolean) {
    void visibility.run(async () => {
      await api.patch('/projects/{name}', { params: { name }, body: { public: isPublic } });
      project.reload();
    });
  }

  return (
    <>
      <nav aria-label="Breadcrumb" className="crumbs">
        <Link to="/">Projects</Link> / <Link to={projectPath(name)}>{name}</Link> / <span aria-current="page">Settings</span>
      </nav>
      <h1>{name} settings</h1>
      <ErrorBox error={project.error} />
      {project.loading && !p ? <Loading /> : null}
      {p ? (
        <>
          <section className="card" aria-labelledby="vis-h">
            <h2 id="vis-h">Visibility</h2>
            <fieldset className="radios">
              <legend className="sr-only">Visibility</legend>
              <label>
                <input type="radio" name="visibility" checked={p.public} onChange={() => setVisibility(true)} /> Public — anyone may pull
              </label>
              <label>
                <input type="radio" name="visibility" checked={!p.public} onChange={() => setVisibility(false)} /> Private — members only
              </label>
            </fieldset>
            <ErrorBox error={visibility.error} />
          </section>
          <Members project={name} />
          <GroupMappings project={name} />
          <Robots project={name} />
          {p.role === 'admin' || p.role === 'maintainer' || user?.admin ? <TrustPolicies project={name} /> : null}
          <Webhooks project={name} />
          <Lifecycle project={name} />
          <SigningPolicy project={name} />
          {user?.admin ? (
            <section className="card danger-zone" aria-labelledby="del-h">
              <h2 id="del-h">Delete project</h2>
              <p>Deleting a project is refused while it still holds repositories.</p>
              <button type="button" className="danger" onClick={() => confirmDelete(name)}>
                Delete project
              </button>
              {deleteDialog}
            </section>
          ) : null}
        </>
      ) : null}
    </>
  );
}

function Members({ project }: { project: string }) {
  const members = useApi('/projects/{name}/members', { params: { name: project }, query: { limit: 200 } });
  const [user, setUser] = useState('');
  const [role, setRole] = useState<Role>('developer');
  const change = useAction();
  const [remove, removeDialog] = useConfirm((member: string) => ({
    title: `Remove ${member} from ${project}?`,
    body: 'They lose the access this project gave them.',
    action: 'Remove member',
    onConfirm: async () => {
      await api.delete('/projects/{name}/members/{user}', { params: { name: project, user: member } });
      members.reload();
    },
  }));

  async function put(u: string, r: Role) {
    await api.put('/projects/{name}/members/{user}', { params: { name: project, user: u }, body: { role: r } });
    members.reload();
  }
  async function add() {
    await put(user.trim(), role);
    setUser('');
  }

  return (
    <section className="card" aria-labelledby="members-h">
      <h2 id="members-h">Members</h2>
      <Listing list={members} loading={false} empty={<Empty title="No members yet." />}>
        {(items) => (
          <DataTable columns={['User', 'Role']} actions>
            {items.map((m) => (
              <tr key={m.user}>
                <td>{m.user}</td>
                <td>
                  <select aria-label={`Role of ${m.user}`} value={m.role} onChange={(e) => void change.run(() => put(m.user, e.target.value as Role))}>
                    {ROLES.map((r) => (
                      <option key={r}>{r}</option>
                    ))}
                  </select>
                </td>
                <DangerCell label="Remove" onClick={() => remove(m.user)} />
              </tr>
            ))}
          </DataTable>
        )}
      </Listing>
      <InlineForm submit="Add member" onSubmit={add}>
        <Field label="User" name="member" required value={user} onChange={setUser} />
        <label>
          Role
          <select name="role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
      </InlineForm>
      <ErrorBox error={change.error} />
      {removeDialog}
    </section>
  );
}
