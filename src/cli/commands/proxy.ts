/**
 * `berth proxy`: the pull-through caches over the management API: list them (health, size,
 * hit ratio), preheat images (optionally waiting with progress), evict now.
 */
import type { Command } from 'commander';
import { call, formatBytes, listAll, output } from '../client.js';

const COLUMNS = [
  'name',
  'url',
  { key: 'mirrorOf', header: 'MIRROR OF', format: (v: unknown) => (v as string[]).join(',') },
  { key: 'health', header: 'HEALTH', format: (v: unknown) => ((v as { up: boolean }).up ? 'up' : `down (${(v as { lastError: string | null }).lastError ?? ''})`) },
  { key: 'cache', header: 'CACHED', format: (v: unknown) => formatBytes((v as { bytes: number }).bytes) },
  { key: 'stats', header: 'HIT RATIO', format: (v: unknown) => ((v as { hitRatio: number | null }).hitRatio === null ? '-' : `${Math.round((v as { hitRatio: number }).hitRatio * 100)}%`) },
];

const PREHEAT_COLUMNS = ['id', 'upstream', 'status', 'done', 'failed', 'blobs', { key: 'bytes', header: 'BYTES', format: (v: unknown) => formatBytes(Number(v)) }];

export function registerProxyCommands(program: Command): void {
  const proxy = program.command('proxy').description('pull-through caches (upstreams are configured in the proxy section of the configuration)');
  proxy.command('list').option('--json').action(async (o: { json?: boolean }) => output(await listAll('/proxies'), !!o.json, COLUMNS));
  proxy
    .command('create <name> <url>')
    .description('add an upstream registry, served as a read-only project <name> (the password is read from stdin with --password-stdin)')
    .option('--mirror-of <registry...>', 'registries it mirrors for ?ns= requests (e.g. docker.io)')
    .option('-u, --username <user>', 'user name at the upstream')
    .option('--password-stdin', 'read the upstream password from stdin')
    .option('--public', 'create its project public (anonymous pulls)')
    .option('--tag-ttl-seconds <n>', 'revalidate tags after this long', (v) => Number(v))
    .option('--json')
    .action(async (name: string, url: string, o: { mirrorOf?: string[]; username?: string; passwordStdin?: boolean; public?: boolean; tagTtlSeconds?: number; json?: boolean }) => {
      let password: string | undefined;
      if (o.passwordStdin) {
        const chunks: Buffer[] = [];
        for await (const c of process.stdin) chunks.push(c as Buffer);
        password = Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
      }
      const body = { name, url, ...(o.mirrorOf ? { mirrorOf: o.mirrorOf } : {}), ...(o.username ? { username: o.username } : {}), ...(password ? { password } : {}), ...(o.public ? { public: true } : {}), ...(o.tagTtlSeconds !== undefined ? { tagTtlSeconds: o.tagTtlSeconds } : {}) };
      output(await call('POST', '/proxies', body), !!o.json, COLUMNS);
    });
  proxy.command('delete <name>').description('remove an upstream added through the API').action(async (name: string) => void (await call('DELETE', `/proxies/${encodeURIComponent(name)}`)));
  proxy
    .command('preheat <upstream> <references...>')
    .description('fetch images (name:tag or name@digest, as the upstream names them) into the cache ahead of time')
    .option('--wait', 'wait until it finishes, printing progress on stderr')
    .option('--json')
    .action(async (upstream: string, references: string[], o: { wait?: boolean; json?: boolean }) => {
      let p = await call('POST', `/proxies/${encodeURIComponent(upstream)}/preheat`, { references });
      while (o.wait && (p.status === 'queued' || p.status === 'running')) {
        await new Promise((r) => setTimeout(r, 1000));
        p = await call('GET', `/proxies/${encodeURIComponent(upstream)}/preheat/${p.id}`);
        process.stderr.write(`${p.status}: ${p.done}/${p.references.length} references, ${p.blobs} blobs, ${formatBytes(p.bytes)}\n`);
      }
      output(p, !!o.json, PREHEAT_COLUMNS);
      for (const e of (p.errors as string[]) ?? []) process.stderr.write(`error: ${e}\n`);
      if (p.status === 'failed') process.exitCode = 1;
    });
  proxy
    .command('evict <upstream>')
    .description("apply the upstream's eviction policy now (garbage collection reclaims the bytes)")
    .option('--json')
    .action(async (upstream: string, o: { json?: boolean }) => output(await call('POST', `/proxies/${encodeURIComponent(upstream)}/evict`), !!o.json, ['upstream', 'manifestsEvicted', 'blobsUnlinked', 'bytesBefore', 'bytesAfter']));
}
