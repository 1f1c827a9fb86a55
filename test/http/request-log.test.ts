/**
 * The request log: one line per response carrying the request's id, and anything logged while
 * handling a request (here the refusal logged at debug level) carries the same id, although the
 * request's own logger is only made when something logs through it (src/http/request-logger.ts).
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import { pino } from 'pino';
import { parseConfig } from '../../src/config/load.js';
import { createBerth } from '../../src/main.js';

test('every response is logged with its request id, and so is what its handling logs', async () => {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line) lines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-log-'));
  const berth = await createBerth(parseConfig({ logLevel: 'debug', auth: { enabled: false }, listen: '127.0.0.1:0', dataDir }), pino({ level: 'debug' }, sink));
  try {
    const url = `http://${await berth.listen()}`;
    const ok = await fetch(`${url}/v2/`, { headers: { 'x-request-id': 'log-ok' } });
    assert.equal(ok.status, 200);
    const missing = await fetch(`${url}/v2/nobody/nothing/manifests/latest`, { headers: { 'x-request-id': 'log-missing' } });
    assert.equal(missing.status, 404);
    assert.equal(missing.headers.get('x-request-id'), 'log-missing');
    // Without an id from the client, the server makes one, answers with it and logs it.
    const fresh = await fetch(`${url}/v2/`);
    const freshId = fresh.headers.get('x-request-id');
    assert.match(freshId ?? '', /^[0-9a-f-]{36}$/);
    // The request line is written once the response has finished, which may be after the client has it.
    const requestLines = () => lines.filter((l) => l.msg === 'request');
    for (let waited = 0; requestLines().length < 3 && waited < 5000; waited += 10) await new Promise((r) => setTimeout(r, 10));

    assert.deepEqual(
      requestLines().map((l) => [l.reqId, l.method, l.url, l.status]),
      [
        ['log-ok', 'GET', '/v2/', 200],
        ['log-missing', 'GET', '/v2/nobody/nothing/manifests/latest', 404],
        [freshId, 'GET', '/v2/', 200],
      ],
    );
    for (const l of requestLines()) assert.equal(typeof l.ms, 'number');
    const refused = lines.filter((l) => l.msg === 'request refused');
    assert.equal(refused.length, 1, JSON.stringify(lines));
    assert.equal(refused[0]!.reqId, 'log-missing');
    assert.equal(refused[0]!.level, 20);
  } finally {
    await berth.close();
    await rm(dataDir, { recursive: true, force: true });
  }
});
