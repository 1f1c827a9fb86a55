/**
 * A CI system's OIDC issuer on loopback, for workload identity tests: it serves a discovery
 * document and a JWKS over real HTTP, signs ID tokens with the claims a GitLab CI or GitHub
 * Actions job gets, and rotates its key (the JWKS then lists only the new key), as
 * gitlab.com and token.actions.githubusercontent.com do. It counts JWKS fetches so a test
 * can see the verifier fetch again on an unknown key id, and nothing else.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK, type JWTPayload } from 'jose';

export interface TestIssuer {
  issuer: string;
  /** Signs an ID token: `iss` is this issuer unless `claims.iss` says otherwise; `exp` in `ttlSeconds` (negative: expired). */
  mint(claims: JWTPayload, opts?: { ttlSeconds?: number; alg?: string }): Promise<string>;
  /** A new key: later tokens carry its kid and the JWKS lists only it. */
  rotate(): Promise<void>;
  /** The current public key as a JWK and as SPKI PEM (to forge an HS256 token "signed" with it). */
  publicKey(): Promise<{ jwk: JWK; pem: string }>;
  jwksFetches: number;
  close(): Promise<void>;
}

interface Key {
  kid: string;
  privateKey: CryptoKey;
  publicJwk: JWK;
  publicKey: CryptoKey;
}

async function newKey(): Promise<Key> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomUUID();
  return { kid, privateKey, publicKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

export async function startIssuer(): Promise<TestIssuer> {
  let key = await newKey();
  let server: Server;
  const state = { jwksFetches: 0 };
  server = createServer((req, res) => {
    if (req.url === '/.well-known/openid-configuration') {
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ issuer, jwks_uri: `${issuer}/oauth/discovery/keys`, id_token_signing_alg_values_supported: ['RS256'], response_types_supported: ['id_token'], subject_types_supported: ['public'] }));
    } else if (req.url === '/oauth/discovery/keys') {
      state.jwksFetches++;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ keys: [key.publicJwk] }));
    } else {
      res.statusCode = 404;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    issuer,
    get jwksFetches() {
      return state.jwksFetches;
    },
    set jwksFetches(v: number) {
      state.jwksFetches = v;
    },
    async mint(claims, opts = {}) {
      const now = Math.floor(Date.now() / 1000);
      const ttl = opts.ttlSeconds ?? 300;
      return new SignJWT({ iss: issuer, iat: ttl < 0 ? now + ttl - 60 : now, nbf: ttl < 0 ? now + ttl - 60 : now, exp: now + ttl, jti: randomUUID(), ...claims })
        .setProtectedHeader({ alg: opts.alg ?? 'RS256', kid: key.kid, typ: 'JWT' })
        .sign(key.privateKey);
    },
    async rotate() {
      key = await newKey();
    },
    async publicKey() {
      const { exportSPKI } = await import('jose');
      return { jwk: key.publicJwk, pem: await exportSPKI(key.publicKey) };
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** The claims of a GitLab CI job's ID token (`id_tokens:` with `aud`), as GitLab documents them. */
export function gitlabClaims(o: { aud: string; projectPath: string; ref?: string; protectedRef?: boolean; pipelineSource?: string }): JWTPayload {
  const ref = o.ref ?? 'main';
  return {
    aud: o.aud,
    sub: `project_path:${o.projectPath}:ref_type:branch:ref:${ref}`,
    namespace_id: '72',
    namespace_path: o.projectPath.split('/')[0],
    project_id: '20',
    project_path: o.projectPath,
    user_id: '5',
    user_login: 'ci-user',
    user_email: 'ci-user@example.com',
    pipeline_id: '1212',
    pipeline_source: o.pipelineSource ?? 'push',
    job_id: '3131',
    ref,
    ref_type: 'branch',
    ref_path: `refs/heads/${ref}`,
    ref_protected: String(o.protectedRef ?? true),
    runner_id: 1,
    runner_environment: 'self-hosted',
  };
}

/** The claims of a GitHub Actions job's OIDC token, as GitHub documents them. */
export function githubClaims(o: { aud: string; repository: string; ref?: string; event?: string }): JWTPayload {
  const ref = o.ref ?? 'refs/heads/main';
  return {
    aud: o.aud,
    sub: `repo:${o.repository}:ref:${ref}`,
    ref,
    ref_type: 'branch',
    sha: 'a'.repeat(40),
    repository: o.repository,
    repository_owner: o.repository.split('/')[0],
    repository_id: '74',
    run_id: '5',
    run_number: '1',
    run_attempt: '1',
    actor: 'octocat',
    workflow: 'build',
    workflow_ref: `${o.repository}/.github/workflows/build.yml@${ref}`,
    event_name: o.event ?? 'push',
    job_workflow_ref: `${o.repository}/.github/workflows/build.yml@${ref}`,
    runner_environment: 'github-hosted',
  };
}
