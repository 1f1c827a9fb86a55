#!/usr/bin/env node
/**
 * The `berth` command. Each subcommand parses its flags, loads the configuration and calls
 * into the composition root; errors become one line on stderr and a non-zero exit.
 */
import './heap-tuning.js';
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ConfigError, loadConfig } from '../config/load.js';
import { configJsonSchema } from '../config/schema.js';
import { createBerth } from '../main.js';

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
  .action(async (opts: { config?: string; listen?: string; dataDir?: string; logLevel?: string }) => {
    const overrides: Record<string, unknown> = {};
    if (opts.listen !== undefined) overrides.listen = opts.listen;
    if (opts.dataDir !== undefined) overrides.dataDir = opts.dataDir;
    if (opts.logLevel !== undefined) overrides.logLevel = opts.logLevel;
    const config = loadConfig({ file: opts.config ?? process.env.BERTH_CONFIG, overrides });
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

const configCmd = program.command('config').description('configuration tools');
configCmd
  .command('schema')
  .description('print the configuration JSON Schema')
  .action(() => {
    process.stdout.write(JSON.stringify(configJsonSchema(), null, 2) + '\n');
  });
configCmd
  .command('check')
  .description('load and validate the configuration, then print it')
  .option('-c, --config <file>', 'YAML configuration file')
  .action((opts: { config?: string }) => {
    process.stdout.write(JSON.stringify(loadConfig({ file: opts.config ?? process.env.BERTH_CONFIG }), null, 2) + '\n');
  });

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  const message = e instanceof ConfigError ? e.message : `berth: ${(e as Error).message}`;
  process.stderr.write(`${message}\n`);
  process.exit(1);
}
