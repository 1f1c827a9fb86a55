/**
 * The loopback limit: what the benchmark's own client can receive over 127.0.0.1 from the
 * simplest possible server, a separate Node process writing one reused 1 MiB buffer to the socket
 * (no file, no hash, no database, backpressure honoured). A registry's single-stream pull is
 * compared with this figure, measured in the same run with the same client code.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { RegistryClient } from './client.js';
import type { Registry } from './servers.js';

const SERVER = `
const http = require('node:http');
const size = Number(process.argv[1]);
const unit = Buffer.alloc(1 << 20, 7);
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
  let sent = 0;
  const more = () => {
    while (sent < size) {
      const n = Math.min(unit.length, size - sent);
      sent += n;
      if (!res.write(n === unit.length ? unit : unit.subarray(0, n))) return void res.once('drain', more);
    }
    res.end();
  };
  more();
});
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
`;

/** Starts the minimal server for blobs of `size` bytes; the caller pulls with `client.pullBlob`. */
export async function startLoopbackServer(size: number): Promise<{ client: RegistryClient; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['-e', SERVER, String(size)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout!, 'data')) as [Buffer];
  const url = `http://127.0.0.1:${line.toString().trim()}`;
  const stop = async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  };
  const registry: Registry = {
    name: 'reference',
    label: 'loopback',
    url,
    pid: child.pid!,
    singlePostUpload: false,
    logFile: '',
    headers: {},
    errorLog: () => '',
    stop,
  };
  const client = new RegistryClient(registry);
  return {
    client,
    stop: async () => {
      await client.close();
      await stop();
    },
  };
}
