/**
 * The home page: projects the caller can see, with visibility, repository count, storage and
 * quota, and (for administrators) a form to create one.
 */
import { useState, type FormEvent } from 'react';
import { Link } from 'react-router';
import { api, type Project } from '../api';
import { Empty, ErrorBox, Loading, PagerControls } from '../components/feedback';
import { bytes } from '../format';
import { usePager, useTitle } from '../hooks';
import { projectPath } from '../links';
import { useSession } from '../session';

export function ProjectsPage() {
  useTitle('Projects');
  const { user, authEnabled } = useSession();
  const list = usePager<Project>('/projects', {});
  return (
    <>
      <div className="page-head">
        <h1>Projects</h1>
      </div>
      {user?.admin || !authEnabled ? <CreateProject onCreated={list.reload} /> : null}
      <ErrorBox error={list.error} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && list.data.items.length === 0 ? (
        <Empty title="No projects yet.">{user?.admin ? 'Create one above, then push to <host>/<project>/<image>.' : 'Ask an administrator to create one or to add you to one.'}</Empty>
      ) : null}
      {list.data && list.data.items.length > 0 ? (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <caption className="sr-only">Projects</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Visibility</th>
                <th scope="col" className="num">
                  Repositories
                </th>
                <th scope="col" className="num">
                  Storage
                </th>
                <th scope="col">Quota</th>
                <th scope="col">Your role</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((p) => (
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
            </tbody>
          </table>
        </div>
      ) : null}
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
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await api('/projects', { method: 'POST', body: { name, public: isPublic } });
      setName('');
      onCreated();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  }
  return (
    <details className="card">
      <summary>New project</summary>
      <form onSubmit={submit} className="inline-form">
        <label>
          Name
          <input name="project" required pattern="[a-z0-9]+([._\-][a-z0-9]+)*" title="lower-case letters, digits, and . _ - between them" value={name} onChange={(e) => setName(e.target.value)} />
        </label>
        <label className="check">
          <input type="checkbox" checked={isPublic} onChange={(e) => setPublic(e.target.checked)} /> Public (anyone may pull)
        </label>
        <button type="submit" className="primary" disabled={busy}>
          Create project
        </button>
      </form>
      <ErrorBox error={error} />
    </details>
  );
}
