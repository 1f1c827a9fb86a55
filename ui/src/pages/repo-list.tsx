/**
 * A searchable, keyset-paged list of repositories, for one project or for all of them.
 */
import { useState } from 'react';
import { Link } from 'react-router';
import type { RepositorySummary } from '../api';
import { Empty, ErrorBox, Loading, PagerControls } from '../components/feedback';
import { ago, bytes, dateTime } from '../format';
import { useDebounced, usePager } from '../hooks';
import { repoPath } from '../links';

export function RepoList({ project }: { project?: string }) {
  const [q, setQ] = useState('');
  const search = useDebounced(q.trim());
  const list = usePager<RepositorySummary>('/repositories', { project, q: search });
  return (
    <>
      <div className="toolbar">
        <label className="search">
          <span className="sr-only">Search repositories</span>
          <input type="search" placeholder="Search repositories by name" value={q} onChange={(e) => setQ(e.target.value)} />
        </label>
      </div>
      <ErrorBox error={list.error} />
      {list.loading && !list.data ? <Loading /> : null}
      {list.data && list.data.items.length === 0 ? (
        search ? (
          <Empty title={`No repository matches “${search}”.`} />
        ) : (
          <Empty title="No repositories yet.">
            Push an image, for example <code>skopeo copy docker://alpine:3 docker://{location.host}/{project ?? '<project>'}/alpine:3</code>
          </Empty>
        )
      ) : null}
      {list.data && list.data.items.length > 0 ? (
        <div className="table-wrap" tabIndex={0}>
          <table>
            <caption className="sr-only">Repositories</caption>
            <thead>
              <tr>
                <th scope="col">Repository</th>
                <th scope="col" className="num">
                  Tags
                </th>
                <th scope="col" className="num">
                  Size
                </th>
                <th scope="col">Last push</th>
                <th scope="col">Last pull</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((r) => (
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
            </tbody>
          </table>
        </div>
      ) : null}
      <PagerControls label="Repositories" {...list} />
    </>
  );
}
