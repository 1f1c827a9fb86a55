/**
 * A repository: its figures and its tags, one keyset page at a time (fast with 10,000 tags),
 * with digest, size, platforms, signature (verified or not), push and pull times, which tags on the page share a digest,
 * pull commands to copy, and tag deletion for callers whose permissions include "delete".
 */
import { Fragment, useMemo, useState } from 'react';
import { Link } from 'react-router';
import { api } from '../api';
import { useConfirm } from '../components/confirm';
import { CopyButton } from '../components/copy';
import { Facts } from '../components/facts';
import { Empty, ErrorBox, Loading, PagerControls } from '../components/feedback';
import { SearchBox } from '../components/form';
import { DataTable, Listing } from '../components/table';
import { ago, bytes, dateTime, isIndex, mediaTypeLabel, platform, shortDigest } from '../format';
import { useApi, useDebounced, usePager, useTitle } from '../hooks';
import { manifestPath } from '../links';
import { SeveritySummary } from './vulnerabilities';
import { RepoCrumbs } from './breadcrumbs';
import { PullCommands } from './pull-commands';
import { SignatureBadge } from './signatures';

export function RepositoryPage({ repo }: { repo: string }) {
  useTitle(repo);
  const info = useApi('/repositories/{repo}', { params: { repo } });
  const [q, setQ] = useState('');
  const search = useDebounced(q.trim());
  const tags = usePager(info.data ? '/repositories/{repo}/tags' : null, { params: { repo }, query: { q: search } }, 100);
  const [open, setOpen] = useState<string | null>(null);
  const [confirmDelete, deleteDialog] = useConfirm((tag: string) => ({
    title: `Delete tag ${tag}?`,
    body: `The tag ${repo}:${tag} is removed. The image stays while another tag or digest reference keeps it.`,
    action: 'Delete tag',
    onConfirm: async () => {
      await api.delete('/repositories/{repo}/tags/{tag}', { params: { repo, tag } });
      tags.reload();
      info.reload();
    },
  }));
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
          <Facts
            facts={[
              ['Tags', r.tagCount],
              ['Size', bytes(r.sizeBytes)],
              ['You may', r.permissions.length ? r.permissions.join(', ') : 'nothing'],
            ]}
          />
          <h2>Tags</h2>
          <SearchBox label="Filter tags" placeholder="Filter tags by name" value={q} onChange={setQ} />
          <Listing list={tags} loading="Loading tags" empty={<Empty title={search ? `No tag matches “${search}”.` : 'This repository has no tags.'} />}>
            {(items) => (
              <DataTable className="tags" busy={tags.loading} caption={`Tags of ${repo}`} columns={['Tag', 'Digest', 'Type', ['Size', 'num'], 'Platforms', 'Vulnerabilities', 'Signature', 'Pushed', 'Pulled']} actions>
                {items.map((t) => {
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
                        <td>
                          <SeveritySummary repo={repo} digest={t.digest} />
                        </td>
                        <td>
                          <SignatureBadge repo={repo} digest={t.digest} />
                        </td>
                        <td title={dateTime(t.pushedAt)}>{ago(t.pushedAt)}</td>
                        <td title={dateTime(t.pulledAt)}>{ago(t.pulledAt)}</td>
                        <td className="actions-cell">
                          <button type="button" aria-expanded={open === t.name} aria-label={`Pull commands for ${t.name}`} onClick={() => setOpen(open === t.name ? null : t.name)}>
                            Pull
                          </button>
                          {canDelete ? (
                            <button type="button" className="danger" aria-label={`Delete tag ${t.name}`} onClick={() => confirmDelete(t.name)}>
                              Delete
                            </button>
                          ) : null}
                        </td>
                      </tr>
                      {open === t.name ? (
                        <tr className="expanded">
                          <td colSpan={9}>
                            <PullCommands repo={repo} reference={t.name} />
                          </td>
                        </tr>
                      ) : null}
                    </Fragment>
                  );
                })}
              </DataTable>
            )}
          </Listing>
          <PagerControls label="Tags" {...tags} />
          {deleteDialog}
        </>
      ) : null}
    </>
  );
}
