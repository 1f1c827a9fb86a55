/**
 * URLs of UI pages, built in one place (repository names keep their slashes in UI paths).
 */
export const repoPath = (repo: string) => `/r/${repo}`;
export const manifestPath = (repo: string, digest: string, tag?: string) => `/r/${repo}/-/manifests/${digest}${tag ? `?tag=${encodeURIComponent(tag)}` : ''}`;
export const projectPath = (name: string) => `/projects/${encodeURIComponent(name)}`;
