/**
 * The home page: projects the caller can see, with visibility, repository count, storage and
 * quota, and (for administrators) a form to create one.
 */
import { useState } from 'react';
import { Link } from 'react-router';
import { api, type Project } from '../api';
import { Empty, PagerControls } from '../components/feedback';
import { Check, Field, InlineForm } from '../components/form';
import { DataTable, Listing } from '../components/table';
import { bytes } from '../format';
import { usePager, useTitle } from '../hooks';
import { projectPath } from '../links';
import { useSession } from '../session';

export function ProjectsPage() {
  useTitle('Projects');
  const { user, authEnabled } = useSession();
  const list = usePager('/projects', {});
  return (
    <>
      <div className="page-head">
        <h1>Projects</h1>
      </div>
      {user?.admin || !authEnabled ? <CreateProject onCreated={list.reload} /> : null}
      <Listing
        list={list}
        empty={
          !user && authEnabled ? (
            // Signed out, the list holds public projects only: an empty one says nothing about the registry.
            <Empty title="Sign in to see projects.">
              Signed out, you see only public projects, and there are none. <Link to="/login">Sign in</Link> to see the projects you belong to.
            </Empty>
          ) : (
            <Empty title="No projects yet.">{user?.admin ? 'Create one above, then push to <host>/<project>/<image>.' : 'Ask an administrator to create one or to add you to one.'}</Empty>
          )
        }
      >
        {(items) => (
          <DataTable caption="Projects" columns={['Name', 'Visibility', ['Repositories', 'num'], ['Storage', 'num'], 'Quota', 'Your role']}>
            {items.map((p) => (
              <tr key={p.name}>
                <td>
                  <Link to={projectPath(p.name)}>{p.name}</Link>
                </td>
                <td>
                  <span className={`badge ${p.public ? 'public' : 'private'}`}>{p.public ? 'Public' : 'Private'}</span>
                </td>
                <td className="num">{p.repositoryCount}</td>
                <td className="num">{bytes(p.storageBytes)}</td>
                <td>
                  <Quota used={p.storageBytes} quota={p.quotaBytes} />
                </td>
                <td>{p.role ?? (user?.admin ? 'admin (system)' : '—')}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </Listing>
      <PagerControls label="Projects" {...list} />
    </>
  );
}

export function Quota({ used, quota }: { used: number; quota: number | null }) {
  if (quota === null || quota === undefined) return <span className="muted">none</span>;
  const pct = quota > 0 ? Math.min(100, Math.round((used / quota) * 100)) : 100;
  return (
    <span className="quota">
      <meter min={0} max={quota} value={used} high={quota * 0.9} aria-label={`${pct}% of quota used`} /> {bytes(quota)}
    </span>
  );
}

function CreateProject({ onCreated }: { onCreated(): void }) {
  const [name, setName] = useState('');
  const [isPublic, setPublic] = useState(false);
  async function create() {
    await api.post('/projects', { body: { name, public: isPublic } });
    setName('');
    onCreated();
  }
  return (
    <details className="card">
      <summary>New project</summary>
      <InlineForm submit="Create project" onSubmit={create}>
        <Field label="Name" name="project" required pattern="[a-z0-9]+([._\-][a-z0-9]+)*" title="lower-case letters, digits, and . _ - between them" value={name} onChange={setName} />
        <Check label="Public (anyone may pull)" checked={isPublic} onChange={setPublic} />
      </InlineForm>
    </details>
  );
}
