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

/**
 * The grant action of the token an external scanner pulls with (Harbor's `scanner-pull`):
 * added by the scan job to the pull grant on the one repository it scans (main.ts). The token
 * endpoint grants repository actions only, so no account can ask for it.
 */
export const SCANNER_PULL = 'scanner-pull';

/**
 * What the manifest read gates may know of who reads (registry/read-gates.ts): one narrow
 * fact per reader a rule exempts, decided here from the principal, once per request, by the
 * permission point (RegistryAuthorizer.reader), never by a gate.
 */
export interface Reader {
  /**
   * The external scanner reading the image it is about to scan: a registry token granting
   * SCANNER_PULL on that repository. The vulnerability gate lets it through (scanning/gate.ts).
   */
  scanner: boolean;
}

/** A reader nobody singled out: reads from inside the registry, and every reader with access control off. */
export const ORDINARY_READER: Reader = { scanner: false };

/** The reader `principal` is when it reads `repo`. */
export function readerOf(principal: Principal, repo: string): Reader {
  const scanner = principal.kind === 'token' && principal.grants.some((g) => g.type === 'repository' && g.name === repo && g.actions.includes(SCANNER_PULL));
  return scanner ? { scanner } : ORDINARY_READER;
}
