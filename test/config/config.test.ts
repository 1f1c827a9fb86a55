/**
 * Configuration: defaults < YAML < BERTH_* env < flags, strict keys with one-line errors,
 * and the CLI's handling of them.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { configJsonSchema } from '../../src/config/schema.js';

const run = promisify(execFile);
const CLI = new URL('../../src/cli/main.js', import.meta.url).pathname;

async function withFile(text: string, fn: (file: string) => Promise<void> | void): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-config-'));
  try {
    const file = join(dir, 'berth.yaml');
    await writeFile(file, text);
    await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('configuration', () => {
  it('has defaults for everything', () => {
    const c = loadConfig({ env: {} });
    assert.equal(c.listen, '0.0.0.0:5000');
    assert.equal(c.dataDir, './data');
    assert.equal(c.metadata.driver, 'sqlite');
    assert.equal(c.storage.driver, 'filesystem');
    assert.equal(c.registry.maxManifestBytes, 4 * 1024 * 1024);
  });

  it('applies YAML < env < flags', async () => {
    await withFile('listen: 127.0.0.1:6000\ndataDir: /from/yaml\nregistry:\n  maxManifestBytes: 2048\n', (file) => {
      const yamlOnly = loadConfig({ file, env: {} });
      assert.equal(yamlOnly.listen, '127.0.0.1:6000');
      assert.equal(yamlOnly.registry.maxManifestBytes, 2048);
      const env = { BERTH_DATA_DIR: '/from/env', BERTH_REGISTRY__MAX_MANIFEST_BYTES: '4096' };
      const withEnv = loadConfig({ file, env });
      assert.equal(withEnv.dataDir, '/from/env');
      assert.equal(withEnv.registry.maxManifestBytes, 4096);
      assert.equal(withEnv.listen, '127.0.0.1:6000');
      const withFlags = loadConfig({ file, env, overrides: { dataDir: '/from/flag' } });
      assert.equal(withFlags.dataDir, '/from/flag');
    });
  });

  it('refuses unknown keys and bad values with one line naming the key', async () => {
    await withFile('registry:\n  maxManifestBites: 5\n', (file) => {
      assert.throws(() => loadConfig({ file, env: {} }), (e: Error) => e instanceof ConfigError && /unknown configuration key registry\.maxManifestBites/.test(e.message) && !e.message.includes('\n'));
    });
    assert.throws(() => loadConfig({ env: { BERTH_REGISTRY__MAX_MANIFEST_BYTES: 'lots' } }), /invalid configuration key registry\.maxManifestBytes/);
    assert.throws(() => loadConfig({ env: { BERTH_LOG_LEVEL: 'loud' } }), /invalid configuration key logLevel/);
    assert.throws(() => loadConfig({ env: { BERTH_NOPE: '1' } }), /unknown configuration key nope/);
    assert.throws(() => loadConfig({ env: {}, overrides: { listen: 'nowhere' } }), /invalid configuration key listen/);
    await withFile('listen: [unclosed\n', (file) => {
      assert.throws(() => loadConfig({ file, env: {} }), /not valid YAML/);
    });
  });

  it('prints its JSON Schema with a description for every key', () => {
    const schema = configJsonSchema() as { properties: Record<string, { description?: string }> };
    for (const [key, prop] of Object.entries(schema.properties)) assert.ok(prop.description, `${key} has a description`);
  });

  it('the CLI\'s own variables are not configuration keys (a terminal that ran `berth login` can start the server)', () => {
    const c = loadConfig({ env: { BERTH_PASSWORD: 'secret-1', BERTH_CURRENT_PASSWORD: 'secret-0', BERTH_CLI_CONFIG: '/tmp/cli.json', BERTH_ADMIN_PASSWORD: 'x', BERTH_DATA_DIR: '/d' } });
    assert.equal(c.dataDir, '/d');
  });

  it('serves in one process by default; a worker that cannot start stops the primary with one line and exit 1', async () => {
    assert.equal(loadConfig({ env: {} }).workers, 1);
    const started = Date.now();
    await assert.rejects(run('node', [CLI, 'serve', '--workers', '2', '--listen', 'bad'], { env: { ...process.env }, timeout: 30_000 }), (e: { code: number; stderr: string; stdout: string }) => {
      assert.equal(e.code, 1);
      assert.equal(e.stderr.trim().split('\n').length, 1, e.stderr);
      assert.match(e.stderr, /listen/);
      assert.match(e.stdout, /worker could not start; stopping/);
      return true;
    });
    assert.ok(Date.now() - started < 20_000, 'no restart loop');
  });

  it('the CLI: --version, --help, config schema, and a one-line error with exit 1 on bad config', async () => {
    const v = await run('node', [CLI, '--version']);
    assert.match(v.stdout.trim(), /^\d+\.\d+\.\d+$/);
    const h = await run('node', [CLI, '--help']);
    assert.match(h.stdout, /serve/);
    const s = await run('node', [CLI, 'config', 'schema']);
    assert.equal(JSON.parse(s.stdout).type, 'object');
    await assert.rejects(run('node', [CLI, 'serve', '--listen', 'bad'], { env: { ...process.env } }), (e: { code: number; stderr: string }) => {
      assert.equal(e.code, 1);
      assert.equal(e.stderr.trim().split('\n').length, 1);
      assert.match(e.stderr, /listen/);
      return true;
    });
  });
});
