/**
 * All repositories the caller can see, searchable by name.
 */
import { useTitle } from '../hooks';
import { RepoList } from './repo-list';

export function RepositoriesPage() {
  useTitle('Repositories');
  return (
    <>
      <h1>Repositories</h1>
      <RepoList />
    </>
  );
}
