/**
 * Responses leave at the end of the event-loop turn they were answered in (src/http/turn-end-send.ts):
 * nothing is written while the turn's handlers still run, everything is written right after, and
 * every kind of answer (a buffer, a stream, an error, a HEAD) still arrives whole and in its own
 * connection's order. What fails while it is written is answered as an error, as it was when
 * answers were written at once, and the server goes on.
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
  // Node refuses this header value when the response is written, which is now after the handler.
  server.get('/bad-header', async (_request, reply) => reply.header('x-bad', 'a\nb').send('never'));
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

test('an answer that fails as it is written is answered as an error; the others of its turn still go out', async () => {
  const { server, url } = await app();
  try {
    const [bad, ...good] = await Promise.all([fetch(`${url}/bad-header`), ...Array.from({ length: 5 }, (_, i) => fetch(`${url}/buffer/${i}`))]);
    assert.equal(bad!.status, 500);
    assert.match(await bad!.text(), /Invalid character in header content/);
    assert.deepEqual(await Promise.all(good.map((r) => r.text())), Array.from({ length: 5 }, (_, i) => `body ${i}`));
    assert.equal(await (await fetch(`${url}/buffer/9`)).text(), 'body 9');
  } finally {
    await server.close();
  }
});
