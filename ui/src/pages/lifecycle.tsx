/**
 * Lifecycle settings (retention, immutability, quota) of a project, shown only when the registry
 * answers for them: each is probed, and a 404 hides its panel instead of showing an error.
 */
import { Facts } from '../components/facts';
import { useApi } from '../hooks';

const POLICIES = [
  ['retention', 'Retention'],
  ['immutability', 'Tag immutability'],
  ['quota', 'Quota'],
] as const;

export function Lifecycle({ project }: { project: string }) {
  return (
    <>
      {POLICIES.map(([path, title]) => (
        <Policy key={path} path={`/projects/{name}/${path}`} project={project} title={title} />
      ))}
    </>
  );
}

export function Policy({ path, project, title }: { path: `/projects/{name}/${(typeof POLICIES)[number][0]}`; project: string; title: string }) {
  const policy = useApi(path, { params: { name: project } });
  if (policy.error || policy.data === undefined) return null;
  return (
    <section className="card" aria-label={title}>
      <h2>{title}</h2>
      <JsonFacts value={policy.data} />
    </section>
  );
}

/** A read-only view of a settings object: key/value rows, nested values as JSON. */
export function JsonFacts({ value }: { value: unknown }) {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return <pre className="json">{JSON.stringify(value, null, 2)}</pre>;
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length === 0) return <p className="muted">Not configured.</p>;
  return <Facts className="kv" facts={entries.map(([k, v]) => [k, typeof v === 'object' && v !== null ? <pre className="json">{JSON.stringify(v, null, 2)}</pre> : String(v)])} />;
}
