/** The `berth` CLI over the management API: login stores a token; commands print tables or JSON. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ADMIN_PASSWORD, basic, startAuthBerth } from '../helpers/auth.js';
import type { TestBerth } from '../helpers/berth.js';

const CLI = new URL('../../src/cli/main.js', import.meta.url).pathname;

describe('berth CLI', () => {
  let b: TestBerth;
  let dir: string;
  before(async () => {
    b = await startAuthBerth();
    dir = await mkdtemp(join(tmpdir(), 'berth-cli-'));
  });
  after(async () => {
    await b.close();
    await rm(dir, { recursive: true, force: true });
  });

  function berth(args: string[], stdin = ''): Promise<{ code: number; out: string; err: string }> {
    return new Promise((resolve) => {
      const p = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, BERTH_CLI_CONFIG: join(dir, 'cli.json') } });
      let out = '';
      let err = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      p.on('close', (code) => resolve({ code: code ?? 1, out, err }));
      p.stdin.end(stdin);
    });
  }

  test('login, project create, robot create --push, lists as table and JSON', async () => {
    const login = await berth(['login', b.url, '-u', 'admin', '--password-stdin'], ADMIN_PASSWORD + '\n');
    assert.equal(login.code, 0, login.err);
    const saved = JSON.parse(await readFile(join(dir, 'cli.json'), 'utf8')) as { token: string };
    assert.match(saved.token, /^berth_pat_/);
    assert.equal((await stat(join(dir, 'cli.json'))).mode & 0o777, 0o600);
    assert.doesNotMatch(await readFile(join(dir, 'cli.json'), 'utf8'), new RegExp(ADMIN_PASSWORD));

    assert.equal((await berth(['project', 'create', 'team-a'])).code, 0);
    const robot = await berth(['robot', 'create', 'ci', '--project', 'team-a', '--push', '--json']);
    assert.equal(robot.code, 0, robot.err);
    const r = JSON.parse(robot.out) as { name: string; secret: string; permissions: string[] };
    assert.equal(r.name, 'robot$team-a+ci');
    assert.deepEqual(r.permissions, ['pull', 'push']);
    const up = await fetch(`${b.url}/v2/team-a/x/blobs/uploads/`, { method: 'POST', headers: { Authorization: basic(r.name, r.secret) } });
    assert.equal(up.status, 202);

    const table = await berth(['project', 'list']);
    assert.equal(table.code, 0);
    assert.match(table.out.split('\n')[0]!, /^NAME\s+PUBLIC\s+ROLE/);
    assert.match(table.out, /team-a\s+false\s+admin/);
    const robots = await berth(['robot', 'list', '--project', 'team-a', '--json']);
    assert.equal((JSON.parse(robots.out) as unknown[]).length, 1);
    const denied = await berth(['project', 'delete', 'nope']);
    assert.notEqual(denied.code, 0);
    assert.match(denied.err, /404/);
  });
});
