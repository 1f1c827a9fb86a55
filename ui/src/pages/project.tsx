/**
 * One project: its figures, its repositories, and a link to its settings for those who may
 * change them (project admins and maintainers, system administrators).
 */
import { Link, useParams } from 'react-router';
import { Facts } from '../components/facts';
import { ErrorBox, Loading } from '../components/feedback';
import { bytes } from '../format';
import { useApi, useTitle } from '../hooks';
import { projectPath } from '../links';
import { useSession } from '../session';
import { Quota } from './projects';
import { RepoList } from './repo-list';

export function ProjectPage() {
  const { name = '' } = useParams();
  useTitle(name);
  const { user, authEnabled } = useSession();
  const project = useApi('/projects/{name}', { params: { name } });
  const p = project.data;
  const canManage = !authEnabled || !!user?.admin || p?.role === 'admin' || p?.role === 'maintainer';
  return (
    <>
      <nav aria-label="Breadcrumb" className="crumbs">
        <Link to="/">Projects</Link> / <span aria-current="page">{name}</span>
      </nav>
      <div className="page-head">
        <h1>{name}</h1>
        {p ? <span className={`badge ${p.public ? 'public' : 'private'}`}>{p.public ? 'Public' : 'Private'}</span> : null}
        {canManage && p ? (
          <Link className="button" to={`${projectPath(name)}/settings`}>
            Settings
          </Link>
        ) : null}
      </div>
      <ErrorBox error={project.error} />
      {project.loading && !p ? <Loading /> : null}
      {p ? (
        <Facts
          facts={[
            ['Repositories', p.repositoryCount],
            ['Storage', bytes(p.storageBytes)],
            ['Quota', <Quota used={p.storageBytes} quota={p.quotaBytes} />],
            ['Your role', p.role ?? '—'],
          ]}
        />
      ) : null}
      {p ? (
        <>
          <h2>Repositories</h2>
          <RepoList project={name} />
        </>
      ) : null}
    </>
  );
}
