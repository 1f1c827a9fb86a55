/**
 * Ready-to-copy pull commands for a tag or digest, with the TLS flags a plain-HTTP registry needs.
 */
import { CopyField } from '../components/copy';

export function pullCommands(repo: string, ref: string): { label: string; text: string }[] {
  const host = location.host;
  const insecure = location.protocol === 'http:';
  const at = ref.includes(':') ? `@${ref}` : `:${ref}`;
  const image = `${host}/${repo}${at}`;
  const local = `${repo.split('/').pop() ?? 'image'}${ref.includes(':') ? '' : `:${ref}`}`;
  return [
    { label: 'docker pull', text: `docker pull ${image}` },
    { label: 'podman pull', text: `podman pull${insecure ? ' --tls-verify=false' : ''} ${image}` },
    { label: 'skopeo copy', text: `skopeo copy${insecure ? ' --src-tls-verify=false' : ''} docker://${image} oci:./${local.replace(/:.*$/, '')}${ref.includes(':') ? '' : `:${ref}`}` },
  ];
}

export function PullCommands({ repo, reference }: { repo: string; reference: string }) {
  return (
    <div className="pull-commands">
      {pullCommands(repo, reference).map((c) => (
        <CopyField key={c.label} label={c.label} text={c.text} />
      ))}
    </div>
  );
}
