/**
 * `berth gc`, `berth retention`, `berth restore` and `berth usage`: run against the configured stores directly (servers may keep
 * running; the GC takes the `gc` lease and its re-checks make it safe beside live pushes).
 * `berth gc` shows a progress bar on a TTY and prints what it removed (or, with --dry-run,
 * would remove) with byte counts; --json prints the report as JSON instead.
 */
import { SingleBar, Presets } from 'cli-progress';
import type { Command } from 'commander';
import { pino } from 'pino';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import type { GcReport, RemovedKind } from '../lifecycle/gc.js';
import { createLifecycle } from '../lifecycle/services.js';
import { parseDuration } from '../lifecycle/batches.js';
import { openBlobStore, openMetadata } from '../main.js';

interface CommonOpts {
  config?: string;
  dataDir?: string;
}

function config(opts: CommonOpts): Config {
  const overrides: Record<string, unknown> = {};
  if (opts.dataDir !== undefined) overrides.dataDir = opts.dataDir;
  return loadConfig({ file: opts.config ?? process.env.BERTH_CONFIG, overrides });
}

async function withStores<T>(cfg: Config, fn: (lc: ReturnType<typeof createLifecycle>) => Promise<T>): Promise<T> {
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

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(1)} ${units[i]}`;
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

export function registerLifecycleCommands(program: Command): void {
  gcCommand(program);
  retentionCommand(program);
  restoreCommand(program);
  usageCommand(program);
}

/** The options that say which stores a command opens. */
function storeOptions(command: Command): Command {
  return command.option('-c, --config <file>', 'YAML configuration file (default: $BERTH_CONFIG)').option('-d, --data-dir <dir>', 'folder for the embedded database and blobs');
}

function gcCommand(program: Command): void {
  const command = program
    .command('gc')
    .description('run one garbage-collection pass against the configured stores (servers may keep running)')
    .option('--dry-run', 'report what would be removed, remove nothing')
    .option('--json', 'print the report as JSON')
    .option('--grace <duration>', 'override lifecycle.gc.graceSeconds (e.g. 0s, 30m, 24h)');
  storeOptions(command).action(async (opts: CommonOpts & { dryRun?: boolean; json?: boolean; grace?: string }) => {
    const cfg = config(opts);
    const graceMs = opts.grace !== undefined ? parseDuration(opts.grace) : undefined;
    const bar = !opts.json && process.stderr.isTTY ? new SingleBar({ format: ' {phase} [{bar}] {value}/{total} objects', stream: process.stderr, hideCursor: true }, Presets.shades_classic) : undefined;
    bar?.start(0, 0, { phase: 'mark ' });
    const { report } = await withStores(cfg, (lc) =>
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
    );
    bar?.stop();
    process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatGcReport(report));
  });
}

function retentionCommand(program: Command): void {
  const command = program
    .command('retention <project>')
    .description("run a project's retention policy now (tags it removes go to the trash)")
    .option('--dry-run', 'report what would be removed, remove nothing')
    .option('--json', 'print the report as JSON');
  storeOptions(command).action(async (project: string, opts: CommonOpts & { dryRun?: boolean; json?: boolean }) => {
    await withStores(config(opts), async (lc) => {
      const r = await lc.leases.with(`retention:${project}`, 600_000, () => lc.retention.run(project, { dryRun: opts.dryRun ?? false, trigger: 'cli' }));
      if (!r) throw new Error(`a retention run of project ${project} is in progress`);
      const rep = r.value;
      if (opts.json) return void process.stdout.write(JSON.stringify(rep, null, 2) + '\n');
      const verb = rep.dryRun ? 'would move' : 'moved';
      process.stdout.write(`retention run ${rep.runId} of ${project}: ${verb} ${rep.tags.length} tags and ${rep.untagged.length} untagged manifests to the trash, kept ${rep.retained} tags\n`);
      for (const x of rep.tags) process.stdout.write(`  ${x.repository}:${x.tag}  ${x.digest}\n`);
      for (const x of rep.untagged) process.stdout.write(`  ${x.repository}@${x.digest}\n`);
      if (rep.restorableUntil) process.stdout.write(`restorable until ${rep.restorableUntil} with: berth restore --run ${rep.runId}\n`);
    });
  });
}

function restoreCommand(program: Command): void {
  const command = program
    .command('restore')
    .description('restore tags a retention run moved to the trash')
    .requiredOption('--run <id>', 'retention run id');
  storeOptions(command).action(async (opts: CommonOpts & { run: string }) => {
    await withStores(config(opts), async (lc) => {
      const r = await lc.trash.restore({ runId: Number(opts.run) });
      process.stdout.write(`restored ${r.restored.length}, skipped ${r.skipped.length}\n`);
      for (const s of r.skipped) process.stdout.write(`  skipped ${s.entry.repository}:${s.entry.tag ?? s.entry.digest}: ${s.reason}\n`);
    });
  });
}

function usageCommand(program: Command): void {
  const command = program
    .command('usage [project]')
    .description('storage usage per project, or per repository of one project')
    .option('--json', 'print JSON');
  storeOptions(command).action(async (project: string | undefined, opts: CommonOpts & { json?: boolean }) => {
    const cfg = config(opts);
    await withStores(cfg, async (lc) => {
      const usage = lc.meta.usage;
      if (project) {
        const out = { project, usage: await usage.of({ project }), quota: (await lc.settings.get(project)).quota, repositories: await usage.byRepository(project) };
        if (opts.json) return void process.stdout.write(JSON.stringify(out, null, 2) + '\n');
        process.stdout.write(`${project}: ${formatBytes(out.usage.bytes)} (${out.usage.bytes} bytes)${out.quota?.bytes != null ? ` of ${formatBytes(out.quota.bytes)} quota` : ''}, ${out.usage.repositories} repositories, ${out.usage.tags} tags\n`);
        for (const r of out.repositories) process.stdout.write(`  ${r.repository}  ${formatBytes(r.usage.bytes)} (${r.usage.bytes} bytes), ${r.usage.tags} tags, ${r.usage.manifests} manifests\n`);
        return;
      }
      const items = [];
      for (const p of await usage.projects()) items.push({ project: p, usage: await usage.of({ project: p }), quota: (await lc.settings.get(p)).quota });
      if (opts.json) return void process.stdout.write(JSON.stringify({ items }, null, 2) + '\n');
      for (const i of items) process.stdout.write(`${i.project}  ${formatBytes(i.usage.bytes)} (${i.usage.bytes} bytes)${i.quota?.bytes != null ? ` of ${formatBytes(i.quota.bytes)}` : ''}, ${i.usage.repositories} repositories, ${i.usage.tags} tags\n`);
    });
  });
}
