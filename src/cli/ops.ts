/**
 * Operator commands over the stores of a data folder or configuration: `berth scrub` (and, as
 * they land, backup and image-layout export/import). They open the stores directly, so they
 * need `--data-dir` or `--config` (or BERTH_CONFIG / BERTH_DATA_DIR) and refuse a folder that
 * holds no Berth database rather than create an empty one; a server may keep running.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import type { Config } from '../config/schema.js';
import type { ScrubReport } from '../ops/scrub.js';
import { formatBytes } from './client.js';

interface StoreOpts {
  config?: string;
  dataDir?: string;
}

/** The configuration these commands act on; throws with the reason when it names no registry. */
async function storesConfig(opts: StoreOpts): Promise<Config> {
  const file = opts.config ?? process.env.BERTH_CONFIG;
  if (file === undefined && opts.dataDir === undefined && process.env.BERTH_DATA_DIR === undefined) {
    throw new Error('name the registry with --data-dir DIR or --config FILE (or BERTH_DATA_DIR / BERTH_CONFIG)');
  }
  const { loadConfig } = await import('../config/load.js');
  const config = loadConfig({ file, overrides: opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {} });
  if (config.metadata.driver === 'sqlite') {
    const db = resolve(config.metadata.sqlite.path ?? `${config.dataDir}/berth.db`);
    if (!existsSync(db)) throw new Error(`no Berth database at ${db}: is ${resolve(config.dataDir)} the data folder of a registry? (nothing was created)`);
  }
  return config;
}

function parseRate(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--rate must be a positive number of MB per second, not ${JSON.stringify(raw)}`);
  return n * 1e6;
}

function formatScrub(r: ScrubReport): string {
  const lines = [
    `scrub ${r.complete ? 'finished' : 'stopped (its position is saved; run again to continue)'}${r.repository ? ` for ${r.repository}` : ''}${r.resumedAfter ? ` (resumed after ${r.resumedAfter})` : ''}:`,
    `  ${r.blobs.checked} blobs (${formatBytes(r.blobs.bytes)}) and ${r.manifests.checked} manifests checked`,
  ];
  if (r.problems.length === 0) lines.push('  no problems found');
  for (const p of r.problems) {
    lines.push(`  ${p.kind.toUpperCase()} ${p.repository ? `${p.repository}@` : ''}${p.digest}: ${p.detail}`);
    if (p.quarantinedTo) lines.push(`    bytes moved to ${p.quarantinedTo}`);
    for (const ref of p.referencedBy ?? []) lines.push(`    used by ${ref.repository}@${ref.manifest}`);
  }
  return lines.join('\n') + '\n';
}

export function registerOpsCommands(program: Command): void {
  program
    .command('scrub')
    .description('re-hash every stored blob and manifest, report corrupt or missing content, and quarantine corrupt blobs (servers may keep running; exit status 2 when problems were found)')
    .option('--repository <name>', 'only the blobs and manifests of this repository')
    .option('--rate <MB/s>', 'hash at most this many MB (10^6 bytes) per second')
    .option('--restart', 'start from the beginning instead of where an interrupted scrub stopped')
    .option('--json', 'print the report as JSON')
    .option('-c, --config <file>', 'YAML configuration file (default: $BERTH_CONFIG)')
    .option('-d, --data-dir <dir>', 'folder for the embedded database and blobs')
    .action(async (opts: StoreOpts & { repository?: string; rate?: string; restart?: boolean; json?: boolean }) => {
      const rate = parseRate(opts.rate);
      const { parseRepoName } = await import('../domain/names.js');
      let repository;
      try {
        repository = opts.repository === undefined ? undefined : parseRepoName(opts.repository);
      } catch {
        throw new Error(`--repository: ${JSON.stringify(opts.repository)} is not a valid repository name`);
      }
      const config = await storesConfig(opts);
      const { openBlobStore, openMetadata, createScrub } = await import('../main.js');
      const meta = await openMetadata(config);
      const blobs = await openBlobStore(config);
      const stop = new AbortController();
      const onSignal = () => stop.abort();
      process.once('SIGINT', onSignal).once('SIGTERM', onSignal);
      const { SingleBar, Presets } = await import('cli-progress');
      const bar =
        !opts.json && process.stderr.isTTY
          ? new SingleBar({ format: ' {phase} [{bar}] {percentage}% | {value}/{total} blobs | {done} of {size} | {manifests} manifests', stream: process.stderr, hideCursor: true }, Presets.shades_classic)
          : undefined;
      let report: ScrubReport;
      try {
        let started = false;
        report = await createScrub(config, meta, blobs).run({
          repository,
          rateBytesPerSecond: rate,
          restart: opts.restart ?? false,
          signal: stop.signal,
          onProgress: (p) => {
            if (!bar) return;
            const payload = { phase: p.phase.padEnd(9), done: formatBytes(p.bytes), size: formatBytes(p.totalBytes), manifests: p.manifests };
            if (!started) {
              bar.start(Math.max(p.totalBlobs, 1), p.blobs, payload);
              started = true;
            } else bar.update(p.blobs, payload);
          },
        });
      } finally {
        bar?.stop();
        process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
        await blobs.close();
        await meta.close();
      }
      process.stdout.write(opts.json ? JSON.stringify(report, null, 2) + '\n' : formatScrub(report));
      if (report.problems.length > 0) process.exitCode = 2;
    });
}

/** The embedded default's files, or an error naming what to do instead on PostgreSQL or S3. */
function embeddedPaths(config: Config): { database: string; storageRoot: string; dataDir: string } {
  if (config.metadata.driver !== 'sqlite' || config.storage.driver !== 'filesystem') {
    throw new Error('berth backup and restore cover the embedded default (SQLite + filesystem); on PostgreSQL use pg_dump, on S3 bucket versioning or replication (README: Backup and restore)');
  }
  return {
    database: resolve(config.metadata.sqlite.path ?? `${config.dataDir}/berth.db`),
    storageRoot: resolve(config.storage.filesystem.root ?? `${config.dataDir}/storage`),
    dataDir: resolve(config.dataDir),
  };
}

/** How long `berth backup` waits for a running garbage collection to finish. */
const GC_WAIT_MS = 120_000;

export function registerBackupCommand(program: Command): void {
  program
    .command('backup')
    .description('write a consistent copy of the embedded registry (database snapshot + its blobs) into a new folder while the server keeps running')
    .requiredOption('--to <dir>', 'new or empty folder receiving the backup')
    .option('--copy', 'copy blob files instead of hard-linking them (another disk, or no hard links)')
    .option('--json', 'print the report as JSON')
    .option('-c, --config <file>', 'YAML configuration file (default: $BERTH_CONFIG)')
    .option('-d, --data-dir <dir>', 'folder for the embedded database and blobs')
    .action(async (opts: StoreOpts & { to: string; copy?: boolean; json?: boolean }) => {
      const config = await storesConfig(opts);
      const paths = embeddedPaths(config);
      const { openMetadata } = await import('../main.js');
      const { Leases } = await import('../lifecycle/lease.js');
      const { backup } = await import('../ops/backup.js');
      const meta = await openMetadata(config);
      const leases = new Leases(meta);
      // Garbage collection is the one thing that deletes bytes of recorded blobs: hold it off.
      const holdGc = async <T>(fn: () => Promise<T>): Promise<T> => {
        const deadline = Date.now() + GC_WAIT_MS;
        for (;;) {
          const r = await leases.with('gc', 300_000, fn);
          if (r) return r.value;
          if (Date.now() > deadline) throw new Error('a garbage collection has been running for over two minutes; try the backup again when it has finished');
          await new Promise((ok) => setTimeout(ok, 1000));
        }
      };
      try {
        const report = await backup(paths, resolve(opts.to), { copy: opts.copy ?? false, holdGc });
        if (opts.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
        else {
          process.stdout.write(`backup written to ${report.to}: ${report.blobs} blobs (${formatBytes(report.bytes)}; ${report.linked} hard-linked, ${report.copied} copied) and the database as of ${report.createdAt}\n`);
          if (report.missing.length > 0) process.stdout.write(`  ${report.missing.length} blob(s) recorded without bytes in storage (run berth scrub): ${report.missing.join(', ')}\n`);
        }
      } finally {
        await meta.close();
      }
    });
}

/** `berth restore --from DIR`: a backup into an empty data folder. */
export async function restoreBackup(opts: StoreOpts & { from: string; copy?: boolean }): Promise<void> {
  const file = opts.config ?? process.env.BERTH_CONFIG;
  if (file === undefined && opts.dataDir === undefined && process.env.BERTH_DATA_DIR === undefined) throw new Error('name the empty data folder to restore into with --data-dir DIR (or --config FILE)');
  const { loadConfig } = await import('../config/load.js');
  const config = loadConfig({ file, overrides: opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {} });
  const { restore } = await import('../ops/backup.js');
  const r = await restore(resolve(opts.from), embeddedPaths(config), { copy: opts.copy ?? false });
  process.stdout.write(`restored ${r.blobs} blobs (${r.linked} hard-linked, ${r.copied} copied) and the database into ${r.dataDir}; start it with berth serve --data-dir ${r.dataDir}\n`);
}

/** Which registry export/import talk to: `--registry`, else the server `berth login` saved (with its token). */
async function registryTarget(registry: string | undefined): Promise<{ url: string; authorization?: string }> {
  const { savedLogin, serverUrl } = await import('./client.js');
  const login = savedLogin();
  if (registry !== undefined) {
    const url = serverUrl(registry);
    return login && login.url === url ? { url, authorization: `Basic ${Buffer.from(`${login.user}:${login.token}`).toString('base64')}` } : { url };
  }
  if (!login) throw new Error('name the registry with --registry <host:port>, or run `berth login <host:port>` first');
  return { url: login.url, authorization: `Basic ${Buffer.from(`${login.user}:${login.token}`).toString('base64')}` };
}

function splitReference(ref: string): { repository: string; tag: string | undefined } {
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  return colon > slash ? { repository: ref.slice(0, colon), tag: ref.slice(colon + 1) } : { repository: ref, tag: undefined };
}

export function registerLayoutCommands(program: Command): void {
  program
    .command('export <repository[:tag]>')
    .description('write an image (one tag, or every tag) with all its platforms and referrers as an OCI image layout folder, or a .tar of one')
    .requiredOption('--to <dir|file.tar>', 'new layout folder, or a path ending in .tar')
    .option('--registry <host:port>', 'registry to read from (default: the server `berth login` saved)')
    .option('--json', 'print the report as JSON')
    .action(async (ref: string, opts: { to: string; registry?: string; json?: boolean }) => {
      const { parseRepoName } = await import('../domain/names.js');
      const { repository, tag } = splitReference(ref);
      try {
        parseRepoName(repository);
      } catch {
        throw new Error(`${JSON.stringify(repository)} is not a valid repository name`);
      }
      const { exportLayout } = await import('../ops/layout.js');
      const r = await exportLayout(await registryTarget(opts.registry), repository, tag, resolve(opts.to));
      process.stdout.write(opts.json ? JSON.stringify(r, null, 2) + '\n' : `exported ${repository} (${r.tags.join(', ')}): ${r.manifests} manifests, ${r.blobs} blobs, ${r.referrers} referrers, ${formatBytes(r.bytes)} to ${resolve(opts.to)}\n`);
    });

  program
    .command('import <layout> <repository>')
    .description('push every image of an OCI image layout (folder or .tar) into a repository, keeping every digest')
    .option('--registry <host:port>', 'registry to push to (default: the server `berth login` saved)')
    .option('--json', 'print the report as JSON')
    .action(async (layout: string, repository: string, opts: { registry?: string; json?: boolean }) => {
      const { parseRepoName } = await import('../domain/names.js');
      try {
        parseRepoName(repository);
      } catch {
        throw new Error(`${JSON.stringify(repository)} is not a valid repository name`);
      }
      const { importLayout } = await import('../ops/layout.js');
      const r = await importLayout(await registryTarget(opts.registry), resolve(layout), repository);
      process.stdout.write(opts.json ? JSON.stringify(r, null, 2) + '\n' : `imported into ${repository} (${r.tags.join(', ') || 'no tags'}): ${r.manifests} manifests, ${r.blobs} blobs pushed (${formatBytes(r.bytes)}), ${r.referrers} referrers\n`);
    });
}
