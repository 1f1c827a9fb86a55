/**
 * The /api/v1 operations, generated from the OpenAPI document (src/api/openapi.ts, built
 * from the route table) by scripts/gen-api-types.mjs. Do not edit: run `npm run gen:api`.
 */
/* eslint-disable */

export interface ApiPaths {
  "/auth/login": {
    post: {
      params: Record<string, never>;
      query: Record<string, never>;
      body: {
        username: string;
        password: string;
      };
      response: {
        user: {
          name: string;
          admin: boolean;
        };
        csrfToken: string;
      };
    };
  };
  "/auth/logout": {
    post: {
      params: Record<string, never>;
      query: Record<string, never>;
      body: undefined;
      response: undefined;
    };
  };
  "/auth/me": {
    get: {
      params: Record<string, never>;
      query: Record<string, never>;
      body: undefined;
      response: {
        user: {
          name: string;
          admin: boolean;
        } | null;
        csrfToken: string | null;
        signedIn: boolean;
      };
    };
  };
  "/auth/providers": {
    get: {
      params: Record<string, never>;
      query: Record<string, never>;
      body: undefined;
      response: {
        oidc: {
          label: string;
          loginUrl: string;
        } | null;
      };
    };
  };
  "/auth/oidc/login": {
    get: {
      params: Record<string, never>;
      query: { next?: string | number | null };
      body: undefined;
      response: undefined;
    };
  };
  "/auth/oidc/device": {
    post: {
      params: Record<string, never>;
      query: Record<string, never>;
      body: undefined;
      response: {
        deviceCode: string;
        userCode: string;
        verificationUri: string;
        verificationUriComplete: string | null;
        interval: number;
        expiresIn: number;
      };
    };
  };
  "/auth/oidc/device/token": {
    post: {
      params: Record<string, never>;
      query: Record<string, never>;
      body: {
        deviceCode: string;
        userCode: string;
        verificationUri: string;
        interval: number;
        expiresIn: number;
        tokenName?: string;
        expiresInDays?: number;
      };
      response: {
        pending: boolean;
        user: string | null;
        token: string | null;
        id: string | null;
        expiresAt: string | null;
      };
    };
  };
  "/auth/oidc/callback": {
    get: {
      params: Record<string, never>;
      query: { code?: string | number | null; state?: string | number | null; iss?: string | number | null; error?: string | number | null; error_description?: string | number | null; session_state?: string | number | null };
      body: undefined;
      response: undefined;
    };
  };
  "/projects": {
    get: {
      params: Record<string, never>;
      query: { limit?: string | number | null; cursor?: string | number | null };
      body: undefined;
      response: {
        items: {
          name: string;
          public: boolean;
          repositoryCount: number;
          storageBytes: number;
          quotaBytes: number | null;
          role: ("admin" | "maintainer" | "developer" | "guest") | null;
          createdAt: string;
        }[];
        next: string | null;
      };
    };
    post: {
      params: Record<string, never>;
      query: Record<string, never>;
      body: {
        name: string;
        public?: boolean;
      };
      response: {
        name: string;
        public: boolean;
        repositoryCount: number;
        storageBytes: number;
        quotaBytes: number | null;
        role: ("admin" | "maintainer" | "developer" | "guest") | null;
        createdAt: string;
      };
    };
  };
  "/projects/{name}": {
    get: {
      params: { name: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        name: string;
        public: boolean;
        repositoryCount: number;
        storageBytes: number;
        quotaBytes: number | null;
        role: ("admin" | "maintainer" | "developer" | "guest") | null;
        createdAt: string;
      };
    };
    patch: {
      params: { name: string };
      query: Record<string, never>;
      body: {
        public?: boolean;
      };
      response: {
        name: string;
        public: boolean;
        repositoryCount: number;
        storageBytes: number;
        quotaBytes: number | null;
        role: ("admin" | "maintainer" | "developer" | "guest") | null;
        createdAt: string;
      };
    };
    delete: {
      params: { name: string };
      query: Record<string, never>;
      body: undefined;
      response: undefined;
    };
  };
  "/projects/{name}/members": {
    get: {
      params: { name: string };
      query: { limit?: string | number | null; cursor?: string | number | null };
      body: undefined;
      response: {
        items: {
          user: string;
          role: "admin" | "maintainer" | "developer" | "guest";
        }[];
        next: string | null;
      };
    };
  };
  "/projects/{name}/members/{user}": {
    put: {
      params: { name: string; user: string };
      query: Record<string, never>;
      body: {
        role: "guest" | "developer" | "maintainer" | "admin";
      };
      response: {
        user: string;
        role: "admin" | "maintainer" | "developer" | "guest";
      };
    };
    delete: {
      params: { name: string; user: string };
      query: Record<string, never>;
      body: undefined;
      response: undefined;
    };
  };
  "/projects/{name}/robots": {
    get: {
      params: { name: string };
      query: { limit?: string | number | null; cursor?: string | number | null };
      body: undefined;
      response: {
        items: {
          name: string;
          permissions: string[];
          expiresAt: string | null;
          lastUsedAt: string | null;
          createdAt: string;
        }[];
        next: string | null;
      };
    };
    post: {
      params: { name: string };
      query: Record<string, never>;
      body: {
        name: string;
        permissions: string[];
        expiresInDays?: number;
      };
      response: {
        name: string;
        secret: string;
        permissions: string[];
        expiresAt: string | null;
      };
    };
  };
  "/projects/{name}/robots/{robot}": {
    delete: {
      params: { name: string; robot: string };
      query: Record<string, never>;
      body: undefined;
      response: undefined;
    };
  };
  "/projects/{name}/trust-policies": {
    get: {
      params: { name: string };
      query: { limit?: string | number | null; cursor?: string | number | null };
      body: undefined;
      response: {
        items: {
          id: number;
          issuer: string;
          audience: string;
          claims: Record<string, string>;
          permissions: string[];
          createdBy: string;
          createdAt: string;
        }[];
        next: string | null;
      };
    };
    post: {
      params: { name: string };
      query: Record<string, never>;
      body: {
        issuer: string;
        audience: string;
        claims: Record<string, string>;
        permissions: string[];
      };
      response: {
        id: number;
        issuer: string;
        audience: string;
        claims: Record<string, string>;
        permissions: string[];
        createdBy: string;
        createdAt: string;
      };
    };
  };
  "/projects/{name}/trust-policies/{id}": {
    delete: {
      params: { name: string; id: string };
      query: Record<string, never>;
      body: undefined;
      response: undefined;
    };
  };
  "/projects/{name}/group-mappings": {
    get: {
      params: { name: string };
      query: { limit?: string | number | null; cursor?: string | number | null };
      body: undefined;
      response: {
        items: {
          group: string;
          role: "admin" | "maintainer" | "developer" | "guest";
          admin: boolean;
        }[];
        next: string | null;
      };
    };
  };
  "/users": {
    get: {
      params: Record<string, never>;
      query: { limit?: string | number | null; cursor?: string | number | null };
      body: undefined;
      response: {
        items: {
          name: string;
          admin: boolean;
          disabled: boolean;
          createdAt: string;
        }[];
        next: string | null;
      };
    };
    post: {
      params: Record<string, never>;
      query: Record<string, never>;
      body: {
        name: string;
        password: string;
        admin?: boolean;
      };
      response: {
        name: string;
        admin: boolean;
        disabled: boolean;
        createdAt: string;
      };
    };
  };
  "/users/{name}": {
    patch: {
      params: { name: string };
      query: Record<string, never>;
      body: {
        password?: string;
        currentPassword?: string;
        disabled?: boolean;
        admin?: boolean;
      };
      response: {
        name: string;
        admin: boolean;
        disabled: boolean;
        createdAt: string;
      };
    };
    delete: {
      params: { name: string };
      query: Record<string, never>;
      body: undefined;
      response: undefined;
    };
  };
  "/users/{name}/tokens": {
    get: {
      params: { name: string };
      query: { limit?: string | number | null; cursor?: string | number | null };
      body: undefined;
      response: {
        items: {
          id: string;
          name: string;
          scopes: string[] | null;
          expiresAt: string | null;
          lastUsedAt: string | null;
          createdAt: string;
        }[];
        next: string | null;
      };
    };
    post: {
      params: { name: string };
      query: Record<string, never>;
      body: {
        name: string;
        scopes?: string[];
        expiresInDays?: number;
      };
      response: {
        id: string;
        name: string;
        token: string;
        scopes: string[];
        expiresAt: string | null;
      };
    };
  };
  "/users/{name}/tokens/{id}": {
    delete: {
      params: { name: string; id: string };
      query: Record<string, never>;
      body: undefined;
      response: undefined;
    };
  };
  "/repositories": {
    get: {
      params: Record<string, never>;
      query: { project?: string | number | null; q?: string | number | null; limit?: string | number | null; cursor?: string | number | null };
      body: undefined;
      response: {
        items: {
          name: string;
          project: string;
          tagCount: number;
          manifestCount: number;
          sizeBytes: number;
          pushedAt: string | null;
          pulledAt: string | null;
        }[];
        next: string | null;
      };
    };
  };
  "/repositories/{repo}": {
    get: {
      params: { repo: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        name: string;
        project: string;
        tagCount: number;
        sizeBytes: number;
        permissions: string[];
      };
    };
  };
  "/repositories/{repo}/tags": {
    get: {
      params: { repo: string };
      query: { q?: string | number | null; limit?: string | number | null; cursor?: string | number | null };
      body: undefined;
      response: {
        items: {
          name: string;
          digest: string;
          mediaType: string;
          size: number;
          platforms: {
            os?: string;
            architecture?: string;
            variant?: string;
          }[];
          pushedAt: string | null;
          pulledAt: string | null;
        }[];
        next: string | null;
      };
    };
  };
  "/repositories/{repo}/tags/{tag}": {
    delete: {
      params: { repo: string; tag: string };
      query: Record<string, never>;
      body: undefined;
      response: undefined;
    };
  };
  "/repositories/{repo}/manifests/{digest}": {
    get: {
      params: { repo: string; digest: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        digest: string;
        mediaType: string;
        artifactType: string | null;
        size: number;
        totalSize: number;
        tags: string[];
        manifest: Record<string, unknown>;
        config: Record<string, unknown> | null;
        layers: {
          digest: string;
          mediaType: string;
          size: number;
        }[];
        children: {
          digest: string;
          mediaType: string;
          size: number;
          platform?: {
            os?: string;
            architecture?: string;
            variant?: string;
          } | null;
        }[];
        referrers: {
          digest: string;
          mediaType: string;
          size: number;
          artifactType: string | null;
          annotations?: Record<string, string> | null;
        }[];
      };
    };
    delete: {
      params: { repo: string; digest: string };
      query: Record<string, never>;
      body: undefined;
      response: undefined;
    };
  };
  "/audit": {
    get: {
      params: Record<string, never>;
      query: { project?: string | number | null; user?: string | number | null; action?: string | number | null; since?: string | number | null; until?: string | number | null; limit?: string | number | null; cursor?: string | number | null };
      body: undefined;
      response: {
        items: {
          id: number;
          at: string;
          actor: string;
          action: string;
          resource: string;
          project: string | null;
          result: "success" | "failure";
          sourceAddress: string | null;
          detail: unknown;
        }[];
        next: string | null;
      };
    };
  };
  "/system/signing-keys/rotate": {
    post: {
      params: Record<string, never>;
      query: Record<string, never>;
      body: undefined;
      response: {
        kid: string;
      };
    };
  };
  "/system/read-only": {
    get: {
      params: Record<string, never>;
      query: Record<string, never>;
      body: undefined;
      response: {
        enabled: boolean;
        reason: string;
        source: "config" | "switch";
        changedBy?: string;
        changedAt?: number;
      };
    };
    post: {
      params: Record<string, never>;
      query: Record<string, never>;
      body: {
        enabled: boolean;
        reason?: string;
      };
      response: {
        enabled: boolean;
        reason: string;
        source: "config" | "switch";
        changedBy?: string;
        changedAt?: number;
      };
    };
  };
  "/projects/{name}/retention": {
    get: {
      params: { name: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        project: string;
        policy: Record<string, unknown> | null;
        next?: string | null;
      };
    };
    put: {
      params: { name: string };
      query: Record<string, never>;
      body: {
        rules?: {
          repositories?: string[];
          tags?: string[];
          excludeTags?: string[];
          keep: {
            kind: "lastPushed";
            count: number;
          } | {
            kind: "pulledWithinDays";
            days: number;
          } | {
            kind: "pushedWithinDays";
            days: number;
          } | {
            kind: "all";
          };
        }[];
        protect?: {
          repositories?: string[];
          tags?: string[];
        }[];
        untagged?: "default" | "keep" | "remove";
        trashDays?: number;
        schedule?: string | null;
      };
      response: {
        project: string;
        policy: Record<string, unknown> | null;
        next?: string | null;
      };
    };
    delete: {
      params: { name: string };
      query: Record<string, never>;
      body: undefined;
      response: undefined;
    };
  };
  "/projects/{name}/retention/runs": {
    post: {
      params: { name: string };
      query: Record<string, never>;
      body: {
        dryRun?: boolean;
      };
      response: {
        runId: number;
        project: string;
        dryRun: boolean;
        startedAt: string;
        finishedAt: string;
        restorableUntil: string | null;
        tags: {
          repository: string;
          tag: string;
          digest: string;
        }[];
        untagged: {
          repository: string;
          digest: string;
        }[];
        retained: number;
      };
    };
  };
  "/projects/{name}/immutability": {
    get: {
      params: { name: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        project: string;
        rules: Record<string, unknown>[];
      };
    };
    put: {
      params: { name: string };
      query: Record<string, never>;
      body: {
        rules?: {
          name: string;
          repositories?: string[];
          tags: string[];
        }[];
      };
      response: {
        project: string;
        rules: Record<string, unknown>[];
      };
    };
    delete: {
      params: { name: string };
      query: Record<string, never>;
      body: undefined;
      response: undefined;
    };
  };
  "/projects/{name}/quota": {
    get: {
      params: { name: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        project: string;
        quota: {
          bytes: number | null;
          repositories: number | null;
          tags: number | null;
        } | null;
        usage: {
          bytes: number;
          blobBytes: number;
          manifestBytes: number;
          blobs: number;
          manifests: number;
          repositories: number;
          tags: number;
          uploadBytes: number;
        };
      };
    };
    put: {
      params: { name: string };
      query: Record<string, never>;
      body: {
        bytes?: number | null;
        repositories?: number | null;
        tags?: number | null;
      };
      response: {
        project: string;
        quota: {
          bytes: number | null;
          repositories: number | null;
          tags: number | null;
        } | null;
        usage: {
          bytes: number;
          blobBytes: number;
          manifestBytes: number;
          blobs: number;
          manifests: number;
          repositories: number;
          tags: number;
          uploadBytes: number;
        };
      };
    };
    delete: {
      params: { name: string };
      query: Record<string, never>;
      body: undefined;
      response: undefined;
    };
  };
  "/projects/{name}/usage": {
    get: {
      params: { name: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        project: string;
        quota: {
          bytes: number | null;
          repositories: number | null;
          tags: number | null;
        } | null;
        usage: {
          bytes: number;
          blobBytes: number;
          manifestBytes: number;
          blobs: number;
          manifests: number;
          repositories: number;
          tags: number;
          uploadBytes: number;
        };
        repositories: {
          bytes: number;
          blobBytes: number;
          manifestBytes: number;
          blobs: number;
          manifests: number;
          repositories: number;
          tags: number;
          uploadBytes: number;
          name: string;
        }[];
      };
    };
  };
  "/gc": {
    post: {
      params: Record<string, never>;
      query: Record<string, never>;
      body: {
        dryRun?: boolean;
        graceSeconds?: number;
      };
      response: {
        id: number;
        trigger: string;
        dryRun: boolean;
        status: "running" | "succeeded" | "failed";
        startedAt: string;
        finishedAt: string | null;
        progress: {
          phase: string;
          done: number;
          total: number;
        } | null;
        result: Record<string, unknown> | null;
        error: string | null;
      };
    };
    get: {
      params: Record<string, never>;
      query: { limit?: string | number | null; cursor?: string | number | null };
      body: undefined;
      response: {
        items: {
          id: number;
          trigger: string;
          dryRun: boolean;
          status: "running" | "succeeded" | "failed";
          startedAt: string;
          finishedAt: string | null;
          progress: {
            phase: string;
            done: number;
            total: number;
          } | null;
          result: Record<string, unknown> | null;
          error: string | null;
        }[];
        next: string | null;
        schedule: string | null;
      };
    };
  };
  "/gc/{id}": {
    get: {
      params: { id: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        id: number;
        trigger: string;
        dryRun: boolean;
        status: "running" | "succeeded" | "failed";
        startedAt: string;
        finishedAt: string | null;
        progress: {
          phase: string;
          done: number;
          total: number;
        } | null;
        result: Record<string, unknown> | null;
        error: string | null;
      };
    };
  };
  "/retention/runs": {
    get: {
      params: Record<string, never>;
      query: { project?: string | number | null; limit?: string | number | null; cursor?: string | number | null };
      body: undefined;
      response: {
        items: {
          id: number;
          project: string;
          trigger: string;
          dryRun: boolean;
          status: string;
          startedAt: string;
          finishedAt: string | null;
          result: unknown;
          error: string | null;
        }[];
        next: string | null;
      };
    };
  };
  "/trash": {
    get: {
      params: Record<string, never>;
      query: { project?: string | number | null; runId?: string | number | null; limit?: string | number | null; cursor?: string | number | null };
      body: undefined;
      response: {
        items: {
          id: number;
          runId: number;
          project: string;
          repository: string;
          tag: string | null;
          digest: string;
          removedAt: string;
          expiresAt: string;
          restoredAt: string | null;
        }[];
        next: string | null;
      };
    };
  };
  "/trash/restore": {
    post: {
      params: Record<string, never>;
      query: { project?: string | number | null };
      body: {
        ids?: number[];
        runId?: number;
        project?: string;
      };
      response: {
        restored: {
          id: number;
          runId: number;
          project: string;
          repository: string;
          tag: string | null;
          digest: string;
          removedAt: string;
          expiresAt: string;
          restoredAt: string | null;
        }[];
        skipped: {
          entry: {
            id: number;
            runId: number;
            project: string;
            repository: string;
            tag: string | null;
            digest: string;
            removedAt: string;
            expiresAt: string;
            restoredAt: string | null;
          };
          reason: string;
        }[];
      };
    };
  };
  "/usage": {
    get: {
      params: Record<string, never>;
      query: { limit?: string | number | null; cursor?: string | number | null };
      body: undefined;
      response: {
        items: {
          project: string;
          usage: {
            bytes: number;
            blobBytes: number;
            manifestBytes: number;
            blobs: number;
            manifests: number;
            repositories: number;
            tags: number;
            uploadBytes: number;
          };
          quota: {
            bytes: number | null;
            repositories: number | null;
            tags: number | null;
          } | null;
        }[];
        next: string | null;
      };
    };
  };
  "/projects/{name}/security": {
    get: {
      params: { name: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        project: string;
        policy: {
          blockSeverity: "none" | "low" | "medium" | "high" | "critical";
          blockUnscanned: boolean;
          allowlist: {
            id: string;
            expires?: string | string;
          }[];
        } | null;
        effective: {
          blockSeverity: "none" | "low" | "medium" | "high" | "critical";
          blockUnscanned: boolean;
          allowlist: {
            id: string;
            expires?: string | string;
          }[];
        };
        inherited: boolean;
      };
    };
    put: {
      params: { name: string };
      query: Record<string, never>;
      body: {
        blockSeverity?: "none" | "low" | "medium" | "high" | "critical";
        blockUnscanned?: boolean;
        allowlist?: {
          id: string;
          expires?: string | string;
        }[];
      };
      response: {
        project: string;
        policy: {
          blockSeverity: "none" | "low" | "medium" | "high" | "critical";
          blockUnscanned: boolean;
          allowlist: {
            id: string;
            expires?: string | string;
          }[];
        } | null;
        effective: {
          blockSeverity: "none" | "low" | "medium" | "high" | "critical";
          blockUnscanned: boolean;
          allowlist: {
            id: string;
            expires?: string | string;
          }[];
        };
        inherited: boolean;
      };
    };
    delete: {
      params: { name: string };
      query: Record<string, never>;
      body: undefined;
      response: undefined;
    };
  };
  "/security/default": {
    get: {
      params: Record<string, never>;
      query: Record<string, never>;
      body: undefined;
      response: {
        project: string;
        policy: {
          blockSeverity: "none" | "low" | "medium" | "high" | "critical";
          blockUnscanned: boolean;
          allowlist: {
            id: string;
            expires?: string | string;
          }[];
        } | null;
        effective: {
          blockSeverity: "none" | "low" | "medium" | "high" | "critical";
          blockUnscanned: boolean;
          allowlist: {
            id: string;
            expires?: string | string;
          }[];
        };
        inherited: boolean;
      };
    };
    put: {
      params: Record<string, never>;
      query: Record<string, never>;
      body: {
        blockSeverity?: "none" | "low" | "medium" | "high" | "critical";
        blockUnscanned?: boolean;
        allowlist?: {
          id: string;
          expires?: string | string;
        }[];
      };
      response: {
        project: string;
        policy: {
          blockSeverity: "none" | "low" | "medium" | "high" | "critical";
          blockUnscanned: boolean;
          allowlist: {
            id: string;
            expires?: string | string;
          }[];
        } | null;
        effective: {
          blockSeverity: "none" | "low" | "medium" | "high" | "critical";
          blockUnscanned: boolean;
          allowlist: {
            id: string;
            expires?: string | string;
          }[];
        };
        inherited: boolean;
      };
    };
  };
  "/vulnerability-db": {
    get: {
      params: Record<string, never>;
      query: Record<string, never>;
      body: undefined;
      response: {
        version: string | null;
        updatedAt: number | null;
        advisories: number;
      };
    };
    post: {
      params: Record<string, never>;
      query: Record<string, never>;
      body: undefined;
      response: {
        imported: number;
        version: string;
      };
    };
  };
  "/vulnerability-db/rescan": {
    post: {
      params: Record<string, never>;
      query: Record<string, never>;
      body: undefined;
      response: {
        queued: boolean;
      };
    };
  };
  "/repositories/{repo}/manifests/{digest}/vulnerabilities": {
    get: {
      params: { repo: string; digest: string };
      query: { severity?: string | number | null; fixed?: string | number | null; package?: string | number | null };
      body: undefined;
      response: {
        status: "unscanned" | "pending" | "running" | "done" | "failed" | "unsupported";
        scanner: string | null;
        reason: string | null;
        scannedAt: number | null;
        database: {
          version: string | null;
          updatedAt: number | null;
          advisories: number;
        };
        summary: Record<string, number>;
        vulnerabilities: {
          id: string;
          aliases: string[];
          summary: string;
          package: string;
          ecosystem: string;
          installedVersion: string;
          fixedVersion: string | null;
          severity: "unknown" | "low" | "medium" | "high" | "critical";
          cvss: {
            score: number;
            vector: string;
          } | null;
        }[];
        manifests?: {
          digest: string;
          status: string;
        }[];
      };
    };
  };
  "/repositories/{repo}/manifests/{digest}/sbom": {
    get: {
      params: { repo: string; digest: string };
      query: { format?: string | number | null };
      body: undefined;
      response: Record<string, unknown>;
    };
  };
  "/repositories/{repo}/manifests/{digest}/scan": {
    post: {
      params: { repo: string; digest: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        queued: boolean;
      };
    };
  };
  "/vulnerabilities/search": {
    get: {
      params: Record<string, never>;
      query: { id?: string | number | null; package?: string | number | null };
      body: undefined;
      response: {
        results: {
          repository: string;
          digest: string;
          tags: string[];
          id: string;
          packages: string[];
          severity: string;
        }[];
      };
    };
  };
  "/scanners": {
    get: {
      params: Record<string, never>;
      query: Record<string, never>;
      body: undefined;
      response: {
        scanners: {
          name: string;
          url: string;
          registryUrl: string;
          hasAuthorization: boolean;
          default: boolean;
          createdAt: number;
          updatedAt: number;
        }[];
      };
    };
  };
  "/scanners/{scanner}": {
    put: {
      params: { scanner: string };
      query: Record<string, never>;
      body: {
        url: string;
        authorization?: string | null;
        registryUrl: string;
        default?: boolean;
      };
      response: {
        scanner: {
          name: string;
          url: string;
          registryUrl: string;
          hasAuthorization: boolean;
          default: boolean;
          createdAt: number;
          updatedAt: number;
        };
        metadata: Record<string, unknown>;
      };
    };
    delete: {
      params: { scanner: string };
      query: Record<string, never>;
      body: undefined;
      response: undefined;
    };
  };
  "/projects/{name}/signing": {
    get: {
      params: { name: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        project: string;
        verify: {
          keys: {
            fingerprint: string;
            type: string;
            publicKey: string;
          }[];
          certificates: {
            subject: string;
            fingerprint: string;
            notAfter: string;
            certificate: string;
          }[];
          enforce: boolean;
        };
        signOnPush: boolean;
        signingKeys: {
          fingerprint: string;
          createdAt: string;
          retiredAt: string | null;
          active: boolean;
        }[];
      };
    };
    put: {
      params: { name: string };
      query: Record<string, never>;
      body: {
        verify?: {
          keys?: string[];
          certificates?: string[];
          enforce?: boolean;
        };
        signOnPush?: boolean;
      };
      response: {
        project: string;
        verify: {
          keys: {
            fingerprint: string;
            type: string;
            publicKey: string;
          }[];
          certificates: {
            subject: string;
            fingerprint: string;
            notAfter: string;
            certificate: string;
          }[];
          enforce: boolean;
        };
        signOnPush: boolean;
        signingKeys: {
          fingerprint: string;
          createdAt: string;
          retiredAt: string | null;
          active: boolean;
        }[];
      };
    };
  };
  "/projects/{name}/signing/rotate": {
    post: {
      params: { name: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        project: string;
        verify: {
          keys: {
            fingerprint: string;
            type: string;
            publicKey: string;
          }[];
          certificates: {
            subject: string;
            fingerprint: string;
            notAfter: string;
            certificate: string;
          }[];
          enforce: boolean;
        };
        signOnPush: boolean;
        signingKeys: {
          fingerprint: string;
          createdAt: string;
          retiredAt: string | null;
          active: boolean;
        }[];
      };
    };
  };
  "/projects/{name}/signing/public-key": {
    get: {
      params: { name: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        project: string;
        fingerprint: string;
        publicKey: string;
        previous: {
          fingerprint: string;
          publicKey: string;
          createdAt: string;
        }[];
      };
    };
  };
  "/repositories/{repo}/manifests/{digest}/signatures": {
    get: {
      params: { repo: string; digest: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        digest: string;
        signed: boolean;
        verified: boolean;
        coveredBy: string | null;
        signatures: {
          format: "cosign" | "sigstore-bundle" | "notation";
          manifest: string;
          verified: boolean;
          signer: string | null;
          reason: string;
        }[];
      };
    };
  };
  "/proxies": {
    get: {
      params: Record<string, never>;
      query: { limit?: string | number | null; cursor?: string | number | null };
      body: undefined;
      response: {
        items: {
          name: string;
          source: "config" | "api";
          url: string;
          mirrorOf: string[];
          defaultMirror: boolean;
          username: string;
          hasPassword: boolean;
          tagTtlSeconds: number;
          cacheMaxAgeDays: number;
          cacheMaxBytes: number;
          health: {
            up: boolean;
            lastError: string | null;
            retryAt: string | null;
            consecutiveFailures: number;
          };
          cache: {
            bytes: number;
            blobs: number;
            manifests: number;
          };
          stats: {
            upstreamRequests: number;
            manifestHits: number;
            manifestMisses: number;
            blobHits: number;
            blobMisses: number;
            staleServed: number;
            tagsChanged: number;
            bytesFromUpstream: number;
            bytesFromCache: number;
            verifyFailures: number;
            hitRatio: number | null;
          };
        }[];
        next: string | null;
      };
    };
    post: {
      params: Record<string, never>;
      query: Record<string, never>;
      body: {
        name: string;
        url: string;
        mirrorOf?: string[];
        username?: string;
        password?: string;
        public?: boolean;
        tagTtlSeconds?: number;
        timeoutSeconds?: number;
        cacheMaxAgeDays?: number;
        cacheMaxBytes?: number;
      };
      response: {
        name: string;
        source: "config" | "api";
        url: string;
        mirrorOf: string[];
        defaultMirror: boolean;
        username: string;
        hasPassword: boolean;
        tagTtlSeconds: number;
        cacheMaxAgeDays: number;
        cacheMaxBytes: number;
        health: {
          up: boolean;
          lastError: string | null;
          retryAt: string | null;
          consecutiveFailures: number;
        };
        cache: {
          bytes: number;
          blobs: number;
          manifests: number;
        };
        stats: {
          upstreamRequests: number;
          manifestHits: number;
          manifestMisses: number;
          blobHits: number;
          blobMisses: number;
          staleServed: number;
          tagsChanged: number;
          bytesFromUpstream: number;
          bytesFromCache: number;
          verifyFailures: number;
          hitRatio: number | null;
        };
      };
    };
  };
  "/proxies/{name}": {
    delete: {
      params: { name: string };
      query: Record<string, never>;
      body: undefined;
      response: undefined;
    };
    get: {
      params: { name: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        name: string;
        source: "config" | "api";
        url: string;
        mirrorOf: string[];
        defaultMirror: boolean;
        username: string;
        hasPassword: boolean;
        tagTtlSeconds: number;
        cacheMaxAgeDays: number;
        cacheMaxBytes: number;
        health: {
          up: boolean;
          lastError: string | null;
          retryAt: string | null;
          consecutiveFailures: number;
        };
        cache: {
          bytes: number;
          blobs: number;
          manifests: number;
        };
        stats: {
          upstreamRequests: number;
          manifestHits: number;
          manifestMisses: number;
          blobHits: number;
          blobMisses: number;
          staleServed: number;
          tagsChanged: number;
          bytesFromUpstream: number;
          bytesFromCache: number;
          verifyFailures: number;
          hitRatio: number | null;
        };
      };
    };
  };
  "/proxies/{name}/preheat": {
    post: {
      params: { name: string };
      query: Record<string, never>;
      body: {
        references: string[];
      };
      response: {
        id: string;
        upstream: string;
        references: string[];
        status: "queued" | "running" | "succeeded" | "failed";
        done: number;
        failed: number;
        blobs: number;
        bytes: number;
        errors: string[];
        createdAt: string;
        updatedAt: string;
      };
    };
  };
  "/proxies/{name}/preheat/{id}": {
    get: {
      params: { name: string; id: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        id: string;
        upstream: string;
        references: string[];
        status: "queued" | "running" | "succeeded" | "failed";
        done: number;
        failed: number;
        blobs: number;
        bytes: number;
        errors: string[];
        createdAt: string;
        updatedAt: string;
      };
    };
  };
  "/proxies/{name}/evict": {
    post: {
      params: { name: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        upstream: string;
        manifestsEvicted: number;
        blobsUnlinked: number;
        bytesBefore: number;
        bytesAfter: number;
      };
    };
  };
  "/projects/{name}/webhooks": {
    get: {
      params: { name: string };
      query: { limit?: string | number | null; cursor?: string | number | null };
      body: undefined;
      response: {
        items: {
          id: number;
          project: string | null;
          url: string;
          events: string[];
          format: "cloudevents" | "harbor";
          enabled: boolean;
          disabledReason: string | null;
          createdAt: string;
        }[];
        next: string | null;
      };
    };
    post: {
      params: { name: string };
      query: Record<string, never>;
      body: {
        url: string;
        events: ("artifact.pushed" | "artifact.deleted" | "tag.deleted" | "artifact.pulled" | "scan.completed" | "replication.completed" | "quota.warning")[];
        secret?: string;
        format?: "cloudevents" | "harbor";
      };
      response: {
        id: number;
        project: string | null;
        url: string;
        events: string[];
        format: "cloudevents" | "harbor";
        enabled: boolean;
        disabledReason: string | null;
        createdAt: string;
        secret: string;
      };
    };
  };
  "/projects/{name}/webhooks/{id}": {
    get: {
      params: { name: string; id: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        id: number;
        project: string | null;
        url: string;
        events: string[];
        format: "cloudevents" | "harbor";
        enabled: boolean;
        disabledReason: string | null;
        createdAt: string;
      };
    };
    patch: {
      params: { name: string; id: string };
      query: Record<string, never>;
      body: {
        url?: string;
        events?: ("artifact.pushed" | "artifact.deleted" | "tag.deleted" | "artifact.pulled" | "scan.completed" | "replication.completed" | "quota.warning")[];
        secret?: string;
        format?: "cloudevents" | "harbor";
        enabled?: boolean;
      };
      response: {
        id: number;
        project: string | null;
        url: string;
        events: string[];
        format: "cloudevents" | "harbor";
        enabled: boolean;
        disabledReason: string | null;
        createdAt: string;
      };
    };
    delete: {
      params: { name: string; id: string };
      query: Record<string, never>;
      body: undefined;
      response: undefined;
    };
  };
  "/projects/{name}/webhooks/{id}/deliveries": {
    get: {
      params: { name: string; id: string };
      query: { limit?: string | number | null; cursor?: string | number | null };
      body: undefined;
      response: {
        items: {
          id: number;
          eventId: number | null;
          event: string;
          messageId: string;
          status: "pending" | "delivered" | "failed";
          attempts: number;
          nextAttemptAt: string | null;
          responseStatus: number | null;
          latencyMs: number | null;
          responseExcerpt: string | null;
          error: string | null;
          createdAt: string;
          updatedAt: string;
        }[];
        next: string | null;
      };
    };
  };
  "/projects/{name}/webhooks/{id}/deliveries/{delivery}/redeliver": {
    post: {
      params: { name: string; id: string; delivery: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        id: number;
        eventId: number | null;
        event: string;
        messageId: string;
        status: "pending" | "delivered" | "failed";
        attempts: number;
        nextAttemptAt: string | null;
        responseStatus: number | null;
        latencyMs: number | null;
        responseExcerpt: string | null;
        error: string | null;
        createdAt: string;
        updatedAt: string;
      };
    };
  };
  "/projects/{name}/webhooks/{id}/ping": {
    post: {
      params: { name: string; id: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        id: number;
        eventId: number | null;
        event: string;
        messageId: string;
        status: "pending" | "delivered" | "failed";
        attempts: number;
        nextAttemptAt: string | null;
        responseStatus: number | null;
        latencyMs: number | null;
        responseExcerpt: string | null;
        error: string | null;
        createdAt: string;
        updatedAt: string;
      };
    };
  };
  "/system/webhooks": {
    get: {
      params: Record<string, never>;
      query: { limit?: string | number | null; cursor?: string | number | null };
      body: undefined;
      response: {
        items: {
          id: number;
          project: string | null;
          url: string;
          events: string[];
          format: "cloudevents" | "harbor";
          enabled: boolean;
          disabledReason: string | null;
          createdAt: string;
        }[];
        next: string | null;
      };
    };
    post: {
      params: Record<string, never>;
      query: Record<string, never>;
      body: {
        url: string;
        events: ("artifact.pushed" | "artifact.deleted" | "tag.deleted" | "artifact.pulled" | "scan.completed" | "replication.completed" | "quota.warning")[];
        secret?: string;
        format?: "cloudevents" | "harbor";
      };
      response: {
        id: number;
        project: string | null;
        url: string;
        events: string[];
        format: "cloudevents" | "harbor";
        enabled: boolean;
        disabledReason: string | null;
        createdAt: string;
        secret: string;
      };
    };
  };
  "/system/webhooks/{id}": {
    get: {
      params: { id: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        id: number;
        project: string | null;
        url: string;
        events: string[];
        format: "cloudevents" | "harbor";
        enabled: boolean;
        disabledReason: string | null;
        createdAt: string;
      };
    };
    patch: {
      params: { id: string };
      query: Record<string, never>;
      body: {
        url?: string;
        events?: ("artifact.pushed" | "artifact.deleted" | "tag.deleted" | "artifact.pulled" | "scan.completed" | "replication.completed" | "quota.warning")[];
        secret?: string;
        format?: "cloudevents" | "harbor";
        enabled?: boolean;
      };
      response: {
        id: number;
        project: string | null;
        url: string;
        events: string[];
        format: "cloudevents" | "harbor";
        enabled: boolean;
        disabledReason: string | null;
        createdAt: string;
      };
    };
    delete: {
      params: { id: string };
      query: Record<string, never>;
      body: undefined;
      response: undefined;
    };
  };
  "/system/webhooks/{id}/deliveries": {
    get: {
      params: { id: string };
      query: { limit?: string | number | null; cursor?: string | number | null };
      body: undefined;
      response: {
        items: {
          id: number;
          eventId: number | null;
          event: string;
          messageId: string;
          status: "pending" | "delivered" | "failed";
          attempts: number;
          nextAttemptAt: string | null;
          responseStatus: number | null;
          latencyMs: number | null;
          responseExcerpt: string | null;
          error: string | null;
          createdAt: string;
          updatedAt: string;
        }[];
        next: string | null;
      };
    };
  };
  "/system/webhooks/{id}/deliveries/{delivery}/redeliver": {
    post: {
      params: { id: string; delivery: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        id: number;
        eventId: number | null;
        event: string;
        messageId: string;
        status: "pending" | "delivered" | "failed";
        attempts: number;
        nextAttemptAt: string | null;
        responseStatus: number | null;
        latencyMs: number | null;
        responseExcerpt: string | null;
        error: string | null;
        createdAt: string;
        updatedAt: string;
      };
    };
  };
  "/system/webhooks/{id}/ping": {
    post: {
      params: { id: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        id: number;
        eventId: number | null;
        event: string;
        messageId: string;
        status: "pending" | "delivered" | "failed";
        attempts: number;
        nextAttemptAt: string | null;
        responseStatus: number | null;
        latencyMs: number | null;
        responseExcerpt: string | null;
        error: string | null;
        createdAt: string;
        updatedAt: string;
      };
    };
  };
  "/replication/targets": {
    get: {
      params: Record<string, never>;
      query: { limit?: string | number | null; cursor?: string | number | null };
      body: undefined;
      response: {
        items: {
          name: string;
          url: string;
          username: string | null;
          insecure: boolean;
          createdAt: string;
        }[];
        next: string | null;
      };
    };
    post: {
      params: Record<string, never>;
      query: Record<string, never>;
      body: {
        name: string;
        url: string;
        username?: string;
        password?: string;
        insecure?: boolean;
      };
      response: {
        name: string;
        url: string;
        username: string | null;
        insecure: boolean;
        createdAt: string;
      };
    };
  };
  "/replication/targets/{name}": {
    delete: {
      params: { name: string };
      query: Record<string, never>;
      body: undefined;
      response: undefined;
    };
  };
  "/replication/policies": {
    get: {
      params: Record<string, never>;
      query: { limit?: string | number | null; cursor?: string | number | null };
      body: undefined;
      response: {
        items: {
          name: string;
          target: string;
          direction: "push" | "pull";
          repositories: string[];
          tags: string[];
          trigger: "event" | "manual" | "cron";
          schedule: string | null;
          options: Record<string, unknown>;
          enabled: boolean;
          createdAt: string;
        }[];
        next: string | null;
      };
    };
    post: {
      params: Record<string, never>;
      query: Record<string, never>;
      body: {
        name: string;
        target: string;
        direction: "push" | "pull";
        repositories: string[];
        tags?: string[];
        trigger: "event" | "manual" | "cron";
        schedule?: string;
        platforms?: string[];
        referrers?: boolean;
        deletes?: boolean;
        enabled?: boolean;
      };
      response: {
        name: string;
        target: string;
        direction: "push" | "pull";
        repositories: string[];
        tags: string[];
        trigger: "event" | "manual" | "cron";
        schedule: string | null;
        options: Record<string, unknown>;
        enabled: boolean;
        createdAt: string;
      };
    };
  };
  "/replication/policies/{name}": {
    get: {
      params: { name: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        name: string;
        target: string;
        direction: "push" | "pull";
        repositories: string[];
        tags: string[];
        trigger: "event" | "manual" | "cron";
        schedule: string | null;
        options: Record<string, unknown>;
        enabled: boolean;
        createdAt: string;
        runs: {
          id: number;
          policy: string;
          trigger: string;
          scope: {
            repository: string;
            reference: string;
            deleted?: boolean;
          } | null;
          status: "queued" | "running" | "succeeded" | "failed" | "cancelled";
          startedAt: string;
          finishedAt: string | null;
          summary: Record<string, unknown> | null;
          error: string | null;
          results?: {
            artifact: string;
            digest: string | null;
            status: "copied" | "skipped" | "failed" | "deleted";
            bytes: number;
            error: string | null;
            at: string;
          }[];
        }[];
      };
    };
    delete: {
      params: { name: string };
      query: Record<string, never>;
      body: undefined;
      response: undefined;
    };
  };
  "/replication/policies/{name}/runs": {
    post: {
      params: { name: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        id: number;
      };
    };
  };
  "/replication/runs/{id}": {
    get: {
      params: { id: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        id: number;
        policy: string;
        trigger: string;
        scope: {
          repository: string;
          reference: string;
          deleted?: boolean;
        } | null;
        status: "queued" | "running" | "succeeded" | "failed" | "cancelled";
        startedAt: string;
        finishedAt: string | null;
        summary: Record<string, unknown> | null;
        error: string | null;
        results?: {
          artifact: string;
          digest: string | null;
          status: "copied" | "skipped" | "failed" | "deleted";
          bytes: number;
          error: string | null;
          at: string;
        }[];
      };
    };
  };
  "/replication/runs/{id}/cancel": {
    post: {
      params: { id: string };
      query: Record<string, never>;
      body: undefined;
      response: {
        id: number;
        policy: string;
        trigger: string;
        scope: {
          repository: string;
          reference: string;
          deleted?: boolean;
        } | null;
        status: "queued" | "running" | "succeeded" | "failed" | "cancelled";
        startedAt: string;
        finishedAt: string | null;
        summary: Record<string, unknown> | null;
        error: string | null;
        results?: {
          artifact: string;
          digest: string | null;
          status: "copied" | "skipped" | "failed" | "deleted";
          bytes: number;
          error: string | null;
          at: string;
        }[];
      };
    };
  };
}
