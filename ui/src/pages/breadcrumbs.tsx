/**
 * Breadcrumbs for repository pages: project, repository, and the current item.
 */
import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { projectPath, repoPath } from '../links';

export function RepoCrumbs({ repo, project, current }: { repo: string; project?: string; current?: ReactNode }) {
  const proj = project ?? repo.split('/')[0];
  return (
    <nav aria-label="Breadcrumb" className="crumbs">
      <Link to="/">Projects</Link> / <Link to={projectPath(proj)}>{proj}</Link> /{' '}
      {current ? (
        <>
          <Link to={repoPath(repo)}>{repo}</Link> / <span aria-current="page">{current}</span>
        </>
      ) : (
        <span aria-current="page">{repo}</span>
      )}
    </nav>
  );
}
