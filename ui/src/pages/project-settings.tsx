/**
 * Project settings: visibility, members and their roles, robot accounts (the secret is shown
 * once, right after creation, with a copy button), and lifecycle policies where the registry
 * offers them.
 */
import { useState, type FormEvent } from 'react';
import { Link, useNavigate, useParams } from 'react-router';
import { api, seg, type Member, type Page, type Project, type Role } from '../api';
import { ConfirmDialog } from '../components/confirm';
import { Empty, ErrorBox, Loading } from '../components/feedback';
import { useApi, useTitle } from '../hooks';
import { projectPath } from '../links';
import { useSession } from '../session';
import { Lifecycle } from './lifecycle';
import { Robots } from './robots';

const ROLES: Role[] = ['admin', 'maintainer', 'developer', 'guest'];

export function ProjectSettingsPage() {
  const { name = '' } = useParams();
  useTitle(`${name} settings`);
  const { user } = useSession();
  const project = useApi<Project>(`/projects/${seg(name)}`);
  const navigate = useNavigate();
  const [confirmDelete, setConfirmDelete] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const p = project.data;

  async function setVisibility(isPublic: boolean) {
    setError(null);
    try {
      await api(`/projects/${seg(name)}`, { method: 'PATCH', body: { public: isPublic } });
      project.reload();
    } catch (e) {
      setError(e);
    }
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
                <input type="radio" name="visibility" checked={p.public} onChange={() => void setVisibility(true)} /> Public — anyone may pull
              </label>
              <label>
                <input type="radio" name="visibility" checked={!p.public} onChange={() => void setVisibility(false)} /> Private — members only
              </label>
            </fieldset>
            <ErrorBox error={error} />
          </section>
          <Members project={name} />
          <Robots project={name} />
          <Lifecycle project={name} />
          {user?.admin ? (
            <section className="card danger-zone" aria-labelledby="del-h">
              <h2 id="del-h">Delete project</h2>
              <p>Deleting a project is refused while it still holds repositories.</p>
              <button type="button" className="danger" onClick={() => setConfirmDelete(true)}>
                Delete project
              </button>
              <ConfirmDialog
                open={confirmDelete}
                title={`Delete project ${name}?`}
                body="The project, its members and its robot accounts are removed. This cannot be undone."
                action="Delete project"
                onClose={() => setConfirmDelete(false)}
                onConfirm={async () => {
                  await api(`/projects/${seg(name)}`, { method: 'DELETE' });
                  navigate('/');
                }}
              />
            </section>
          ) : null}
        </>
      ) : null}
    </>
  );
}

function Members({ project }: { project: string }) {
  const members = useApi<Page<Member>>(`/projects/${seg(project)}/members?limit=200`);
  const [user, setUser] = useState('');
  const [role, setRole] = useState<Role>('developer');
  const [error, setError] = useState<unknown>(null);
  const [removing, setRemoving] = useState<string | null>(null);

  async function put(u: string, r: Role) {
    setError(null);
    try {
      await api(`/projects/${seg(project)}/members/${seg(u)}`, { method: 'PUT', body: { role: r } });
      members.reload();
      return true;
    } catch (e) {
      setError(e);
      return false;
    }
  }
  async function add(e: FormEvent) {
    e.preventDefault();
    if (await put(user.trim(), role)) setUser('');
  }

  return (
    <section className="card" aria-labelledby="members-h">
      <h2 id="members-h">Members</h2>
      <ErrorBox error={members.error} />
      {members.data && members.data.items.length === 0 ? <Empty title="No members yet." /> : null}
      {members.data && members.data.items.length > 0 ? (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">User</th>
                <th scope="col">Role</th>
                <th scope="col">
                  <span className="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {members.data.items.map((m) => (
                <tr key={m.user}>
                  <td>{m.user}</td>
                  <td>
                    <select aria-label={`Role of ${m.user}`} value={m.role} onChange={(e) => void put(m.user, e.target.value as Role)}>
                      {ROLES.map((r) => (
                        <option key={r}>{r}</option>
                      ))}
                    </select>
                  </td>
                  <td className="actions-cell">
                    <button type="button" className="danger" onClick={() => setRemoving(m.user)}>
                      Remove
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      <form onSubmit={add} className="inline-form">
        <label>
          User
          <input name="member" required value={user} onChange={(e) => setUser(e.target.value)} />
        </label>
        <label>
          Role
          <select name="role" value={role} onChange={(e) => setRole(e.target.value as Role)}>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </label>
        <button type="submit" className="primary">
          Add member
        </button>
      </form>
      <ErrorBox error={error} />
      <ConfirmDialog
        open={removing !== null}
        title={`Remove ${removing ?? ''} from ${project}?`}
        body="They lose the access this project gave them."
        action="Remove member"
        onClose={() => setRemoving(null)}
        onConfirm={async () => {
          await api(`/projects/${seg(project)}/members/${seg(removing ?? '')}`, { method: 'DELETE' });
          members.reload();
        }}
      />
    </section>
  );
}
