/**
 * Signatures: `/projects/{name}/signing` (the policy), `.../signing/rotate` (a new signing
 * key), `.../signing/public-key` (what `cosign verify --key` needs), and
 * `/repositories/{repo}/manifests/{digest}/signatures` (which signatures a manifest has and
 * whether they verify).
 */
import { z } from 'zod';
import { SigningPolicyInput } from '../../signing/policy.js';
import { body, params, projectResource, repositoryResource, type ApiRoute } from '../route.js';

const time = z.string().describe('ISO 8601 time');

export const SigningPolicy = z.object({
  project: z.string(),
  verify: z.object({
    keys: z.array(z.object({ fingerprint: z.string(), type: z.string(), publicKey: z.string() })),
    certificates: z.array(z.object({ subject: z.string(), fingerprint: z.string(), notAfter: time, certificate: z.string() })),
    enforce: z.boolean(),
  }),
  signOnPush: z.boolean(),
  signingKeys: z.array(z.object({ fingerprint: z.string(), createdAt: time, retiredAt: time.nullable(), active: z.boolean() })),
});

export const PublicKey = z.object({
  project: z.string(),
  fingerprint: z.string(),
  publicKey: z.string().describe('PEM'),
  previous: z.array(z.object({ fingerprint: z.string(), publicKey: z.string(), createdAt: time })).describe('Retired keys: they still verify what they signed.'),
});

export const Signatures = z.object({
  digest: z.string(),
  signed: z.boolean(),
  verified: z.boolean(),
  coveredBy: z.string().nullable().describe('The index whose verified signature covers this manifest.'),
  signatures: z.array(
    z.object({
      format: z.enum(['cosign', 'sigstore-bundle', 'notation']),
      manifest: z.string(),
      verified: z.boolean(),
      signer: z.string().nullable().describe('Key fingerprint, or the signing certificate subject.'),
      reason: z.string(),
    }),
  ),
});

export const signingRoutes: ApiRoute[] = [
  {
    method: 'GET',
    url: '/projects/:name/signing',
    action: 'project.read',
    resource: projectResource,
    summary: "A project's signing policy: trusted keys and certificates, enforcement, sign on push, its signing keys (public parts).",
    body: null,
    query: null,
    response: SigningPolicy,
    audit: null,
    async handle(request, _reply, s) {
      return s.signing.get(params(request).name!);
    },
  },
  {
    method: 'PUT',
    url: '/projects/:name/signing',
    action: 'policies.manage',
    resource: projectResource,
    summary: "Set a project's signing policy (turning signOnPush on creates the project's signing key).",
    body: SigningPolicyInput,
    query: null,
    response: SigningPolicy,
    audit: 'signing.set',
    async handle(request, _reply, s) {
      return s.signing.set(request.principal, params(request).name!, body(SigningPolicyInput, request), request.ip);
    },
  },
  {
    method: 'POST',
    url: '/projects/:name/signing/rotate',
    action: 'policies.manage',
    resource: projectResource,
    summary: "Replace the project's signing key; the old public key stays trusted for what it signed.",
    body: null,
    query: null,
    response: SigningPolicy,
    audit: 'signing.rotate',
    async handle(request, _reply, s) {
      return s.signing.rotate(request.principal, params(request).name!, request.ip);
    },
  },
  {
    method: 'GET',
    url: '/projects/:name/signing/public-key',
    action: 'project.read',
    resource: projectResource,
    summary: "The project's public signing key (PEM), for `cosign verify --key`, and its retired keys.",
    body: null,
    query: null,
    response: PublicKey,
    audit: null,
    async handle(request, _reply, s) {
      return s.signing.publicKey(params(request).name!);
    },
  },
  {
    method: 'GET',
    url: '/repositories/:repo/manifests/:digest/signatures',
    action: 'pull',
    resource: repositoryResource,
    summary: 'The signatures of a manifest (cosign, Sigstore bundle, Notation), who made each and whether it verifies under the project policy.',
    body: null,
    query: null,
    response: Signatures,
    audit: null,
    async handle(request, _reply, s) {
      const p = params(request);
      return s.signing.signatures(p.repo!, p.digest!);
    },
  },
];
