/**
 * `berth login`, `project`, `member`, `robot`, `user`, `token`: commands over the management
 * API. Each prints a table by default and JSON with `--json`.
 */
import type { Command } from 'commander';
import { auth, call, configPath, formatBytes, listAll, loadLogin, output, savedLogin, saveLogin, serverUrl, type Column } from '../client.js';

/**
 * Asks on stderr and reads one line of stdin. A closed input (a script, `< /dev/null`, CI)
 * fails with a message naming the flag or variable to use instead, rather than waiting forever.
 */
async function prompt(question: string, instead: string): Promise<string> {
  const { createInterface } = await import('node:readline');
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY === true });
    let answered = false;
    rl.once('line', (line) => {
      answered = true;
      rl.close();
      resolve(line.trim());
    });
    rl.once('close', () => {
      if (!answered) reject(new Error(`no input for "${question.replace(/:\s*$/, '')}" (stdin is closed); ${instead}`));
    });
    rl.setPrompt(question);
    rl.prompt();
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
  if (text === '') throw new Error('--password-stdin: stdin was empty');
  return text;
}

/** Projects in `list` and `create` alike. */
const PROJECT_COLUMNS: Column[] = [
  'name',
  'public',
  'role',
  { key: 'repositoryCount', header: 'REPOSITORIES' },
  { key: 'storageBytes', header: 'STORAGE', format: (v) => formatBytes(Number(v)) },
  { key: 'createdAt', header: 'CREATED' },
];

export function registerManagementCommands(program: Command): void {
  sessionCommands(program);
  projectCommands(program);
  memberCommands(program);
  robotCommands(program);
  userCommands(program);
  tokenCommands(program);
  auditCommand(program);
}

function sessionCommands(program: Command): void {
  program
    .command('login <server>')
    .description('sign in to a Berth server (host:port as skopeo and docker take it, or a URL) and store a personal access token in ~/.config/berth/cli.json')
    .option('-u, --username <name>', 'user name (prompted when missing)')
    .option('--password-stdin', 'read the password from stdin (else $BERTH_PASSWORD, else a prompt)')
    .option('--oidc', "sign in through the server's identity provider (device code: open the link shown, in any browser)")
    .option('--json', 'print JSON')
    .action(async (server: string, o: { username?: string; passwordStdin?: boolean; oidc?: boolean; json?: boolean }) => {
      const url = serverUrl(server);
      if (o.oidc) return loginOidc(url, !!o.json);
      const username = o.username ?? (await prompt('Username: ', 'pass --username NAME'));
      const password = o.passwordStdin ? await readStdin() : process.env.BERTH_PASSWORD ?? (await prompt('Password: ', 'pass --password-stdin or set BERTH_PASSWORD'));
      const basic = { url, authorization: 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64') };
      const t = await call('POST', '/users/me/tokens', { name: `berth-cli@${process.env.HOSTNAME ?? 'host'}`, expiresInDays: 90 }, basic);
      saveLogin({ url, user: username, token: t.token });
      if (o.json) return output({ url, user: username, token: t.id, expiresAt: t.expiresAt }, true);
      process.stdout.write(`Logged in to ${url} as ${username} (token ${t.id} saved in ${configPath()}${t.expiresAt ? `, expires ${t.expiresAt}` : ''})\n`);
    });

  program
    .command('logout')
    .description('revoke the stored token and forget it')
    .action(async () => {
      const login = savedLogin();
      if (!login) return void process.stdout.write('Not logged in\n');
      const id = /^berth_pat_([^_]+)_/.exec(login.token)?.[1];
      if (id) await call('DELETE', `/users/me/tokens/${id}`, undefined, auth(login));
      saveLogin({ url: login.url, user: login.user, token: '' });
      process.stdout.write(`Logged out of ${login.url} (token ${id ?? ''} revoked)\n`.replace(' ()', ''));
    });
}

/**
 * `berth login --oidc`: the server starts a device sign-in at its identity provider; the user
 * approves it in a browser; the server then applies the user's group roles and hands back a
 * personal access token, which is stored like any other login (it does not depend on the
 * OIDC session).
 */
async function loginOidc(url: string, json: boolean): Promise<void> {
  const anonymous = { url, authorization: '' };
  const start = (await call('POST', '/auth/oidc/device', undefined, anonymous)) as { deviceCode: string; userCode: string; verificationUri: string; verificationUriComplete: string | null; interval: number; expiresIn: number };
  process.stderr.write(`To sign in, open ${start.verificationUriComplete ?? start.verificationUri} in a browser${start.verificationUriComplete ? '' : ` and enter the code ${start.userCode}`} (code ${start.userCode}, valid ${Math.round(start.expiresIn / 60)} minutes).\n`);
  const finish = { deviceCode: start.deviceCode, userCode: start.userCode, verificationUri: start.verificationUri, interval: start.interval, expiresIn: start.expiresIn, tokenName: `berth-cli@${process.env.HOSTNAME ?? 'host'}`, expiresInDays: 90 };
  const until = Date.now() + start.expiresIn * 1000;
  for (;;) {
    const r = (await call('POST', '/auth/oidc/device/token', finish, anonymous)) as { pending: boolean; user: string | null; token: string | null; id: string | null; expiresAt: string | null };
    if (!r.pending) {
      saveLogin({ url, user: r.user!, token: r.token! });
      if (json) return output({ url, user: r.user, token: r.id, expiresAt: r.expiresAt }, true);
      process.stdout.write(`Logged in to ${url} as ${r.user} (token ${r.id} saved in ${configPath()}${r.expiresAt ? `, expires ${r.expiresAt}` : ''})\n`);
      return;
    }
    if (Date.now() > until) throw new Error('the sign-in code expired before it was approved; run berth login --oidc again');
  }
}

function projectCommands(program: Command): void {
  const project = program.command('project').description('projects');
  project.command('list').option('--json').action(async (o: { json?: boolean }) => output(await listAll('/projects'), !!o.json, PROJECT_COLUMNS));
  project
    .command('create <name>')
    .option('--public', 'anyone may pull')
    .option('--json')
    .action(async (name: string, o: { public?: boolean; json?: boolean }) => output(await call('POST', '/projects', { name, public: !!o.public }), !!o.json, PROJECT_COLUMNS));
  project.command('delete <name>').action(async (name: string) => void (await call('DELETE', `/projects/${encodeURIComponent(name)}`)));
}

function memberCommands(program: Command): void {
  const member = program.command('member').description('project members');
  member.command('list').requiredOption('--project <p>').option('--json').action(async (o: { project: string; json?: boolean }) => output(await listAll(`/projects/${o.project}/members`), !!o.json, ['user', 'role']));
  member
    .command('set <user> <role>')
    .requiredOption('--project <p>')
    .action(async (user: string, role: string, o: { project: string }) => void (await call('PUT', `/projects/${o.project}/members/${user}`, { role })));
  member.command('remove <user>').requiredOption('--project <p>').action(async (user: string, o: { project: string }) => void (await call('DELETE', `/projects/${o.project}/members/${user}`)));
}

function robotCommands(program: Command): void {
  const robot = program.command('robot').description('robot accounts');
  robot.command('list').requiredOption('--project <p>').option('--json').action(async (o: { project: string; json?: boolean }) => output(await listAll(`/projects/${o.project}/robots`), !!o.json, ['name', 'permissions', 'expiresAt', 'lastUsedAt']));
  robot
    .command('create <name>')
    .requiredOption('--project <p>')
    .option('--pull', 'may pull')
    .option('--push', 'may push (implies pull)')
    .option('--delete', 'may delete')
    .option('--expires-in-days <n>', 'expiry', (v) => Number(v))
    .option('--json')
    .action(async (name: string, o: { project: string; pull?: boolean; push?: boolean; delete?: boolean; expiresInDays?: number; json?: boolean }) => {
      const permissions = [...(o.pull || o.push ? ['pull'] : []), ...(o.push ? ['push'] : []), ...(o.delete ? ['delete'] : [])];
      const r = await call('POST', `/projects/${o.project}/robots`, { name, permissions: permissions.length ? permissions : ['pull'], ...(o.expiresInDays ? { expiresInDays: o.expiresInDays } : {}) });
      output(r, !!o.json, ['name', 'secret', 'permissions', 'expiresAt']);
      if (!o.json) process.stderr.write('The secret is shown only once.\n');
    });
  robot.command('delete <name>').requiredOption('--project <p>').action(async (name: string, o: { project: string }) => void (await call('DELETE', `/projects/${o.project}/robots/${encodeURIComponent(name)}`)));
}

function userCommands(program: Command): void {
  const user = program.command('user').description('users (system admins)');
  user.command('list').option('--json').action(async (o: { json?: boolean }) => output(await listAll('/users'), !!o.json, ['name', 'admin', 'disabled', 'createdAt']));
  user
    .command('create <name>')
    .option('--admin')
    .option('--password-stdin')
    .option('--json')
    .action(async (name: string, o: { admin?: boolean; passwordStdin?: boolean; json?: boolean }) => {
      const password = o.passwordStdin ? await readStdin() : await prompt('Password: ', 'pass --password-stdin');
      output(await call('POST', '/users', { name, password, admin: !!o.admin }), !!o.json, ['name', 'admin', 'disabled', 'createdAt']);
    });
  user
    .command('passwd <name>')
    .description('set a password; your own needs the current one (prompted, or BERTH_CURRENT_PASSWORD). With --data-dir or --config: reset it offline in that database (no server, no current password; for a lost admin password)')
    .option('--password-stdin', 'read the new password from stdin')
    .option('-d, --data-dir <dir>', 'offline: the data folder of a stopped or running registry (its SQLite database)')
    .option('-c, --config <file>', 'offline: the YAML configuration naming the database')
    .action(async (name: string, o: { passwordStdin?: boolean; dataDir?: string; config?: string }) => {
      if (o.dataDir !== undefined || o.config !== undefined) {
        const { resetPasswordOffline } = await import('../offline-passwd.js');
        const password = o.passwordStdin ? await readStdin() : await prompt('New password: ', 'pass --password-stdin');
        const where = await resetPasswordOffline({ user: name, password, ...(o.dataDir !== undefined ? { dataDir: o.dataDir } : {}), ...(o.config !== undefined ? { config: o.config } : {}) });
        process.stdout.write(`Password of ${name} changed in ${where}; its tokens and sessions issued before now no longer work\n`);
        return;
      }
      const own = name === 'me' || name === loadLogin().user;
      let currentPassword: string | undefined;
      if (own) {
        currentPassword = process.env.BERTH_CURRENT_PASSWORD;
        if (currentPassword === undefined && o.passwordStdin) throw new Error('changing your own password needs the current one: set BERTH_CURRENT_PASSWORD (stdin holds the new one)');
        currentPassword ??= await prompt('Current password: ', 'set BERTH_CURRENT_PASSWORD');
      }
      const password = o.passwordStdin ? await readStdin() : await prompt('New password: ', 'pass --password-stdin');
      await call('PATCH', `/users/${name}`, { password, ...(currentPassword !== undefined ? { currentPassword } : {}) });
      process.stdout.write(`Password of ${name} changed\n`);
    });
  user.command('disable <name>').action(async (name: string) => void (await call('PATCH', `/users/${name}`, { disabled: true })));
  user.command('delete <name>').action(async (name: string) => void (await call('DELETE', `/users/${name}`)));
}

function tokenCommands(program: Command): void {
  const token = program.command('token').description('personal access tokens');
  token.command('list').option('--user <name>', 'user', 'me').option('--json').action(async (o: { user: string; json?: boolean }) => output(await listAll(`/users/${o.user}/tokens`), !!o.json, ['id', 'name', 'scopes', 'expiresAt', 'lastUsedAt']));
  token
    .command('create <name>')
    .option('--user <name>', 'user', 'me')
    .option('--scope <scope...>', 'pull, push, delete, manage')
    .option('--expires-in-days <n>', 'expiry', (v) => Number(v))
    .option('--json')
    .action(async (name: string, o: { user: string; scope?: string[]; expiresInDays?: number; json?: boolean }) =>
      output(await call('POST', `/users/${o.user}/tokens`, { name, ...(o.scope ? { scopes: o.scope } : {}), ...(o.expiresInDays ? { expiresInDays: o.expiresInDays } : {}) }), !!o.json, ['id', 'name', 'token', 'scopes', 'expiresAt']),
    );
  token.command('delete <id>').option('--user <name>', 'user', 'me').action(async (id: string, o: { user: string }) => void (await call('DELETE', `/users/${o.user}/tokens/${id}`)));
}

function auditCommand(program: Command): void {
  program
    .command('audit')
    .description('audit log')
    .option('--project <p>')
    .option('--user <u>')
    .option('--action <a>')
    .option('--since <time>')
    .option('--limit <n>', 'entries', '50')
    .option('--json')
    .action(async (o: { project?: string; user?: string; action?: string; since?: string; limit: string; json?: boolean }) => {
      const q = new URLSearchParams(Object.entries({ project: o.project, user: o.user, action: o.action, since: o.since, limit: o.limit }).filter((e): e is [string, string] => e[1] !== undefined));
      output((await call('GET', `/audit?${q}`)).items, !!o.json, ['at', 'actor', 'action', 'resource', 'result', 'sourceAddress']);
    });
}
