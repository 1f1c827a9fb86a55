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
}
