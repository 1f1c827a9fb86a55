/**
 * The image config of a manifest (created, platform, entrypoint, command, env, labels) and the
 * layer table joined with the build history: history entries that are not empty layers map, in
 * order, onto the manifest's layers.
 */
import type { Descriptor } from '../api';
import { Facts } from '../components/facts';
import { DataTable } from '../components/table';
import { bytes, dateTime, shortDigest } from '../format';

interface ImageConfig {
  created?: string;
  author?: string;
  os?: string;
  architecture?: string;
  variant?: string;
  config?: {
    Entrypoint?: string[] | null;
    Cmd?: string[] | null;
    Env?: string[] | null;
    Labels?: Record<string, string> | null;
    WorkingDir?: string;
    User?: string;
    ExposedPorts?: Record<string, unknown>;
  };
  history?: { created?: string; created_by?: string; empty_layer?: boolean; comment?: string }[];
}

const argv = (a: string[] | null | undefined) => (a && a.length ? JSON.stringify(a) : null);

export function ConfigView({ config }: { config: Record<string, unknown> }) {
  const c = config as ImageConfig;
  const cc = c.config ?? {};
  const rows: [string, React.ReactNode][] = [
    ['Created', c.created ? dateTime(c.created) : null],
    ['OS / architecture', c.os || c.architecture ? [c.os, c.architecture, c.variant].filter(Boolean).join('/') : null],
    ['Author', c.author ?? null],
    ['Entrypoint', argv(cc.Entrypoint)],
    ['Command', argv(cc.Cmd)],
    ['Working directory', cc.WorkingDir || null],
    ['User', cc.User || null],
    ['Exposed ports', cc.ExposedPorts ? Object.keys(cc.ExposedPorts).join(', ') : null],
  ];
  const env = cc.Env ?? [];
  const labels = Object.entries(cc.Labels ?? {});
  return (
    <section aria-labelledby="config-h">
      <h2 id="config-h">Configuration</h2>
      <Facts
        className="kv"
        facts={rows.filter(([, v]) => v !== null && v !== undefined).map(([k, v]) => [k, typeof v === 'string' && (k === 'Entrypoint' || k === 'Command') ? <code>{v}</code> : v])}
      />
      <h3>Environment</h3>
      {env.length ? (
        <ul className="plain mono">
          {env.map((e) => (
            <li key={e}>{e}</li>
          ))}
        </ul>
      ) : (
        <p className="muted">No environment variables.</p>
      )}
      <h3>Labels</h3>
      {labels.length ? (
        <Facts className="kv" facts={labels} />
      ) : (
        <p className="muted">No labels.</p>
      )}
    </section>
  );
}

export function HistoryView({ config, layers }: { config: Record<string, unknown> | null; layers: Descriptor[] }) {
  const history = ((config as ImageConfig | null)?.history ?? []).filter(Boolean);
  // Pair each non-empty history step with the next layer, so sizes sit next to the command.
  let li = 0;
  const rows = history.map((h) => ({ h, layer: h.empty_layer ? undefined : layers[li++] }));
  const extra = layers.slice(li).map((layer) => ({ h: undefined, layer }));
  const all = [...rows, ...extra];
  const total = layers.reduce((s, l) => s + l.size, 0);
  return (
    <DataTable
      className="layers"
      captionClass="caption"
      caption={`${layers.length} layer${layers.length === 1 ? '' : 's'}, ${bytes(total)} compressed`}
      columns={['#', 'Step', 'Layer', ['Size', 'num']]}
    >
      {all.map(({ h, layer }, i) => (
        <tr key={i} className={layer ? '' : 'empty-layer'}>
          <td>{i + 1}</td>
          <td className="step">
            {h?.created_by ? <code>{h.created_by}</code> : <span className="muted">{h ? h.comment ?? 'no command recorded' : 'no history'}</span>}
            {h?.created ? <div className="muted small">{dateTime(h.created)}</div> : null}
          </td>
          <td>{layer ? <code title={`${layer.digest} (${layer.mediaType})`}>{shortDigest(layer.digest)}</code> : <span className="muted">empty</span>}</td>
          <td className="num">{layer ? bytes(layer.size) : '—'}</td>
        </tr>
      ))}
    </DataTable>
  );
}
