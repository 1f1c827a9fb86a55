/**
 * The pull-through caches: each proxy project with its upstream, the upstream's health, the
 * cache's size and hit ratio, and what came from upstream versus from the cache.
 */
import { Link } from 'react-router';
import { Empty, PagerControls } from '../components/feedback';
import { DataTable, Listing } from '../components/table';
import { bytes, dateTime } from '../format';
import { usePager, useTitle } from '../hooks';

export function CachesPage() {
  useTitle('Caches');
  const list = usePager('/proxies', {}, 100);
  return (
    <>
      <h1>Pull-through caches</h1>
      <p className="muted">
        Each upstream registry is served as a read-only project of its name: <code>{location.host}/&lt;cache&gt;/library/alpine:3.20</code>.
      </p>
      <Listing list={list} empty={<Empty title="No upstreams are configured.">Add them to the proxy section of the configuration.</Empty>}>
        {(items) => (
          <DataTable caption="Pull-through caches" columns={['Project', 'Upstream', 'Mirror of', 'Health', ['Cached', 'num'], ['Hit ratio', 'num'], ['From upstream', 'num'], ['From cache', 'num']]}>
            {items.map((u) => (
              <tr key={u.name}>
                <td>
                  <Link to={`/projects/${encodeURIComponent(u.name)}`}>{u.name}</Link>
                  {u.defaultMirror ? <> <span className="badge public">default mirror</span></> : null}
                </td>
                <td className="break">
                  <code>{u.url}</code>
                </td>
                <td>{u.mirrorOf.join(', ') || '—'}</td>
                <td>
                  {u.health.up ? (
                    <span className="badge public">up</span>
                  ) : (
                    <span className="badge private" title={u.health.lastError ?? ''}>
                      down until {dateTime(u.health.retryAt)}
                    </span>
                  )}
                  {u.health.lastError ? <div className="muted small">{u.health.lastError}</div> : null}
                </td>
                <td className="num">
                  {bytes(u.cache.bytes)}
                  <div className="muted small">{u.cache.manifests} manifests, {u.cache.blobs} blobs</div>
                </td>
                <td className="num">{u.stats.hitRatio === null ? '—' : `${Math.round(u.stats.hitRatio * 100)}%`}</td>
                <td className="num">{bytes(u.stats.bytesFromUpstream)}</td>
                <td className="num">{bytes(u.stats.bytesFromCache)}</td>
              </tr>
            ))}
          </DataTable>
        )}
      </Listing>
      <PagerControls label="Pull-through caches" {...list} />
    </>
  );
}
