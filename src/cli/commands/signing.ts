/**
 * `berth signing`: a project's signing policy over the management API — show it, set trusted
 * keys and certificates, enforcement and sign on push, rotate the project's key, print its
 * public key (for `cosign verify --key`), and list a manifest's signatures with whether each
 * verifies. Bad input is one line on stderr and a non-zero exit; nothing is changed.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { call, listAll, output } from '../client.js';

interface PolicyView {
  verify: { keys: { fingerprint: string; type: string; publicKey: string }[]; certificates: { subject: string; fingerprint: string; certificate: string }[]; enforce: boolean };
  signOnPush: boolean;
  signingKeys: { fingerprint: string; createdAt: string; retiredAt: string | null; active: boolean }[];
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

function readPem(file: string, kind: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${kind} file ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

function printPolicy(project: string, p: PolicyView, json: boolean): void {
  if (json) return output(p as unknown as Record<string, unknown>, true);
  const lines = [
    `project:       ${project}`,
    `enforce:       ${p.verify.enforce}`,
    `sign on push:  ${p.signOnPush}`,
    `trusted keys:  ${p.verify.keys.length === 0 ? '-' : ''}`,
    ...p.verify.keys.map((k) => `  ${k.fingerprint}  ${k.type}`),
    `certificates:  ${p.verify.certificates.length === 0 ? '-' : ''}`,
    ...p.verify.certificates.map((c) => `  ${c.fingerprint}  ${c.subject}`),
    `signing keys:  ${p.signingKeys.length === 0 ? '-' : ''}`,
    ...p.signingKeys.map((k) => `  ${k.fingerprint}  ${k.active ? 'active' : `retired ${k.retiredAt}`}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

/** `repo:tag` or `repo@sha256:...` -> repository and digest. */
async function resolveImage(ref: string): Promise<{ repo: string; digest: string }> {
  const at = ref.indexOf('@');
  if (at > 0) return { repo: ref.slice(0, at), digest: ref.slice(at + 1) };
  const colon = ref.lastIndexOf(':');
  if (colon <= 0 || ref.slice(colon).includes('/')) throw new Error(`give an image as repository:tag or repository@digest, not ${JSON.stringify(ref)}`);
  const repo = ref.slice(0, colon);
  const tag = ref.slice(colon + 1);
  const found = (await listAll(`/repositories/${encodeURIComponent(repo)}/tags`)).find((t: { name: string }) => t.name === tag);
  if (!found) throw new Error(`tag ${tag} does not exist in ${repo}`);
  return { repo, digest: found.digest };
}

export function registerSigningCommands(program: Command): void {
  const signing = program.command('signing').description("a project's signing policy, its signing key, and the signatures of an image");

  signing
    .command('show <project>')
    .description("show a project's signing policy")
    .option('--json', 'print JSON')
    .action(async (project: string, opts: { json?: boolean }) => {
      printPolicy(project, await call('GET', `/projects/${encodeURIComponent(project)}/signing`), opts.json === true);
    });

  signing
    .command('set <project>')
    .description('change the signing policy (options not given keep their current value)')
    .option('--key <file>', 'trust this PEM public key (repeatable; replaces the trusted keys)', collect)
    .option('--add-key <file>', 'trust this PEM public key too (repeatable)', collect)
    .option('--remove-key <fingerprint>', 'stop trusting the key with this fingerprint (repeatable)', collect)
    .option('--certificate <file>', 'trust this PEM certificate for Notation signatures (repeatable; replaces them)', collect)
    .option('--enforce', 'refuse pulls of images no trusted signature covers')
    .option('--no-enforce', 'serve unsigned images')
    .option('--sign-on-push', "sign every pushed image with the project's key")
    .option('--no-sign-on-push', 'stop signing pushed images')
    .option('--json', 'print JSON')
    .action(async (project: string, opts: { key?: string[]; addKey?: string[]; removeKey?: string[]; certificate?: string[]; enforce?: boolean; signOnPush?: boolean; json?: boolean }) => {
      const path = `/projects/${encodeURIComponent(project)}/signing`;
      const current = (await call('GET', path)) as PolicyView;
      let keys = opts.key ? opts.key.map((f) => readPem(f, 'key')) : current.verify.keys.map((k) => k.publicKey);
      for (const f of opts.addKey ?? []) keys.push(readPem(f, 'key'));
      if (opts.removeKey) {
        const unknown = opts.removeKey.filter((fp) => !current.verify.keys.some((k) => k.fingerprint === fp));
        if (unknown.length > 0) throw new Error(`project ${project} trusts no key ${unknown.join(', ')}`);
        const drop = new Set(current.verify.keys.filter((k) => opts.removeKey!.includes(k.fingerprint)).map((k) => k.publicKey));
        keys = keys.filter((k) => !drop.has(k));
      }
      const certificates = opts.certificate ? opts.certificate.map((f) => readPem(f, 'certificate')) : current.verify.certificates.map((c) => c.certificate);
      const body = {
        verify: { keys, certificates, enforce: opts.enforce ?? current.verify.enforce },
        signOnPush: opts.signOnPush ?? current.signOnPush,
      };
      printPolicy(project, await call('PUT', path, body), opts.json === true);
    });

  signing
    .command('rotate <project>')
    .description("replace the project's signing key (the old public key keeps verifying what it signed)")
    .option('--json', 'print JSON')
    .action(async (project: string, opts: { json?: boolean }) => {
      printPolicy(project, await call('POST', `/projects/${encodeURIComponent(project)}/signing/rotate`), opts.json === true);
    });

  signing
    .command('public-key <project>')
    .description("print the project's public signing key (PEM), for `cosign verify --key`")
    .option('--all', 'also print the retired keys')
    .action(async (project: string, opts: { all?: boolean }) => {
      const k = await call('GET', `/projects/${encodeURIComponent(project)}/signing/public-key`);
      process.stdout.write(k.publicKey);
      if (opts.all) for (const p of k.previous as { publicKey: string }[]) process.stdout.write(p.publicKey);
    });

  signing
    .command('verify <image>')
    .description('list the signatures of repository:tag or repository@digest and whether each verifies; exits 1 when none does')
    .option('--json', 'print JSON')
    .action(async (image: string, opts: { json?: boolean }) => {
      const { repo, digest } = await resolveImage(image);
      const v = await call('GET', `/repositories/${encodeURIComponent(repo)}/manifests/${encodeURIComponent(digest)}/signatures`);
      if (opts.json) output(v, true);
      else {
        process.stdout.write(`${repo}@${digest}: ${v.verified ? 'verified' : v.signed ? 'signed, not verified' : 'not signed'}${v.coveredBy ? ` (through index ${v.coveredBy})` : ''}\n`);
        if (v.signatures.length > 0) output(v.signatures, false, ['format', 'verified', 'signer', 'reason']);
      }
      if (!v.verified) process.exitCode = 1;
    });
}
