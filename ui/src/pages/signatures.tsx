/**
 * Signatures in the UI: a badge per tag and manifest (verified, signed but not verified,
 * unsigned), the signatures of a manifest with who made each and why it does or does not
 * verify, and a project's signing policy (trusted keys and certificates, enforcement, sign on
 * push, the project's public key) for those who may manage policies.
 */
import { useEffect, useState } from 'react';
import { api, type ResponseOf } from '../api';
import { CopyField } from '../components/copy';
import { ErrorBox } from '../components/feedback';
import { useAction } from '../components/form';
import { DataTable } from '../components/table';
import { shortDigest } from '../format';
import { useApi } from '../hooks';

type Signatures = ResponseOf<'/repositories/{repo}/manifests/{digest}/signatures'>;

function signerOf(s: Signatures): string | null {
  const v = s.signatures.find((x) => x.verified);
  return v?.signer ?? null;
}

/**
 * One request per (repository, digest) for every badge on a page, kept for a few seconds: a
 * page of 100 tags that share a few images asks once per image.
 */
const badgeCache = new Map<string, { at: number; answer: Promise<Signatures> }>();
const BADGE_TTL_MS = 10_000;

function useSignatures(repo: string, digest: string): Signatures | null {
  const [s, setS] = useState<Signatures | null>(null);
  useEffect(() => {
    let live = true;
    const key = `${repo}@${digest}`;
    let entry = badgeCache.get(key);
    if (!entry || Date.now() - entry.at > BADGE_TTL_MS) {
      entry = { at: Date.now(), answer: api.get('/repositories/{repo}/manifests/{digest}/signatures', { params: { repo, digest } }) };
      badgeCache.set(key, entry);
      if (badgeCache.size > 1000) badgeCache.delete(badgeCache.keys().next().value!);
    }
    entry.answer.then(
      (v) => live && setS(v),
      () => live && setS(null),
    );
    return () => {
      live = false;
    };
  }, [repo, digest]);
  return s;
}

export function SignatureBadge({ repo, digest }: { repo: string; digest: string }) {
  const s = useSignatures(repo, digest);
  if (!s) return <span className="muted">…</span>;
  return <Badge s={s} />;
}

function Badge({ s }: { s: Signatures }) {
  const signer = signerOf(s);
  if (s.verified) {
    const title = s.coveredBy ? `covered by the signature of index ${s.coveredBy}` : `verified: signed by ${signer ?? 'a trusted key'}`;
    return (
      <span className="badge public" data-signature="verified" title={title}>
        verified{signer ? ` · ${signer.startsWith('sha256:') ? shortDigest(signer) : signer}` : s.coveredBy ? ' · index' : ''}
      </span>
    );
  }
  if (s.signed)
    return (
      <span className="badge private" data-signature="unverified" title={s.signatures.map((x) => x.reason).join('; ')}>
        signed · not verified
      </span>
    );
  return (
    <span className="muted" data-signature="unsigned">
      unsigned
    </span>
  );
}

export function SignatureSection({ repo, digest }: { repo: string; digest: string }) {
  const s = useApi('/repositories/{repo}/manifests/{digest}/signatures', { params: { repo, digest } });
  return (
    <section aria-labelledby="sig-h">
      <h2 id="sig-h">Signatures {s.data ? <Badge s={s.data} /> : null}</h2>
      <ErrorBox error={s.error} />
      {s.data && s.data.coveredBy ? <p>Covered by the verified signature of the index {shortDigest(s.data.coveredBy)}.</p> : null}
      {s.data && s.data.signatures.length === 0 ? <p className="muted">No cosign, Sigstore or Notation signature refers to this manifest.</p> : null}
      {s.data && s.data.signatures.length > 0 ? (
        <DataTable caption="Signatures" columns={['Format', 'Signer', 'Verifies', 'Why']}>
          {s.data.signatures.map((x, i) => (
            <tr key={`${x.manifest}-${i}`}>
              <td>{x.format}</td>
              <td>
                <code title={x.signer ?? ''}>{x.signer ? (x.signer.startsWith('sha256:') ? shortDigest(x.signer) : x.signer) : 'unknown key'}</code>
              </td>
              <td>{x.verified ? 'yes' : 'no'}</td>
              <td>{x.reason}</td>
            </tr>
          ))}
        </DataTable>
      ) : null}
    </section>
  );
}

const splitPem = (text: string, label: string): string[] => text.match(new RegExp(`-----BEGIN ${label}-----[\\s\\S]*?-----END ${label}-----\\s*`, 'g')) ?? [];

export function SigningPolicy({ project }: { project: string }) {
  const policy = useApi('/projects/{name}/signing', { params: { name: project } });
  const save = useAction();
  const [keys, setKeys] = useState('');
  const [certs, setCerts] = useState('');
  const [enforce, setEnforce] = useState(false);
  const [signOnPush, setSignOnPush] = useState(false);
  const p = policy.data;
  useEffect(() => {
    if (!p) return;
    setKeys(p.verify.keys.map((k) => k.publicKey).join(''));
    setCerts(p.verify.certificates.map((c) => c.certificate).join(''));
    setEnforce(p.verify.enforce);
    setSignOnPush(p.signOnPush);
  }, [p]);
  if (policy.error || !p) return null;
  const active = p.signingKeys.find((k) => k.active);

  function submit(e: React.FormEvent) {
    e.preventDefault();
    void save.run(async () => {
      await api.put('/projects/{name}/signing', { params: { name: project }, body: { verify: { keys: splitPem(keys, 'PUBLIC KEY'), certificates: splitPem(certs, 'CERTIFICATE'), enforce }, signOnPush } });
      policy.reload();
    });
  }

  return (
    <section className="card" aria-labelledby="signing-h">
      <h2 id="signing-h">Signatures</h2>
      <form onSubmit={submit} className="stack">
        <label>
          <input type="checkbox" name="enforce" checked={enforce} onChange={(e) => setEnforce(e.target.checked)} /> Only serve images a trusted key or certificate signed
        </label>
        <label>
          <input type="checkbox" name="signOnPush" checked={signOnPush} onChange={(e) => setSignOnPush(e.target.checked)} /> Sign each image Berth receives with the project's key
        </label>
        <label>
          Trusted public keys (PEM; cosign, Sigstore bundles)
          <textarea name="keys" rows={4} value={keys} onChange={(e) => setKeys(e.target.value)} />
        </label>
        <label>
          Trusted certificates (PEM; Notation)
          <textarea name="certificates" rows={3} value={certs} onChange={(e) => setCerts(e.target.value)} />
        </label>
        <button type="submit">Save signing policy</button>
      </form>
      <ErrorBox error={save.error} />
      {p.verify.keys.length ? (
        <ul className="plain" aria-label="Trusted keys">
          {p.verify.keys.map((k) => (
            <li key={k.fingerprint}>
              <code>{k.fingerprint}</code> <span className="muted">{k.type}</span>
            </li>
          ))}
        </ul>
      ) : null}
      {active ? <ProjectKey project={project} /> : null}
    </section>
  );
}

function ProjectKey({ project }: { project: string }) {
  const k = useApi('/projects/{name}/signing/public-key', { params: { name: project } });
  if (!k.data) return null;
  return (
    <div>
      <h3>Project signing key</h3>
      <p className="muted">
        {k.data.fingerprint}
        {k.data.previous.length ? ` · ${k.data.previous.length} retired key(s) still verify what they signed` : ''}
      </p>
      <CopyField label="Public key (for cosign verify --key)" text={k.data.publicKey} />
    </div>
  );
}
