/**
 * A focused A/B of blob pulls: the reference registry against Berth (open registry), one
 * 256 MiB blob pushed once to each, then 1-stream and 8-stream pulls (each stream a curl
 * process) alternating between the servers for `BENCH_ROUNDS` rounds; prints each run and the
 * medians. The machine may be shared, so alternating runs and medians are what make the ratio
 * meaningful.
 * `node dist/bench/pull-ab.js` (BENCH_ROUNDS, BENCH_BLOB_MIB, BERTH_WORKERS pass through;
 * BENCH_VARIANTS="a=ENV=v,ENV=v;b=..." starts one Berth per variant with those variables).
 */
import { RegistryClient } from './client.js';
import { blobSpec, MiB } from './payload.js';
import { startBerth, startReference, type Registry } from './servers.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
const size = Number(process.env.BENCH_BLOB_MIB ?? 256) * MiB;
const variants = (process.env.BENCH_VARIANTS ?? 'berth=').split(';').map((v) => {
  const [label, env = ''] = v.split(/=(.*)/s) as [string, string?];
  return { label, env: Object.fromEntries(env.split(',').filter(Boolean).map((kv) => kv.split('=') as [string, string])) };
});

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  try {
    return await fn();
  } finally {
    for (const k of Object.keys(env)) if (saved[k] === undefined) delete process.env[k];
    Object.assign(process.env, saved);
  }
}

async function main(): Promise<void> {
  const blob = blobSpec(1, size);
  const named: { label: string; server: Registry }[] = [{ label: 'reference', server: await startReference('warn') }];
  for (const v of variants) named.push({ label: v.label, server: await withEnv(v.env, () => startBerth('warn')) });
  const clients = named.map((n) => ({ label: n.label, client: new RegistryClient(n.server) }));
  try {
    for (const { client } of clients) await client.pushMonolithic('bench/blobs', blob);
    const results = new Map(clients.map((c) => [c.label, { one: [] as number[], eight: [] as number[] }]));
    const pull = (c: RegistryClient, streams: number) => c.curlPulls('bench/blobs', blob.digest, size, streams);
    for (const { client } of clients) await pull(client, 1); // warm the page cache
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...clients].reverse() : clients;
      for (const c of order) results.get(c.label)!.one.push(await pull(c.client, 1));
      for (const c of order) results.get(c.label)!.eight.push(await pull(c.client, 8));
      console.log(`round ${r}: ` + clients.map((c) => `${c.label} 1x ${results.get(c.label)!.one.at(-1)!.toFixed(0)} 8x ${results.get(c.label)!.eight.at(-1)!.toFixed(0)}`).join(' | '));
    }
    const ref = results.get('reference')!;
    for (const [label, r] of results) {
      console.log(`median MB/s ${label.padEnd(12)} 1 stream ${median(r.one).toFixed(0).padStart(5)} (${(median(r.one) / median(ref.one)).toFixed(2)}x)   8 streams ${median(r.eight).toFixed(0).padStart(5)} (${(median(r.eight) / median(ref.eight)).toFixed(2)}x)`);
    }
  } finally {
    for (const { client } of clients) await client.close();
    for (const n of named) await n.server.stop();
  }
}

await main();
