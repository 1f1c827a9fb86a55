/**
 * Responses leave at the end of the event-loop turn they were answered in (src/http/turn-end-send.ts):
 * nothing is written while the turn's handlers still run, everything is written right after, and
 * every kind of answer (a buffer, a stream, an error, a HEAD) still arrives whole and in its own
 * connection's order.
 */
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { test } from 'node:test';
import Fastify from 'fastify';
import { installTurnEndSend } from '../../src/http/turn-end-send.js';

async function app() {
  const server = Fastify();
  installTurnEndSend(server);
  const seen: { now: boolean; afterTurn: boolean }[] = [];
  server.get('/buffer/:n', async (request, reply) => {
    reply.header('content-type', 'text/plain').send(Buffer.from(`body ${(request.params as { n: string }).n}`));
    const now = reply.raw.writableEnded;
    await new Promise((resolve) => setImmediate(resolve));
    seen.push({ now, afterTurn: reply.raw.writableEnded });
    return reply;
  });
  server.get('/stream', async (_request, reply) => reply.send(Readable.from([Buffer.from('a'), Buffer.from('b')])));
  server.get('/error', async () => {
    throw Object.assign(new Error('refused'), { statusCode: 403 });
  });
  server.head('/head', async (_request, reply) => reply.header('content-length', '7').send());
  await server.listen({ host: '127.0.0.1', port: 0 });
  const address = server.server.address() as { port: number };
  return { server, seen, url: `http://127.0.0.1:${address.port}` };
}

test('a response is written at the end of its turn, not while the turn runs', async () => {
  const { server, seen, url } = await app();
  try {
    const r = await fetch(`${url}/buffer/1`);
    assert.equal(await r.text(), 'body 1');
    assert.deepEqual(seen, [{ now: false, afterTurn: true }]);
  } finally {
    await server.close();
  }
});

test('answers of one turn all arrive whole: buffers, streams, errors and HEADs', async () => {
  const { server, url } = await app();
  try {
    const bodies = await Promise.all(Array.from({ length: 40 }, (_, i) => fetch(`${url}/buffer/${i}`).then((r) => r.text())));
    assert.deepEqual(bodies, Array.from({ length: 40 }, (_, i) => `body ${i}`));
    assert.equal(await (await fetch(`${url}/stream`)).text(), 'ab');
    const refused = await fetch(`${url}/error`);
    assert.equal(refused.status, 403);
    assert.match(await refused.text(), /refused/);
    const head = await fetch(`${url}/head`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '7');
  } finally {
    await server.close();
  }
});
