/**
 * The README's first-push walkthrough, run as a newcomer would paste it: the shell commands
 * between `<!-- walkthrough:start -->` and `<!-- walkthrough:end -->` are read from README.md
 * and run as written, against a fresh data folder; any command that fails fails the test.
 *
 * What is substituted, and why (nothing else is changed):
 * - `npm install` is not run again: the test runs from that installed, built checkout.
 * - `npm start` runs as written, in the background, with BERTH_LISTEN (a free loopback port
 *   instead of 5000, which a developer's registry may hold) and BERTH_DATA_DIR (a temp folder)
 *   set in its environment; `127.0.0.1:5000` in the other commands becomes that port.
 * - The password placeholder becomes the password `npm start` printed on its first start.
 * - The walkthrough copies `docker://docker.io/library/alpine:3.20` from Docker Hub; tests have
 *   no network, so the source becomes `oci:<layout>:3.20`, an image built locally with umoci.
 *   Everything after that (login, project, push, usage, UI) runs against the real server.
 * - The CLI's saved login and skopeo's credentials go to temp files (BERTH_CLI_CONFIG,
 *   REGISTRY_AUTH_FILE), not to the home folder of whoever runs the tests.
 * Then, on the same server: a push to a project that does not exist, and a delete by a robot
 * without `delete`, each fail in skopeo with the reason in what skopeo prints.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { initLayout, umociImage } from '../helpers/layout.js';
import { freePort } from '../helpers/process.js';
import { missingTools, run } from '../helpers/tools.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** The shell lines of the README's walkthrough, in order. */
export async function walkthroughCommands(): Promise<string[]> {
  const readme = await readFile(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('<!-- walkthrough:start -->');
  const end = readme.indexOf('<!-- walkthrough:end -->');
  assert.ok(start >= 0 && end > start, 'README.md marks its walkthrough');
  const lines: string[] = [];
  for (const m of readme.slice(start, end).matchAll(/```sh\n([\s\S]*?)```/g)) {
    for (const raw of m[1]!.split('\n')) {
      const line = raw.trim();
      if (line && !line.startsWith('#')) lines.push(line);
    }
  }
  return lines;
}

const skip = missingTools('skopeo', 'umoci');

describe('README walkthrough, as a newcomer pastes it', { skip, timeout: 300_000 }, () => {
  let dir: string;
  let port: number;
  let server: ChildProcess | undefined;
  let serverOut = '';
  let password = '';
  let env: Record<string, string>;
  let layout: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-newcomer-'));
    port = await freePort();
    layout = join(dir, 'layout');
    await initLayout(layout);
    await umociImage(layout, '3.20', { files: { '/etc/motd': 'hello from a local image\n' }, scratch: dir });
    const { BERTH_ADMIN_PASSWORD: _unset, BERTH_CONFIG: _unset2, ...inherited } = process.env as Record<string, string>;
    env = { ...inherited, BERTH_CLI_CONFIG: join(dir, 'cli.json'), REGISTRY_AUTH_FILE: join(dir, 'auth.json') };
  });

  after(async () => {
    if (server?.pid) {
      try {
        process.kill(-server.pid, 'SIGTERM');
      } catch {
        // gone
      }
      await new Promise((r) => setTimeout(r, 1500));
      try {
        process.kill(-server.pid, 'SIGKILL');
      } catch {
        // exited on SIGTERM
      }
    }
    await rm(dir, { recursive: true, force: true });
  });

  function substitute(line: string): string {
    return line
      .replaceAll('127.0.0.1:5000', `127.0.0.1:${port}`)
      .replace(/'<the password printed at the first start>'/, `'${password}'`)
      .replaceAll('docker://docker.io/library/alpine:3.20', `oci:${layout}:3.20`);
  }

  async function npmStart(): Promise<void> {
    server = spawn('npm', ['start'], {
      cwd: ROOT,
      env: { ...env, BERTH_LISTEN: `127.0.0.1:${port}`, BERTH_DATA_DIR: join(dir, 'data') },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    server.stdout!.on('data', (d) => (serverOut += d));
    server.stderr!.on('data', (d) => (serverOut += d));
    const deadline = Date.now() + 120_000;
    for (;;) {
      assert.equal(server.exitCode, null, `npm start exited:\n${serverOut}`);
      const m = /created the system admin "admin" with password: (\S+)/.exec(serverOut);
      if (m) {
        password = m[1]!;
        const r = await fetch(`http://127.0.0.1:${port}/v2/`).catch(() => undefined);
        await r?.body?.cancel();
        if (r?.status === 401) return;
      }
      assert.ok(Date.now() < deadline, `npm start did not answer and print the admin password in time:\n${serverOut}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  test('every command of the walkthrough succeeds, and the image is in the registry and the UI', async () => {
    const commands = await walkthroughCommands();
    assert.deepEqual(commands.slice(0, 2), ['npm install', 'npm start'], 'the walkthrough starts with install and start');
    await npmStart();
    const script = ['set -euo pipefail', ...commands.slice(2).map(substitute)].join('\n');
    assert.doesNotMatch(script, /<[a-z ]+>/, 'every placeholder was filled in');
    const out = await run('bash', ['-xc', script], { env, timeoutMs: 180_000 }).catch((e: Error) => assert.fail(`${e.message}\n--- server:\n${serverOut.slice(-3000)}`));
    assert.match(out.stdout, /Logged in to http:\/\/127\.0\.0\.1:\d+ as admin/);
    assert.match(out.stdout, /demo: .*1 repositories, 1 tags/);

    const basic = 'Basic ' + Buffer.from(`admin:${password}`).toString('base64');
    const tags = (await (await fetch(`http://127.0.0.1:${port}/v2/demo/alpine/tags/list`, { headers: { Authorization: basic } })).json()) as { tags: string[] };
    assert.deepEqual(tags.tags, ['3.20']);
    const ui = await fetch(`http://127.0.0.1:${port}/ui`);
    assert.equal(ui.status, 200);
    assert.match(await ui.text(), /<div id="root">/);
    const signIn = await fetch(`http://127.0.0.1:${port}/api/v1/auth/login`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ username: 'admin', password }) });
    assert.equal(signIn.status, 200);
  });

  test('skopeo prints why a push to a missing project is refused, and which command creates it', async () => {
    assert.ok(password, 'the walkthrough ran');
    const err = await run('skopeo', ['copy', '--dest-tls-verify=false', `oci:${layout}:3.20`, `docker://127.0.0.1:${port}/nope/alpine:3.20`], { env }).then(
      () => assert.fail('the push succeeded'),
      (e: Error) => e.message,
    );
    assert.match(err, /project nope does not exist/);
    assert.match(err, /berth project create nope/);
  });

  test('skopeo prints that a robot lacks delete, not to request a token scope', async () => {
    const login = JSON.parse(await readFile(join(dir, 'cli.json'), 'utf8')) as { token: string };
    const r = await fetch(`http://127.0.0.1:${port}/api/v1/projects/demo/robots`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${login.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: 'ci', permissions: ['pull', 'push'] }),
    });
    assert.equal(r.status, 201);
    const robot = (await r.json()) as { name: string; secret: string };
    const err = await run('skopeo', ['delete', '--tls-verify=false', '--creds', `${robot.name}:${robot.secret}`, `docker://127.0.0.1:${port}/demo/alpine:3.20`], { env: { ...env, REGISTRY_AUTH_FILE: join(dir, 'none.json') } }).then(
      () => assert.fail('the delete succeeded'),
      (e: Error) => e.message,
    );
    assert.match(err, /robot robot\$demo\+ci lacks delete/);
    assert.doesNotMatch(err, /request a token/);
  });
});
