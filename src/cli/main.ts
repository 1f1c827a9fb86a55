#!/usr/bin/env node
/**
 * The `berth` command. Each subcommand parses its flags, loads the configuration and calls
 * into the composition root; errors become one line on stderr and a non-zero exit.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerManagementCommands } from './commands/manage.js';
import { registerProxyCommands } from './commands/proxy.js';
import { registerEventCommands } from './commands/events.js';
import { registerLifecycleCommands } from './lifecycle.js';
import { registerScanCommands } from './scan.js';
import { registerSigningCommands } from './commands/signing.js';
import { registerBackupCommand, registerLayoutCommands, registerOpsCommands } from './ops.js';
import { serve, type ServeOptions } from './serve.js';

// Only commander and the command table load at start; each command imports what it needs when
// it runs, so `berth --help` is quick and the primary of `serve --workers N` stays small.

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
  .option('-w, --workers <n>', 'processes sharing the port (default 1: no cluster; 0: one per CPU core)')
  .action((opts: ServeOptions) => serve(opts));

program
  .command('migrate')
  .description('apply pending metadata migrations and exit (serve also applies them at start)')
  .option('-c, --config <file>', 'YAML configuration file (default: $BERTH_CONFIG)')
  .option('-d, --data-dir <dir>', 'folder for the embedded database and blobs')
  .action(async (opts: { config?: string; dataDir?: string }) => {
    const { loadConfig } = await import('../config/load.js');
    const { openMetadata } = await import('../main.js');
    const config = loadConfig({ file: opts.config ?? process.env.BERTH_CONFIG, overrides: opts.dataDir !== undefined ? { dataDir: opts.dataDir } : {} });
    const meta = await openMetadata(config);
    await meta.close();
    process.stdout.write(`metadata (${config.metadata.driver}) is up to date\n`);
  });

const configCmd = program.command('config').description('configuration tools');
configCmd
  .command('schema')
  .description('print the configuration JSON Schema')
  .action(async () => {
    const { configJsonSchema } = await import('../config/schema.js');
    process.stdout.write(JSON.stringify(configJsonSchema(), null, 2) + '\n');
  });
configCmd
  .command('reference')
  .description('print the configuration reference as a markdown table (the README embeds it)')
  .action(async () => {
    const { configReference } = await import('../config/reference.js');
    process.stdout.write(configReference() + '\n');
  });
configCmd
  .command('check')
  .description('load and validate the configuration, then print it')
  .option('-c, --config <file>', 'YAML configuration file')
  .action(async (opts: { config?: string }) => {
    const { loadConfig } = await import('../config/load.js');
    process.stdout.write(JSON.stringify(loadConfig({ file: opts.config ?? process.env.BERTH_CONFIG }), null, 2) + '\n');
  });

registerManagementCommands(program);
registerEventCommands(program);
registerLifecycleCommands(program);
registerScanCommands(program);
registerSigningCommands(program);
registerProxyCommands(program);
registerOpsCommands(program);
registerBackupCommand(program);
registerLayoutCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) process.exit(e.exitCode);
  // A configuration error's message already names the key (and starts with "berth:").
  const message = (e as Error).name === 'ConfigError' ? (e as Error).message : `berth: ${(e as Error).message}`;
  process.stderr.write(`${message}\n`);
  process.exit(typeof process.exitCode === 'number' && process.exitCode !== 0 ? process.exitCode : 1);
}
