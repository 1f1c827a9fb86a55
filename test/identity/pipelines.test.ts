/**
 * The README's pipeline snippets, run: each snippet's login lines (and GitHub's token request)
 * are taken from the README as written and run in bash against a real Berth, with the
 * variables the CI system would set: an ID token minted by a loopback issuer with the claims
 * that CI system puts in it (GitHub's comes from a loopback stand-in for
 * ACTIONS_ID_TOKEN_REQUEST_URL, fetched by the snippet's own curl line), or a robot secret.
 * buildah does the logins (`docker login` lines run through buildah, which takes the same
 * flags: there is no Docker daemon here), with `--tls-verify=false` added for the plain-HTTP
 * loopback registry; then skopeo pushes with the credentials the login stored.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ADMIN, api, ok, startAuthBerth } from '../helpers/auth.js';
import type { TestBerth } from '../helpers/berth.js';
import { initLayout, umociImage } from '../helpers/layout.js';
import { gitlabClaims, githubClaims, startIssuer, type TestIssuer } from '../helpers/oidc-issuer.js';
import { missingTools, run } from '../helpers/tools.js';

const skip = missingTools('buildah', 'skopeo', 'umoci', 'curl', 'jq');

/** The lines of the README snippet marked `<!-- ci:NAME -->` that log in (or fetch the token for it). */
function loginLines(name: string): string[] {
  const readme = readFileSync(join(process.cwd(), 'README.md'), 'utf8');
  const at = readme.indexOf(`<!-- ci:${name} -->`);
  assert.ok(at >= 0, `README has the ${name} snippet`);
  const block = readme.slice(readme.indexOf('```', at), readme.indexOf('```', readme.indexOf('```', at) + 3));
  const lines = block
    .split('\n')
    .map((l) => l.trim().replace(/^- (run: )?/, '').replace(/^run: \|$/, '').replace(/^sh '(.*)'$/, '$1'))
    .filter((l) => /login --username|BERTH_ID_TOKEN=\$\(curl/.test(l));
  assert.ok(lines.some((l) => l.includes('login --username')), `${name}: a login line`);
  return lines;
}

describe('the README pipeline snippets log in and push', { skip }, () => {
  let b: TestBerth;
  let gitlab: TestIssuer;
  let github: TestIssuer;
  let ci: TestIssuer;
  let dir: string;
  let tokenServer: Server;
  let githubToken = '';

  before(async () => {
    [gitlab, github, ci] = await Promise.all([startIssuer(), startIssuer(), startIssuer()]);
    b = await startAuthBerth({ auth: { enabled: true, workloadIdentity: { allowHttpIssuers: true } } });
    await ok(api(b.url, 'POST', '/projects', ADMIN, { name: 'team-a', public: false }));
    await ok(api(b.url, 'POST', '/projects/team-a/trust-policies', ADMIN, { issuer: gitlab.issuer, audience: 'berth', claims: { project_path: 'group/app', ref_protected: 'true' }, permissions: ['pull', 'push'] }));
    await ok(api(b.url, 'POST', '/projects/team-a/trust-policies', ADMIN, { issuer: github.issuer, audience: 'berth', claims: { repository: 'org/app', ref: 'refs/heads/main' }, permissions: ['pull', 'push'] }));
    await ok(api(b.url, 'POST', '/projects/team-a/trust-policies', ADMIN, { issuer: ci.issuer, audience: 'org-1234', claims: { 'oidc.circleci.com/project-id': 'proj-5678' }, permissions: ['pull', 'push'] }));
    await ok(api(b.url, 'POST', '/projects/team-a/trust-policies', ADMIN, { issuer: ci.issuer, audience: 'berth', claims: { sub: 'https://jenkins.example.com/job/app/' }, permissions: ['pull', 'push'] }));
    dir = await mkdtemp(join(tmpdir(), 'berth-pipelines-'));
    await initLayout(join(dir, 'src'));
    await umociImage(join(dir, 'src'), 'v1', { scratch: dir, files: { '/app.txt': 'built in CI\n' } });
    // GitHub's token service: the job asks it (with its request token) for an ID token with an audience.
    tokenServer = createServer((req, res) => {
      const u = new URL(req.url ?? '/', 'http://x');
      if (req.headers.authorization !== 'bearer gh-request-token' || u.searchParams.get('audience') !== 'berth') {
        res.statusCode = 401;
        return void res.end();
      }
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ value: githubToken }));
    });
    await new Promise<void>((r) => tokenServer.listen(0, '127.0.0.1', r));
  });
  after(async () => {
    await b?.close();
    await Promise.all([gitlab?.close(), github?.close(), ci?.close()]);
    tokenServer?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function runSnippet(name: string, env: Record<string, string>, tag: string): Promise<void> {
    const authFile = join(dir, `${name}-auth.json`);
    // The test registry speaks plain HTTP on loopback: buildah login is told so (it does not
    // read `insecure` from registries.conf when it logs in).
    const script = ['set -euo pipefail', 'buildah() { command buildah "$1" --tls-verify=false "${@:2}"; }', 'docker() { buildah "$@"; }', ...loginLines(name)].join('\n');
    await run('bash', ['-c', script], { env: { ...env, BERTH_REGISTRY: b.host, REGISTRY_AUTH_FILE: authFile, }, timeoutMs: 60_000 });
    // The credentials the login stored push the image.
    await run('skopeo', ['--insecure-policy', 'copy', '--authfile', authFile, '--dest-tls-verify=false', `oci:${join(dir, 'src')}:v1`, `docker://${b.host}/team-a/app:${tag}`], { timeoutMs: 120_000 });
  }

  test('GitLab CI keyless', async () => {
    await runSnippet('gitlab-keyless', { BERTH_ID_TOKEN: await gitlab.mint(gitlabClaims({ aud: 'berth', projectPath: 'group/app' })) }, 'gitlab');
  });

  test('GitHub Actions keyless (the token fetched by the snippet\'s own request)', async () => {
    githubToken = await github.mint(githubClaims({ aud: 'berth', repository: 'org/app' }));
    const port = (tokenServer.address() as AddressInfo).port;
    await runSnippet('github-keyless', { ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'gh-request-token', ACTIONS_ID_TOKEN_REQUEST_URL: `http://127.0.0.1:${port}/token?api-version=2.0` }, 'github');
  });

  test('Jenkins and CircleCI keyless', async () => {
    await runSnippet('jenkins-keyless', { BERTH_ID_TOKEN: await ci.mint({ aud: 'berth', sub: 'https://jenkins.example.com/job/app/' }) }, 'jenkins');
    await runSnippet('circleci-keyless', { CIRCLE_OIDC_TOKEN_V2: await ci.mint({ aud: 'org-1234', sub: 'org/org-1234/project/proj-5678/user/u1', 'oidc.circleci.com/project-id': 'proj-5678' }) }, 'circleci');
  });

  test('robot account', async () => {
    const robot = await ok(api(b.url, 'POST', '/projects/team-a/robots', ADMIN, { name: 'ci', permissions: ['pull', 'push'] }));
    await runSnippet('robot', { BERTH_ROBOT: robot.name, BERTH_ROBOT_SECRET: robot.secret }, 'robot');
    const tags = await ok(api(b.url, 'GET', '/repositories/team-a%2Fapp/tags', ADMIN));
    assert.deepEqual(tags.items.map((t: { name: string }) => t.name).sort(), ['circleci', 'github', 'gitlab', 'jenkins', 'robot']);
  });
});
