#!/usr/bin/env node
/**
 * The `berth` command. Each subcommand parses its flags, loads the configuration and calls
 * into the composition root; errors become one line on stderr and a non-zero exit.
 */
import './heap-tuning.js';
import cluster from 'node:cluster';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Command, CommanderError } from 'commander';
import { ConfigError, loadConfig } from '../config/load.js';
import { configReference } from '../config/reference.js';
import { configJsonSchema } from '../config/schema.js';
import { runPrimary } from '../cluster/primary.js';
import { createBerth, createLogger, openMetadata } from '../main.js';
import { registerManagementCommands } from './commands/manage.js';
import { registerLifecycleCommands } from './lifecycle.js';


const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

const program = new Command()
  .name('berth')
  .description('Berth container image registry')
  .version(pkg.version, '-v, --version')
  .showHelpAfterError()
  .exitOverride();

program
  .command('serve')
  .description('run the registry')
  .option('-c, --config <file>', 'YAML configuration file (default: $BERTH_CONFIG)')
  .option('-l, --listen <host:port>', 'address to listen on')
  .option('-d, --data-dir <dir>', 'folder for the embedded database and blobs')
  .option('--log-level <level>', 'log level')
  .option('-w, --workers <n>', 'processes sharing the port (0: one per CPU core; 1: no cluster)')
  .action(async (opts: { config?: string; listen?: string; dataDir?: string; logLevel?: string; workers?: string }) => {
    const overrides: Record<string, unknown> = {};
    if (opts.listen !== undefined) overrides.listen = opts.listen;
    if (opts.dataDir !== undefined) overrides.dataDir = opts.dataDir;
    if (opts.logLevel !== undefined) overrides.logLevel = opts.logLevel;
    if (opts.workers !== undefined) overrides.workers = Number(opts.workers);
    const config = loadConfig({ file: opts.config ?? process.env.BERTH_CONFIG, overrides });
    const workers = config.workers === 0 ? availableParallelism() : config.workers;
    if (cluster.isPrimary && config.metadata.driver === 'sqlite') {
      // Only this process and its workers use a SQLite file, so no write lease taken before
      // this start can still be held: a crashed process's leases must not block its uploads.
      const meta = await openMetadata(config);
      await meta.uploads.releaseAllLocks();
      await meta.close();
    }
    if (cluster.isPrimary && workers > 1) {
      process.exit(await runPrimary({ workers, config, logger: createLogger(config) }));
    }
    const berth = await createBerth(config);
    const address = await berth.listen();
    berth.app.log.info({ address, dataDir: config.dataDir }, `berth listening on ${address}`);
    let closing = false;
    const stop = (signal: string) => {
      if (closing) return;
      closing = true;
      berth.app.log.info({ signal }, 'shutting down');
      berth.close().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
  });

program
  .command('migrate')
  .description('apply pending metadata migrations and exit (serve also applies them at start)')
  .option('-c, --config <file>', 'YAML configuration file (default: $BERTH_CONFIG)')
  .option('-d, --data-dir <dir>', 'folder for the embedded database and blobs')
  .action(async (opts: { config?: string; dataDir?: string }) => {
    const config = loadConfig({ file: opts.config ?? process.env.BERTH_CONFIG, overrides: opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {} });
    const meta = await openMetadata(config);
    await meta.close();
    process.stdout.write(`metadata (${config.metadata.driver}) is up to date\n`);
  });

const configCmd = program.command('config').description('configuration tools');
configCmd
  .command('schema')
  .description('print the configuration JSON Schema')
  .action(() => {
    process.stdout.write(JSON.stringify(configJsonSchema(), null, 2) + '\n');
  });
configCmd
  .command('reference')
  .description('print the configuration reference as a markdown table (the README embeds it)')
  .action(() => {
    process.stdout.write(configReference() + '\n');
  });
configCmd
  .command('check')
  .description('load and validate the configuration, then print it')
  .option('-c, --config <file>', 'YAML configuration file')
  .action((opts: { config?: string }) => {
    process.stdout.write(JSON.stringify(loadConfig({ file: opts.config ?? process.env.BERTH_CONFIG }), null, 2) + '\n');
  });

registerManagementCommands(program);
registerLifecycleCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  const message = e instanceof ConfigError ? e.message : `berth: ${(e as Error).message}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
