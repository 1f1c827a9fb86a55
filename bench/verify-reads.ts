/**
 * The cost of `storage.verifyReads` on blob pulls from the filesystem store: two Berth
 * processes, one verifying whole-blob reads (hashing as they stream) and one not, each with
 * the same blob, pulled alternately in 1-stream and 4-stream rounds; prints each round and the
 * medians, and the verifying server's throughput relative to the plain one. Each stream is a
 * curl process; client and servers share the machine, as in the other pull benchmarks. The
 * README's default for verifyReads follows this measurement (on when the cost is under 10%).
 * `node dist/bench/verify-reads.js` (BENCH_ROUNDS, default 7; BENCH_BLOB_MIB, default 256).
 */
import { RegistryClient } from './client.js';
import { blobSpec, MiB } from './payload.js';
import { startBerth } from './servers.js';

const rounds = Number(process.env.BENCH_ROUNDS ?? 7);
const size = Number(process.env.BENCH_BLOB_MIB ?? 256) * MiB;
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function main(): Promise<void> {
  const blob = blobSpec(1, size);
  const servers = [
    { label: 'plain', server: await startBerth('warn', { label: 'plain', env: { BERTH_STORAGE__DRIVER: 'filesystem', BERTH_STORAGE__VERIFY_READS: 'false' } }) },
    { label: 'verify', server: await startBerth('warn', { label: 'verify', env: { BERTH_STORAGE__DRIVER: 'filesystem', BERTH_STORAGE__VERIFY_READS: 'true' } }) },
  ];
  const clients = servers.map((s) => ({ label: s.label, client: new RegistryClient(s.server) }));
  const results = new Map(clients.map((c) => [c.label, { one: [] as number[], four: [] as number[] }]));
  try {
    for (const { client } of clients) await client.pushMonolithic('bench/verify', blob);
    const pull = (c: RegistryClient, streams: number) => c.curlPulls('bench/verify', blob.digest, size, streams);
    for (const { client } of clients) await pull(client, 1); // warm the page cache
    for (let r = 0; r < rounds; r++) {
      const order = r % 2 ? [...clients].reverse() : clients;
      for (const c of order) results.get(c.label)!.one.push(await pull(c.client, 1));
      for (const c of order) results.get(c.label)!.four.push(await pull(c.client, 4));
      console.log(`round ${r}: ` + clients.map((c) => `${c.label} 1x ${results.get(c.label)!.one.at(-1)!.toFixed(0)} 4x ${results.get(c.label)!.four.at(-1)!.toFixed(0)}`).join(' | '));
    }
    const plain = results.get('plain')!;
    const verify = results.get('verify')!;
    for (const [label, r] of results) console.log(`median MB/s ${label.padEnd(7)} 1 stream ${median(r.one).toFixed(0).padStart(5)}   4 streams ${median(r.four).toFixed(0).padStart(5)}`);
    const cost = (a: number[], b: number[]) => ((1 - median(b) / median(a)) * 100).toFixed(1);
    console.log(`verifyReads cost: ${cost(plain.one, verify.one)}% (1 stream), ${cost(plain.four, verify.four)}% (4 streams)`);
  } finally {
    for (const { client } of clients) await client.close();
    for (const s of servers) await s.server.stop();
  }
}

await main();
