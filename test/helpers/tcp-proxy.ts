/**
 * A TCP forwarder on a loopback port, for outage tests: Berth talks to a real backend (the
 * shared PostgreSQL server, Ceph RGW) through it, and the test cuts the path (`stop`: the
 * listener closes and every open connection is destroyed, so the backend looks stopped) and
 * restores it (`start`, on the same port) without touching the backend others use.
 */
import { once } from 'node:events';
import { connect, createServer, type Server, type Socket } from 'node:net';

export interface TcpProxy {
  port: number;
  start(): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

export async function tcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const start = async () => {
    const s = createServer((client) => {
      const upstream = connect(targetPort, targetHost);
      sockets.add(client).add(upstream);
      const drop = () => {
        client.destroy();
        upstream.destroy();
        sockets.delete(client);
        sockets.delete(upstream);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream).pipe(client);
    });
    s.listen(port, '127.0.0.1');
    await once(s, 'listening');
    port = (s.address() as { port: number }).port;
    server = s;
  };
  const stop = async () => {
    const s = server;
    server = undefined;
    if (!s) return;
    for (const sock of sockets) sock.destroy();
    sockets.clear();
    await new Promise<void>((ok) => s.close(() => ok()));
  };
  await start();
  return {
    get port() {
      return port;
    },
    start,
    stop,
    close: stop,
  };
}
