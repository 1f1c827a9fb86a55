/**
 * Who is asking: resolved once per request by the authentication hook and read by the policy.
 * A registry token (JWT) carries its grants; users and robots carry what their credential
 * allows (a personal access token may narrow a user to some actions).
 */
import type { RepositoryAction } from './roles.js';

/** A grant in a registry token: the `access` claim entries of the Docker token spec. */
export interface Grant {
  type: 'repository' | 'registry';
  name: string;
  actions: string[];
}

export type Principal =
  | { kind: 'anonymous' }
  | {
      kind: 'user';
      id: number;
      name: string;
      admin: boolean;
      via: 'password' | 'session' | 'pat';
      /** A personal access token's scopes (repository actions, plus `manage` for management writes); undefined: no narrowing. */
      scopes?: ReadonlySet<string>;
      /** The personal access token's id when `via` is `pat`. */
      tokenId?: string;
    }
  | { kind: 'robot'; id: number; name: string; project: string; permissions: Record<string, RepositoryAction[]> }
  /**
   * A CI job signed in with its OIDC ID token (keyless login): the repository actions the
   * matching trust policies grant, per project, until the ID token expires. `name` is
   * `oidc:<subject>` for audit and token subjects.
   */
  | { kind: 'workload'; name: string; issuer: string; subject: string; permissions: Record<string, RepositoryAction[]>; expiresAt: number }
  /** A registry token on /v2: exactly its grants, nothing else. */
  | { kind: 'token'; subject: string; grants: Grant[] };

export const ANONYMOUS: Principal = { kind: 'anonymous' };

export function principalName(p: Principal): string {
  switch (p.kind) {
    case 'anonymous': return 'anonymous';
    case 'user': return p.name;
    case 'robot': return p.name;
    case 'workload': return p.name;
    case 'token': return p.subject;
  }
}
