/**
 * A searchable, keyset-paged list of repositories, for one project or for all of them.
 */
import { useState } from 'react';
import { Link } from 'react-router';
import type { RepositorySummary } from '../api';
import { Empty, PagerControls } from '../components/feedback';
import { SearchBox } from '../components/form';
import { DataTable, Listing } from '../components/table';
import { ago, bytes, dateTime } from '../format';
import { useDebounced, usePager } from '../hooks';
import { repoPath } from '../links';

export function RepoList({ project }: { project?: string }) {
  const [q, setQ] = useState('');
  const search = useDebounced(q.trim());
  const list = usePager('/repositories', { query: { project, q: search } });
  return (
    <>
      <SearchBox label="Search repositories" placeholder="Search repositories by name" value={q} onChange={setQ} />
      <Listing
        list={list}
        empty={
          search ? (
            <Empty title={`No repository matches “${search}”.`} />
          ) : (
            <Empty title="No repositories yet.">
              Push an image, for example <code>skopeo copy docker://alpine:3 docker://{location.host}/{project ?? '<project>'}/alpine:3</code>
            </Empty>
          )
        }
      >
        {(items) => (
          <DataTable caption="Repositories" columns={['Repository', ['Tags', 'num'], ['Size', 'num'], 'Last push', 'Last pull']}>
            {items.map((r) => (
              <tr key={r.name}>
                <td>
                  <Link to={repoPath(r.name)}>{r.name}</Link>
                </td>
                <td className="num">{r.tagCount}</td>
                <td className="num">{bytes(r.sizeBytes)}</td>
                <td title={dateTime(r.pushedAt)}>{ago(r.pushedAt)}</td>
                <td title={dateTime(r.pulledAt)}>{ago(r.pulledAt)}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </Listing>
      <PagerControls label="Repositories" {...list} />
    </>
  );
}
