/**
 * `berth webhook ...` and `berth replication ...`: commands over the webhook and replication
 * routes of the management API. Each prints a table by default and JSON with `--json`.
 */
import type { Command } from 'commander';
import { call, listAll, output } from '../client.js';

/** A webhook's base path: a project's, or the system-wide one with `--system`. */
function hooks(o: { project?: string; system?: boolean }): string {
  if (o.system) return '/system/webhooks';
  if (!o.project) throw new Error('name a project with --project <p>, or use --system for system-wide webhooks');
  return `/projects/${encodeURIComponent(o.project)}/webhooks`;
}

const list = (v: string, prev: string[] = []) => [...prev, ...v.split(',').filter(Boolean)];

export function registerEventCommands(program: Command): void {
  const webhook = program.command('webhook').description('webhooks (signed CloudEvents POSTs on registry events)');
  const scope = (c: Command) => c.option('--project <p>', 'the project').option('--system', 'system-wide (admins)');
  scope(webhook.command('list'))
    .option('--json')
    .action(async (o: { project?: string; system?: boolean; json?: boolean }) => output(await listAll(hooks(o)), !!o.json, ['id', 'url', 'events', 'format', 'enabled', 'disabledReason']));
  scope(webhook.command('create <url>'))
    .requiredOption('--event <name>', 'artifact.pushed, artifact.deleted, tag.deleted, artifact.pulled, scan.completed, replication.completed, quota.warning (repeat or comma-separate)', list)
    .option('--secret <s>', 'signing secret (default: generated, shown once)')
    .option('--harbor', "send Harbor's payload format instead of CloudEvents")
    .option('--json')
    .action(async (url: string, o: { project?: string; system?: boolean; event: string[]; secret?: string; harbor?: boolean; json?: boolean }) => {
      const r = await call('POST', hooks(o), { url, events: o.event, ...(o.secret ? { secret: o.secret } : {}), ...(o.harbor ? { format: 'harbor' } : {}) });
      output(r, !!o.json, ['id', 'url', 'events', 'format', 'secret']);
      if (!o.json) process.stderr.write('The secret is shown only once.\n');
    });
  scope(webhook.command('enable <id>')).action(async (id: string, o: { project?: string; system?: boolean }) => void (await call('PATCH', `${hooks(o)}/${id}`, { enabled: true })));
  scope(webhook.command('disable <id>')).action(async (id: string, o: { project?: string; system?: boolean }) => void (await call('PATCH', `${hooks(o)}/${id}`, { enabled: false })));
  scope(webhook.command('delete <id>')).action(async (id: string, o: { project?: string; system?: boolean }) => void (await call('DELETE', `${hooks(o)}/${id}`)));
  scope(webhook.command('ping <id>'))
    .option('--json')
    .action(async (id: string, o: { project?: string; system?: boolean; json?: boolean }) => output(await call('POST', `${hooks(o)}/${id}/ping`), !!o.json, ['id', 'event', 'status']));
  scope(webhook.command('deliveries <id>'))
    .option('--limit <n>', 'entries', '50')
    .option('--json')
    .action(async (id: string, o: { project?: string; system?: boolean; limit: string; json?: boolean }) =>
      output((await call('GET', `${hooks(o)}/${id}/deliveries?limit=${encodeURIComponent(o.limit)}`)).items, !!o.json, ['id', 'event', 'status', 'attempts', 'responseStatus', 'latencyMs', 'error', 'createdAt']),
    );
  scope(webhook.command('redeliver <id> <delivery>'))
    .option('--json')
    .action(async (id: string, delivery: string, o: { project?: string; system?: boolean; json?: boolean }) => output(await call('POST', `${hooks(o)}/${id}/deliveries/${delivery}/redeliver`), !!o.json, ['id', 'event', 'status']));

  const rep = program.command('replication').description('replication to and from other OCI registries (system admins)');
  const target = rep.command('target').description('registries to replicate with');
  target.command('list').option('--json').action(async (o: { json?: boolean }) => output(await listAll('/replication/targets'), !!o.json, ['name', 'url', 'username', 'insecure']));
  target
    .command('add <name> <url>')
    .option('-u, --username <u>')
    .option('--password-stdin', 'read the password from stdin')
    .option('--insecure', 'accept a TLS certificate that does not verify')
    .option('--json')
    .action(async (name: string, url: string, o: { username?: string; passwordStdin?: boolean; insecure?: boolean; json?: boolean }) => {
      let password: string | undefined = process.env.BERTH_TARGET_PASSWORD;
      if (o.passwordStdin) {
        let s = '';
        for await (const c of process.stdin) s += String(c);
        password = s.replace(/\r?\n$/, '');
      }
      output(await call('POST', '/replication/targets', { name, url, ...(o.username ? { username: o.username } : {}), ...(password ? { password } : {}), ...(o.insecure ? { insecure: true } : {}) }), !!o.json, ['name', 'url', 'username']);
    });
  target.command('delete <name>').action(async (name: string) => void (await call('DELETE', `/replication/targets/${encodeURIComponent(name)}`)));

  const policy = rep.command('policy').description('what to copy, which way, when');
  policy.command('list').option('--json').action(async (o: { json?: boolean }) => output(await listAll('/replication/policies'), !!o.json, ['name', 'target', 'direction', 'repositories', 'tags', 'trigger', 'schedule', 'enabled']));
  policy
    .command('add <name>')
    .requiredOption('--target <t>')
    .requiredOption('--direction <push|pull>')
    .requiredOption('--repository <pattern>', 'repository pattern, e.g. team/** (repeatable)', list)
    .option('--tag <pattern>', 'tag pattern (repeatable; default **)', list)
    .option('--trigger <event|manual|cron>', 'when it runs', 'manual')
    .option('--schedule <cron>', 'cron schedule (with --trigger cron)')
    .option('--platform <os/arch>', 'copy only these platforms of an index (repeatable)', list)
    .option('--no-referrers', 'do not copy signatures, SBOMs and other referrers')
    .option('--deletes', 'propagate tag and manifest deletes (event-triggered push)')
    .option('--json')
    .action(async (name: string, o: { target: string; direction: string; repository: string[]; tag?: string[]; trigger: string; schedule?: string; platform?: string[]; referrers: boolean; deletes?: boolean; json?: boolean }) => {
      const body = { name, target: o.target, direction: o.direction, repositories: o.repository, ...(o.tag ? { tags: o.tag } : {}), trigger: o.trigger, ...(o.schedule ? { schedule: o.schedule } : {}), ...(o.platform ? { platforms: o.platform } : {}), ...(o.referrers ? {} : { referrers: false }), ...(o.deletes ? { deletes: true } : {}) };
      output(await call('POST', '/replication/policies', body), !!o.json, ['name', 'target', 'direction', 'repositories', 'tags', 'trigger']);
    });
  policy.command('delete <name>').action(async (name: string) => void (await call('DELETE', `/replication/policies/${encodeURIComponent(name)}`)));
  policy
    .command('runs <name>')
    .option('--json')
    .action(async (name: string, o: { json?: boolean }) => output((await call('GET', `/replication/policies/${encodeURIComponent(name)}`)).runs, !!o.json, ['id', 'trigger', 'status', 'startedAt', 'finishedAt', 'error']));
  rep
    .command('run <policy>')
    .description('run a policy now; with --wait, until it ends (exit 1 when it failed)')
    .option('--wait')
    .option('--json')
    .action(async (name: string, o: { wait?: boolean; json?: boolean }) => {
      const { id } = (await call('POST', `/replication/policies/${encodeURIComponent(name)}/runs`)) as { id: number };
      if (!o.wait) return output({ id }, !!o.json, ['id']);
      for (;;) {
        const r = (await call('GET', `/replication/runs/${id}`)) as { status: string; error: string | null; summary: Record<string, unknown> | null };
        if (r.status !== 'queued' && r.status !== 'running') {
          output(o.json ? r : { id, status: r.status, ...r.summary, error: r.error }, !!o.json);
          if (r.status !== 'succeeded') process.exitCode = 1;
          return;
        }
        await new Promise((res) => setTimeout(res, 500));
      }
    });
  rep
    .command('status <run>')
    .option('--json')
    .action(async (id: string, o: { json?: boolean }) => {
      const r = await call('GET', `/replication/runs/${encodeURIComponent(id)}`);
      if (o.json) return output(r, true);
      output({ id: r.id, policy: r.policy, status: r.status, ...r.summary, error: r.error }, false);
      output(r.results, false, ['artifact', 'status', 'digest', 'bytes', 'error']);
    });
  rep.command('cancel <run>').action(async (id: string) => void (await call('POST', `/replication/runs/${encodeURIComponent(id)}/cancel`)));
}
