/**
 * One manifest by digest: media and artifact type, the image config (created, platform,
 * entrypoint, env, labels), layers with sizes next to the build history, annotations, the
 * children of an index, its signatures and whether they verify, and referrers (signatures, SBOMs,
 * attestations) grouped by artifact type.
 */
import { Link, useNavigate, useSearchParams } from 'react-router';
import { api, type ManifestDetail } from '../api';
import { useConfirm } from '../components/confirm';
import { CopyField } from '../components/copy';
import { Facts } from '../components/facts';
import { Empty, ErrorBox, Loading } from '../components/feedback';
import { DataTable } from '../components/table';
import { bytes, dateTime, isIndex, mediaTypeLabel, platform, shortDigest } from '../format';
import { useApi, useTitle } from '../hooks';
import { manifestPath, repoPath } from '../links';
import { RepoCrumbs } from './breadcrumbs';
import { ConfigView, HistoryView } from './config-view';
import { PullCommands } from './pull-commands';
import { VulnerabilitySection } from './vulnerabilities';
import { SignatureSection } from './signatures';

export function ManifestPage({ repo, digest }: { repo: string; digest: string }) {
  const [params] = useSearchParams();
  const tag = params.get('tag') ?? undefined;
  useTitle(`${repo}${tag ? `:${tag}` : `@${shortDigest(digest)}`}`);
  const m = useApi('/repositories/{repo}/manifests/{digest}', { params: { repo, digest } });
  const info = useApi('/repositories/{repo}', { params: { repo } });
  const navigate = useNavigate();
  const [confirmDelete, deleteDialog] = useConfirm((doomed: ManifestDetail) => ({
    title: 'Delete this manifest?',
    body: `The manifest ${doomed.digest} and every tag pointing at it (${doomed.tags.join(', ') || 'none'}) are removed from ${repo}.`,
    action: 'Delete manifest',
    onConfirm: async () => {
      await api.delete('/repositories/{repo}/manifests/{digest}', { params: { repo, digest: doomed.digest } });
      navigate(repoPath(repo));
    },
  }));
  const d = m.data;
  const canDelete = info.data?.permissions.includes('delete') ?? false;
  const annotations = (d?.manifest.annotations ?? null) as Record<string, string> | null;

  return (
    <>
      <RepoCrumbs repo={repo} project={info.data?.project} current={tag ?? shortDigest(digest)} />
      <div className="page-head">
        <h1 className="break">
          {repo}
          {tag ? `:${tag}` : ''}
        </h1>
        {d && canDelete ? (
          <button type="button" className="danger" onClick={() => confirmDelete(d)}>
            Delete manifest
          </button>
        ) : null}
      </div>
      <ErrorBox error={m.error} />
      {m.loading && !d ? <Loading what="Loading manifest" /> : null}
      {d ? (
        <>
          <dl className="facts wide">
            <div>
              <dt>Digest</dt>
              <dd>
                <CopyField label="Digest" text={d.digest} />
              </dd>
            </div>
            <div>
              <dt>Media type</dt>
              <dd title={d.mediaType}>{mediaTypeLabel(d.mediaType)}</dd>
            </div>
            <div>
              <dt>Artifact type</dt>
              <dd>{d.artifactType ?? <span className="muted">image</span>}</dd>
            </div>
            <div>
              <dt>{isIndex(d.mediaType) ? 'Total size (all platforms)' : 'Image size'}</dt>
              <dd title={`${d.totalSize} bytes`}>{bytes(d.totalSize)}</dd>
            </div>
            <div>
              <dt>Manifest size</dt>
              <dd title={`${d.size} bytes`}>{bytes(d.size)}</dd>
            </div>
            <div>
              <dt>Tags</dt>
              <dd>{d.tags.length ? d.tags.join(', ') : <span className="muted">untagged</span>}</dd>
            </div>
          </dl>
          <section aria-labelledby="pull-h">
            <h2 id="pull-h">Pull</h2>
            <PullCommands repo={repo} reference={tag ?? d.digest} />
          </section>
          {isIndex(d.mediaType) ? <Children repo={repo} d={d} /> : null}
          {!d.artifactType || d.artifactType.startsWith('application/vnd.oci.image.config') || d.artifactType.startsWith('application/vnd.docker.container') ? <VulnerabilitySection repo={repo} digest={d.digest} /> : null}
          {d.config ? <ConfigView config={d.config} /> : null}
          {!isIndex(d.mediaType) ? (
            <section aria-labelledby="layers-h">
              <h2 id="layers-h">Layers</h2>
              {d.layers.length === 0 ? <Empty title="No layers." /> : <HistoryView config={d.config} layers={d.layers} />}
            </section>
          ) : null}
          <section aria-labelledby="ann-h">
            <h2 id="ann-h">Annotations</h2>
            {annotations && Object.keys(annotations).length ? (
              <Facts className="kv" facts={Object.entries(annotations)} />
            ) : (
              <p className="muted">No annotations.</p>
            )}
          </section>
          <SignatureSection repo={repo} digest={d.digest} />
          <Referrers repo={repo} d={d} />
          <details className="raw">
            <summary>Raw manifest</summary>
            <pre className="json">{JSON.stringify(d.manifest, null, 2)}</pre>
          </details>
          {deleteDialog}
        </>
      ) : null}
    </>
  );
}

function Children({ repo, d }: { repo: string; d: ManifestDetail }) {
  return (
    <section aria-labelledby="children-h">
      <h2 id="children-h">Platforms ({d.children.length})</h2>
      {d.children.length === 0 ? (
        <Empty title="This index lists no manifests." />
      ) : (
        <DataTable columns={['Platform', 'Digest', 'Type', ['Size', 'num']]}>
          {d.children.map((c) => (
            <tr key={c.digest}>
              <th scope="row">
                <Link to={manifestPath(repo, c.digest)}>{platform(c.platform)}</Link>
              </th>
              <td>
                <code title={c.digest}>{shortDigest(c.digest)}</code>
              </td>
              <td>{mediaTypeLabel(c.mediaType)}</td>
              <td className="num">{bytes(c.size)}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </section>
  );
}

function Referrers({ repo, d }: { repo: string; d: ManifestDetail }) {
  const groups = new Map<string, ManifestDetail['referrers']>();
  for (const r of d.referrers) {
    const k = r.artifactType ?? 'unknown artifact type';
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  return (
    <section aria-labelledby="ref-h">
      <h2 id="ref-h">Referrers</h2>
      {groups.size === 0 ? <p className="muted">No signatures, SBOMs or attestations refer to this manifest.</p> : null}
      {[...groups].map(([type, items]) => (
        <div key={type} className="ref-group">
          <h3>
            {type} <span className="count">{items.length}</span>
          </h3>
          <ul className="plain">
            {items.map((r) => (
              <li key={r.digest}>
                <Link to={manifestPath(repo, r.digest)}>
                  <code>{shortDigest(r.digest)}</code>
                </Link>{' '}
                <span className="muted">{bytes(r.size)}</span>
                {r.annotations && r.annotations['org.opencontainers.image.created'] ? <span className="muted"> · {dateTime(r.annotations['org.opencontainers.image.created'])}</span> : null}
              </li>
            ))}
          </ul>
        </div>
      ))}
    </section>
  );
}
