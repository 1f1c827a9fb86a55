/**
 * `berth gc`, `berth retention`, `berth restore` and `berth usage` (`berth restore --from`, a
 * backup, is ops.ts's). Where they act is never
 * guessed:
 * - with `--data-dir`, `--config` (or BERTH_CONFIG / BERTH_DATA_DIR) they open those stores
 *   directly (servers may keep running; the GC takes the `gc` lease and its re-checks make it
 *   safe beside live pushes), and refuse when the SQLite database is not there rather than
 *   create an empty one that would report `0 B`;
 * - otherwise, when `berth login` saved a server, they act through its management API, with the
 *   permissions of the signed-in user;
 * - otherwise they refuse, naming the folder they looked at.
 * A project that does not exist is reported as missing, never as empty.
 * `berth gc` shows a progress bar on a TTY and prints what it removed (or, with --dry-run,
 * would remove) with byte counts; --json prints the report as JSON instead.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../config/schema.js';
import type { GcReport, RemovedKind } from '../lifecycle/gc.js';
import type { GcRun } from '../lifecycle/gc-runs.js';
import type { RetentionReport } from '../lifecycle/retention.js';
import type { Lifecycle } from '../lifecycle/services.js';
import type { RestoreResult } from '../lifecycle/trash.js';
import { auth, call, formatBytes, savedLogin, type SavedLogin } from './client.js';

interface CommonOpts {
  config?: string;
  dataDir?: string;
}

type Target = { kind: 'stores'; config: Config; projectExists(lc: Lifecycle, project: string): Promise<boolean> } | { kind: 'api'; login: SavedLogin };

/** Where a lifecycle command acts (see the file comment); throws with the reason when nowhere. */
async function target(opts: CommonOpts): Promise<Target> {
  const file = opts.config ?? process.env.BERTH_CONFIG;
  const explicit = file !== undefined || opts.dataDir !== undefined || process.env.BERTH_DATA_DIR !== undefined;
  if (!explicit) {
    const login = savedLogin();
    if (login) return { kind: 'api', login };
    const here = resolve('data');
    const found = existsSync(resolve(here, 'berth.db'));
    throw new Error(
      `not logged in and no --data-dir or --config given: run \`berth login <host:port>\` to act through a server, or name the stores with --data-dir DIR or --config FILE` +
        (found ? ` (${here} holds a database: --data-dir ${here})` : ` (no database in ${here})`),
    );
  }
  const { loadConfig } = await import('../config/load.js');
  const config = loadConfig({ file, overrides: opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {} });
  if (config.metadata.driver === 'sqlite') {
    const db = resolve(config.metadata.sqlite.path ?? `${config.dataDir}/berth.db`);
    if (!existsSync(db)) throw new Error(`no Berth database at ${db}: is ${resolve(config.dataDir)} the data folder of a registry? (nothing was created)`);
  }
  return {
    kind: 'stores',
    config,
    async projectExists(lc, project) {
      const { SqlAuthStore } = await import('../metadata/sql/auth-store.js');
      const { SqlMetadataStore } = await import('../metadata/sql/store.js');
      // A project is a row of its own (access control on) or the first segment of a repository (open registry).
      const auth = lc.meta instanceof SqlMetadataStore ? new SqlAuthStore(lc.meta.db, lc.meta.dialect) : undefined;
      return (await auth?.projects.get(project)) !== undefined || (await lc.meta.usage.projects()).includes(project);
    },
  };
}

async function withStores<T>(cfg: Config, fn: (lc: Lifecycle) => Promise<T>): Promise<T> {
  const { openBlobStore, openMetadata } = await import('../main.js');
  const { createLifecycle } = await import('../lifecycle/services.js');
  const { pino } = await import('pino');
  const meta = await openMetadata(cfg);
  const blobs = await openBlobStore(cfg);
  const lc = createLifecycle(cfg, meta, blobs, pino({ level: 'silent' }), async () => {});
  try {
    return await fn(lc);
  } finally {
    await lc.close();
    await blobs.close();
    await meta.close();
  }
}

/** Through the API: a project the server does not know is reported as missing. */
async function apiProjectExists(login: SavedLogin, project: string): Promise<boolean> {
  try {
    await call('GET', `/projects/${encodeURIComponent(project)}`, undefined, auth(login));
    return true;
  } catch (e) {
    if (/^404\b/.test((e as Error).message)) return false;
    throw e;
  }
}

function missingProject(project: string, where: string): Error {
  return new Error(`project ${project} does not exist ${where}`);
}

function whereOf(t: Target): string {
  return t.kind === 'api' ? `on ${t.login.url}` : `in ${t.config.metadata.driver === 'sqlite' ? resolve(t.config.dataDir) : 'the configured database'}`;
}

export function formatGcReport(r: GcReport): string {
  const verb = r.dryRun ? 'would remove' : 'removed';
  const lines = [`garbage collection${r.dryRun ? ' (dry run)' : ''}: grace ${r.graceSeconds}s, ${r.rounds} round(s)`];
  const names: Record<RemovedKind, string> = { manifest: 'manifests', link: 'blob links', blob: 'blobs', orphan: 'orphaned blob files', upload: 'expired uploads' };
  for (const kind of Object.keys(names) as RemovedKind[]) {
    const t = r.totals[kind];
    lines.push(`  ${verb} ${t.count} ${names[kind]}${kind === 'link' ? '' : ` (${formatBytes(t.bytes)}, ${t.bytes} bytes)`}`);
    for (const item of r.items[kind]) lines.push(`    ${kind === 'manifest' ? `${item.repository}@${item.digest}` : kind === 'link' ? `${item.repository} -> ${item.digest}` : item.digest}${kind === 'link' ? '' : `  ${item.size} bytes`}`);
    if (t.count > r.items[kind].length) lines.push(`    ... and ${t.count - r.items[kind].length} more`);
  }
  lines.push(`${r.dryRun ? 'would free' : 'freed'} ${formatBytes(r.bytesFreed)} (${r.bytesFreed} bytes) of blob storage`);
  return lines.join('\n') + '\n';
}

function parseGrace(raw: string | undefined, parse: (s: string) => number): number | undefined {
  return raw !== undefined ? parse(raw) : undefined;
}

async function runGcViaApi(login: SavedLogin, dryRun: boolean, graceMs: number | undefined): Promise<GcReport> {
  const started = (await call('POST', '/gc', { dryRun, ...(graceMs !== undefined ? { graceSeconds: graceMs / 1000 } : {}) }, auth(login))) as GcRun;
  for (let run = started; ; ) {
    if (run.status === 'succeeded' && run.result) return run.result;
    if (run.status === 'failed') throw new Error(`garbage collection run ${run.id} failed on ${login.url}: ${run.error ?? 'no reason given'}`);
    await new Promise((r) => setTimeout(r, 250));
    run = (await call('GET', `/gc/${run.id}`, undefined, auth(login))) as GcRun;
  }
}

function printRetention(project: string, rep: RetentionReport, json: boolean): void {
  if (json) return void process.stdout.write(JSON.stringify(rep, null, 2) + '\n');
  const verb = rep.dryRun ? 'would move' : 'moved';
  process.stdout.write(`retention run ${rep.runId} of ${project}: ${verb} ${rep.tags.length} tags and ${rep.untagged.length} untagged manifests to the trash, kept ${rep.retained} tags\n`);
  for (const x of rep.tags) process.stdout.write(`  ${x.repository}:${x.tag}  ${x.digest}\n`);
  for (const x of rep.untagged) process.stdout.write(`  ${x.repository}@${x.digest}\n`);
  if (rep.restorableUntil) process.stdout.write(`restorable until ${rep.restorableUntil} with: berth restore --run ${rep.runId}\n`);
}

interface ProjectUsage {
  project: string;
  usage: { bytes: number; repositories: number; tags: number; manifests?: number };
  quota: { bytes?: number | null } | null;
  repositories: { name: string; bytes: number; tags: number; manifests: number }[];
}

function printProjectUsage(u: ProjectUsage): void {
  process.stdout.write(`${u.project}: ${formatBytes(u.usage.bytes)} (${u.usage.bytes} bytes)${u.quota?.bytes != null ? ` of ${formatBytes(u.quota.bytes)} quota` : ''}, ${u.usage.repositories} repositories, ${u.usage.tags} tags\n`);
  for (const r of u.repositories) process.stdout.write(`  ${r.name}  ${formatBytes(r.bytes)} (${r.bytes} bytes), ${r.tags} tags, ${r.manifests} manifests\n`);
}

const LOCATION_HELP = 'without --data-dir or --config: through the API of the server `berth login` saved';

export function registerLifecycleCommands(program: Command): void {
  program
    .command('gc')
    .description(`run one garbage-collection pass (servers may keep running; ${LOCATION_HELP})`)
    .option('--dry-run', 'report what would be removed, remove nothing')
    .option('--json', 'print the report as JSON')
    .option('--grace <duration>', 'override lifecycle.gc.graceSeconds (e.g. 0s, 30m, 24h)')
    .option('-c, --config <file>', 'YAML configuration file (default: $BERTH_CONFIG)')
    .option('-d, --data-dir <dir>', 'folder for the embedded database and blobs')
    .action(async (opts: CommonOpts & { dryRun?: boolean; json?: boolean; grace?: string }) => {
      const { parseDuration } = await import('../lifecycle/batches.js');
      const graceMs = parseGrace(opts.grace, parseDuration);
      const t = await target(opts);
      let report: GcReport;
      if (t.kind === 'api') report = await runGcViaApi(t.login, opts.dryRun ?? false, graceMs);
      else {
        const { SingleBar, Presets } = await import('cli-progress');
        const bar = !opts.json && process.stderr.isTTY ? new SingleBar({ format: ' {phase} [{bar}] {value}/{total} objects', stream: process.stderr, hideCursor: true }, Presets.shades_classic) : undefined;
        bar?.start(0, 0, { phase: 'mark ' });
        ({ report } = await withStores(t.config, (lc) =>
          lc.runs.run('cli', {
            dryRun: opts.dryRun ?? false,
            ...(graceMs !== undefined ? { graceMs } : {}),
            itemLimit: opts.json ? 100_000 : 50,
            onProgress: (p) => {
              if (!bar) return;
              bar.setTotal(Math.max(p.total, 1));
              bar.update(p.done, { phase: p.phase.padEnd(5) });
            },
          }),
        ));
        bar?.stop();
      }
      process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatGcReport(report));
    });

  program
    .command('retention <project>')
    .description(`run a project's retention policy now; tags it removes go to the trash (${LOCATION_HELP})`)
    .option('--dry-run', 'report what would be removed, remove nothing')
    .option('--json', 'print the report as JSON')
    .option('-c, --config <file>', 'YAML configuration file (default: $BERTH_CONFIG)')
    .option('-d, --data-dir <dir>', 'folder for the embedded database and blobs')
    .action(async (project: string, opts: CommonOpts & { dryRun?: boolean; json?: boolean }) => {
      const t = await target(opts);
      const dryRun = opts.dryRun ?? false;
      if (t.kind === 'api') {
        if (!(await apiProjectExists(t.login, project))) throw missingProject(project, whereOf(t));
        const rep = (await call('POST', `/projects/${encodeURIComponent(project)}/retention/runs`, { dryRun }, auth(t.login))) as RetentionReport;
        return printRetention(project, rep, !!opts.json);
      }
      await withStores(t.config, async (lc) => {
        if (!(await t.projectExists(lc, project))) throw missingProject(project, whereOf(t));
        if (!(await lc.settings.get(project)).retention) throw new Error(`project ${project} has no retention policy`);
        const r = await lc.leases.with(`retention:${project}`, 600_000, () => lc.retention.run(project, { dryRun, trigger: 'cli' }));
        if (!r) throw new Error(`a retention run of project ${project} is in progress`);
        printRetention(project, r.value, !!opts.json);
      });
    });

  program
    .command('restore')
    .description(`restore tags a retention run moved to the trash (--run; ${LOCATION_HELP}), or a backup into an empty data folder (--from)`)
    .option('--run <id>', 'retention run id')
    .option('--from <dir>', 'a folder `berth backup` wrote')
    .option('--copy', 'with --from: copy blob files instead of hard-linking them')
    .option('-c, --config <file>', 'YAML configuration file (default: $BERTH_CONFIG)')
    .option('-d, --data-dir <dir>', 'folder for the embedded database and blobs')
    .action(async (opts: CommonOpts & { run?: string; from?: string; copy?: boolean }) => {
      if ((opts.run === undefined) === (opts.from === undefined)) throw new Error('give either --run <retention run id> or --from <backup folder>');
      if (opts.from !== undefined) return (await import('./ops.js')).restoreBackup({ ...opts, from: opts.from });
      const runId = Number(opts.run);
      if (!Number.isInteger(runId) || runId < 0) throw new Error(`--run must be a retention run id, not ${JSON.stringify(opts.run)}`);
      const t = await target(opts);
      const r: RestoreResult = t.kind === 'api' ? await call('POST', '/trash/restore', { runId }, auth(t.login)) : await withStores(t.config, (lc) => lc.trash.restore({ runId }));
      if (r.restored.length === 0 && r.skipped.length === 0) throw new Error(`nothing to restore from retention run ${runId} ${whereOf(t)}: no such run, it removed nothing, or its trash window has ended`);
      process.stdout.write(`restored ${r.restored.length}, skipped ${r.skipped.length}\n`);
      for (const s of r.skipped) process.stdout.write(`  skipped ${s.entry.repository}:${s.entry.tag ?? s.entry.digest}: ${s.reason}\n`);
    });

  program
    .command('usage [project]')
    .description(`storage usage per project, or per repository of one project (${LOCATION_HELP})`)
    .option('--json', 'print JSON')
    .option('-c, --config <file>', 'YAML configuration file (default: $BERTH_CONFIG)')
    .option('-d, --data-dir <dir>', 'folder for the embedded database and blobs')
    .action(async (project: string | undefined, opts: CommonOpts & { json?: boolean }) => {
      const t = await target(opts);
      if (project) {
        let out: ProjectUsage;
        if (t.kind === 'api') {
          if (!(await apiProjectExists(t.login, project))) throw missingProject(project, whereOf(t));
          out = await call('GET', `/projects/${encodeURIComponent(project)}/usage`, undefined, auth(t.login));
        } else {
          out = await withStores(t.config, async (lc) => {
            if (!(await t.projectExists(lc, project))) throw missingProject(project, whereOf(t));
            const usage = lc.meta.usage;
            return { project, usage: await usage.of({ project }), quota: (await lc.settings.get(project)).quota, repositories: (await usage.byRepository(project)).map((r) => ({ name: r.repository, ...r.usage })) };
          });
        }
        if (opts.json) return void process.stdout.write(JSON.stringify(out, null, 2) + '\n');
        return printProjectUsage(out);
      }
      let items: Omit<ProjectUsage, 'repositories'>[];
      if (t.kind === 'api') items = ((await call('GET', '/usage', undefined, auth(t.login))) as { items: typeof items }).items;
      else {
        items = await withStores(t.config, async (lc) => {
          const out = [];
          for (const p of await lc.meta.usage.projects()) out.push({ project: p, usage: await lc.meta.usage.of({ project: p }), quota: (await lc.settings.get(p)).quota });
          return out;
        });
      }
      if (opts.json) return void process.stdout.write(JSON.stringify({ items }, null, 2) + '\n');
      if (items.length === 0) process.stdout.write(`no repositories ${whereOf(t)}\n`);
      for (const i of items) process.stdout.write(`${i.project}  ${formatBytes(i.usage.bytes)} (${i.usage.bytes} bytes)${i.quota?.bytes != null ? ` of ${formatBytes(i.quota.bytes)}` : ''}, ${i.usage.repositories} repositories, ${i.usage.tags} tags\n`);
    });
}

