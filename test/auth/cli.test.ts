/** The `berth` CLI over the management API: login stores a token; commands print tables or JSON. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ADMIN, ADMIN_PASSWORD, api, basic, ok, startAuthBerth } from '../helpers/auth.js';
import type { TestBerth } from '../helpers/berth.js';
import { cliIn } from '../helpers/cli.js';


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

  const berth = (...a: Parameters<ReturnType<typeof cliIn>>) => cliIn(dir)(...a);

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

  test('login takes host:port as skopeo and docker do, and says so; logout says so', async () => {
    const config = join(dir, 'hostport.json');
    const login = await berth(['login', b.host, '-u', 'admin', '--password-stdin'], ADMIN_PASSWORD + '\n', { config });
    assert.equal(login.code, 0, login.err);
    assert.match(login.out, new RegExp(`^Logged in to http://${b.host.replace(/\./g, '\\.')} as admin \\(token \\w+ saved in `));
    const list = await berth(['project', 'list'], '', { config });
    assert.equal(list.code, 0, list.err);
    const out = await berth(['logout'], '', { config });
    assert.equal(out.code, 0, out.err);
    assert.match(out.out, new RegExp(`^Logged out of http://${b.host.replace(/\./g, '\\.')}`));
    assert.match((await berth(['logout'], '', { config })).out, /^Not logged in/);
  });

  test('a prompt on a closed input exits 1 with a message naming what to pass instead', async () => {
    const noUser = await berth(['login', b.host], '', { config: join(dir, 'closed.json') });
    assert.equal(noUser.code, 1);
    assert.match(noUser.err, /no input for "Username".*--username/);
    const noPassword = await berth(['login', b.host, '-u', 'admin'], '', { config: join(dir, 'closed.json') });
    assert.equal(noPassword.code, 1);
    assert.match(noPassword.err, /no input for "Password".*--password-stdin or set BERTH_PASSWORD/);
  });

  test('project tables: readable headers, the same columns in list and create', async () => {
    const created = await berth(['project', 'create', 'tables']);
    assert.equal(created.code, 0, created.err);
    const header = /^NAME\s+PUBLIC\s+ROLE\s+REPOSITORIES\s+STORAGE\s+CREATED$/;
    assert.match(created.out.split('\n')[0]!, header);
    assert.match(created.out, /tables\s+false\s+admin\s+0\s+0 B\s+\d{4}-/);
    const list = await berth(['project', 'list']);
    assert.match(list.out.split('\n')[0]!, header);
  });

  test('the audit log is strictly newest first (queued request events and transactional changes)', async () => {
    // A failed login is queued (written within a second); the project change commits at once.
    await fetch(`${b.url}/v2/`, { headers: { Authorization: basic('admin', 'wrong-password') } });
    await new Promise((r) => setTimeout(r, 20));
    assert.equal((await berth(['project', 'create', 'order'])).code, 0);
    await new Promise((r) => setTimeout(r, 1500));
    const audit = await berth(['audit', '--limit', '20', '--json']);
    assert.equal(audit.code, 0, audit.err);
    const items = JSON.parse(audit.out) as { at: string; id: number }[];
    for (let i = 1; i < items.length; i++) assert.ok(items[i - 1]!.at >= items[i]!.at, `entry ${i} (${items[i]!.at}) is newer than entry ${i - 1} (${items[i - 1]!.at})`);
    const table = await berth(['audit', '--limit', '2']);
    assert.match(table.out.split('\n')[0]!, /^AT\s+ACTOR\s+ACTION\s+RESOURCE\s+RESULT\s+SOURCE ADDRESS$/);
  });

  test('gc, usage, retention and restore never create a database: through the API when logged in, else a refusal naming the folder', async () => {
    const fresh = await mkdtemp(join(tmpdir(), 'berth-cli-fresh-'));
    try {
      const anon = join(fresh, 'nobody.json');
      for (const args of [['usage'], ['usage', 'team-a'], ['gc', '--dry-run'], ['retention', 'team-a'], ['restore', '--run', '1']]) {
        const r = await berth(args, '', { cwd: fresh, config: anon });
        assert.equal(r.code, 1, `${args.join(' ')}: ${r.out}`);
        assert.match(r.err, new RegExp(`not logged in and no --data-dir or --config given.*no database in ${fresh.replace(/[/.-]/g, '\\$&')}/data`));
        assert.equal(existsSync(join(fresh, 'data')), false, `${args.join(' ')} created ./data`);
      }
      const empty = await berth(['usage', '--data-dir', join(fresh, 'empty')], '', { cwd: fresh, config: anon });
      assert.equal(empty.code, 1);
      assert.match(empty.err, /no Berth database at .*empty\/berth\.db/);
      assert.equal(existsSync(join(fresh, 'empty')), false);

      // Logged in (the first test saved a login): the server's figures, and a missing project is missing.
      const usage = await berth(['usage', 'team-a', '--json'], '', { cwd: fresh });
      assert.equal(usage.code, 0, usage.err);
      assert.equal((JSON.parse(usage.out) as { project: string }).project, 'team-a');
      const missing = await berth(['usage', 'no-such-project'], '', { cwd: fresh });
      assert.equal(missing.code, 1);
      assert.match(missing.err, new RegExp(`project no-such-project does not exist on ${b.url.replace(/[/.]/g, '\\$&')}`));
      const direct = await berth(['usage', 'no-such-project', '--data-dir', b.dataDir], '', { cwd: fresh });
      assert.equal(direct.code, 1);
      assert.match(direct.err, /project no-such-project does not exist in /);
      const gc = await berth(['gc', '--dry-run', '--json'], '', { cwd: fresh });
      assert.equal(gc.code, 0, gc.err);
      assert.equal((JSON.parse(gc.out) as { dryRun: boolean }).dryRun, true);
      assert.equal(existsSync(join(fresh, 'data')), false);
    } finally {
      await rm(fresh, { recursive: true, force: true });
    }
  });

  test('user passwd --data-dir resets a password offline, voids earlier tokens, and never creates a database', async () => {
    await ok(api(b.url, 'POST', '/users', ADMIN, { name: 'forgetful', password: 'forgot-it-1' }));
    const before = await fetch(`${b.url}/auth/token?service=berth&scope=repository:team-a/x:pull`, { headers: { Authorization: basic('forgetful', 'forgot-it-1') } });
    const { token } = (await before.json()) as { token: string };
    const reset = await berth(['user', 'passwd', 'forgetful', '--data-dir', b.dataDir, '--password-stdin'], 'remembered-2\n', { config: join(dir, 'nobody.json') });
    assert.equal(reset.code, 0, reset.err);
    assert.match(reset.out, /Password of forgetful changed in .*berth\.db/);
    assert.equal((await api(b.url, 'GET', '/auth/me', basic('forgetful', 'remembered-2'))).status, 200);
    assert.equal((await fetch(`${b.url}/v2/`, { headers: { Authorization: `Bearer ${token}` } })).status, 401, 'a token issued before the reset is void');
    const nowhere = join(dir, 'no-registry-here');
    const refused = await berth(['user', 'passwd', 'admin', '--data-dir', nowhere, '--password-stdin'], 'whatever-123\n', { config: join(dir, 'nobody.json') });
    assert.equal(refused.code, 1);
    assert.match(refused.err, /no Berth database at .*no-registry-here\/berth\.db/);
    assert.equal(existsSync(nowhere), false);
    const unknown = await berth(['user', 'passwd', 'ghost', '--data-dir', b.dataDir, '--password-stdin'], 'whatever-123\n', { config: join(dir, 'nobody.json') });
    assert.equal(unknown.code, 1);
    assert.match(unknown.err, /user ghost does not exist/);
  });
});
