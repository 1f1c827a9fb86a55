/**
 * A repository: its figures and its tags, one keyset page at a time (fast with 10,000 tags),
 * with digest, size, platforms, push and pull times, which tags on the page share a digest,
 * pull commands to copy, and tag deletion for callers whose permissions include "delete".
 */
import { Fragment, useMemo, useState } from 'react';
import { Link } from 'react-router';
import { api, seg, type RepositoryInfo, type Tag } from '../api';
import { ConfirmDialog } from '../components/confirm';
import { CopyButton } from '../components/copy';
import { Empty, ErrorBox, Loading, PagerControls } from '../components/feedback';
import { ago, bytes, dateTime, isIndex, mediaTypeLabel, platform, shortDigest } from '../format';
import { useApi, useDebounced, usePager, useTitle } from '../hooks';
import { manifestPath } from '../links';
import { RepoCrumbs } from './breadcrumbs';
import { PullCommands } from './pull-commands';

export function RepositoryPage({ repo }: { repo: string }) {
  useTitle(repo);
  const info = useApi<RepositoryInfo>(`/repositories/${seg(repo)}`);
  const [q, setQ] = useState('');
  const search = useDebounced(q.trim());
  const tags = usePager<Tag>(info.data ? `/repositories/${seg(repo)}/tags` : null, { q: search }, 100);
  const [open, setOpen] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<string | null>(null);
  const canDelete = info.data?.permissions.includes('delete') ?? false;

  // Tags on this page grouped by digest, to say which tags are the same image.
  const byDigest = useMemo(() => {
    const m = new Map<string, string[]>();
    for (const t of tags.data?.items ?? []) m.set(t.digest, [...(m.get(t.digest) ?? []), t.name]);
    return m;
  }, [tags.data]);

  const r = info.data;
  return (
    <>
      <RepoCrumbs repo={repo} project={r?.project} />
      <div className="page-head">
        <h1 className="break">{repo}</h1>
      </div>
      <ErrorBox error={info.error} />
      {info.loading && !r ? <Loading /> : null}
      {r ? (
        <>
          <dl className="facts">
            <div>
              <dt>Tags</dt>
              <dd>{r.tagCount}</dd>
            </div>
            <div>
              <dt>Size</dt>
              <dd>{bytes(r.sizeBytes)}</dd>
            </div>
            <div>
              <dt>You may</dt>
              <dd>{r.permissions.length ? r.permissions.join(', ') : 'nothing'}</dd>
            </div>
          </dl>
          <h2>Tags</h2>
          <div className="toolbar">
            <label className="search">
              <span className="sr-only">Filter tags</span>
              <input type="search" placeholder="Filter tags by name" value={q} onChange={(e) => setQ(e.target.value)} />
            </label>
          </div>
          <ErrorBox error={tags.error} />
          {tags.loading && !tags.data ? <Loading what="Loading tags" /> : null}
          {tags.data && tags.data.items.length === 0 ? <Empty title={search ? `No tag matches “${search}”.` : 'This repository has no tags.'} /> : null}
          {tags.data && tags.data.items.length > 0 ? (
            <div className="table-wrap" tabIndex={0}>
              <table className="tags" aria-busy={tags.loading}>
                <caption className="sr-only">Tags of {repo}</caption>
                <thead>
                  <tr>
                    <th scope="col">Tag</th>
                    <th scope="col">Digest</th>
                    <th scope="col">Type</th>
                    <th scope="col" className="num">
                      Size
                    </th>
                    <th scope="col">Platforms</th>
                    <th scope="col">Pushed</th>
                    <th scope="col">Pulled</th>
                    <th scope="col">
                      <span className="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {tags.data.items.map((t) => {
                    const same = (byDigest.get(t.digest) ?? []).filter((n) => n !== t.name);
                    return (
                      <Fragment key={t.name}>
                        <tr data-tag={t.name}>
                          <th scope="row">
                            <Link to={manifestPath(repo, t.digest, t.name)}>{t.name}</Link>
                            {same.length ? <div className="shared">same image as {same.join(', ')}</div> : null}
                          </th>
                          <td>
                            <code title={t.digest}>{shortDigest(t.digest)}</code> <CopyButton text={t.digest} label={`digest of ${t.name}`} />
                          </td>
                          <td>{mediaTypeLabel(t.mediaType)}</td>
                          <td className="num">{bytes(t.size)}</td>
                          <td>
                            {t.platforms.length ? (
                              <ul className="chips" aria-label="Platforms">
                                {t.platforms.map((p) => (
                                  <li key={platform(p)}>{platform(p)}</li>
                                ))}
                              </ul>
                            ) : (
                              <span className="muted">{isIndex(t.mediaType) ? 'unknown' : '—'}</span>
                            )}
                          </td>
                          <td title={dateTime(t.pushedAt)}>{ago(t.pushedAt)}</td>
                          <td title={dateTime(t.pulledAt)}>{ago(t.pulledAt)}</td>
                          <td className="actions-cell">
                            <button type="button" aria-expanded={open === t.name} aria-label={`Pull commands for ${t.name}`} onClick={() => setOpen(open === t.name ? null : t.name)}>
                              Pull
                            </button>
                            {canDelete ? (
                              <button type="button" className="danger" aria-label={`Delete tag ${t.name}`} onClick={() => setDeleting(t.name)}>
                                Delete
                              </button>
                            ) : null}
                          </td>
                        </tr>
                        {open === t.name ? (
                          <tr className="expanded">
                            <td colSpan={8}>
                              <PullCommands repo={repo} reference={t.name} />
                            </td>
                          </tr>
                        ) : null}
                      </Fragment>
                    );
                  })}
                </tbody>
              </table>
            </div>
          ) : null}
          <PagerControls label="Tags" {...tags} />
          <ConfirmDialog
            open={deleting !== null}
            title={`Delete tag ${deleting ?? ''}?`}
            body={`The tag ${repo}:${deleting ?? ''} is removed. The image stays while another tag or digest reference keeps it.`}
            action="Delete tag"
            onClose={() => setDeleting(null)}
            onConfirm={async () => {
              await api(`/repositories/${seg(repo)}/tags/${seg(deleting ?? '')}`, { method: 'DELETE' });
              tags.reload();
              info.reload();
            }}
          />
        </>
      ) : null}
    </>
  );
}
