/**
 * Splits the splat of /r/<repository>[/-/manifests/<digest>] into the repository name and the
 * sub-page, since repository names contain slashes.
 */
import { useParams } from 'react-router';
import { ManifestPage } from './manifest';
import { RepositoryPage } from './repository';

export function RepoRoute() {
  const rest = useParams()['*'] ?? '';
  const i = rest.indexOf('/-/');
  const repo = (i < 0 ? rest : rest.slice(0, i)).replace(/\/+$/, '');
  const sub = i < 0 ? '' : rest.slice(i + 3);
  const m = /^manifests\/(.+)$/.exec(sub);
  if (m) return <ManifestPage repo={repo} digest={m[1]} />;
  return <RepositoryPage repo={repo} />;
}
