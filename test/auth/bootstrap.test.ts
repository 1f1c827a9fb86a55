/**
 * The first admin: BERTH_ADMIN_PASSWORD sets its password on the first start only; on a later
 * start, with the admin in place, the variable is ignored, and the log says so (and how to
 * reset a lost password) instead of leaving the operator to wonder why it does not work.
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

async function start(dataDir: string, adminPassword: string): Promise<string> {
  let log = '';
  const sink = new Writable({
    write(chunk, _enc, done) {
      log += chunk;
      done();
    },
  });
  const prev = process.env.BERTH_ADMIN_PASSWORD;
  process.env.BERTH_ADMIN_PASSWORD = adminPassword;
  try {
    const berth = await createBerth(parseConfig({ listen: '127.0.0.1:0', dataDir, auth: { enabled: true }, lifecycle: { schedulerEnabled: false } }), pino({ level: 'info' }, sink));
    await berth.close();
  } finally {
    if (prev === undefined) delete process.env.BERTH_ADMIN_PASSWORD;
    else process.env.BERTH_ADMIN_PASSWORD = prev;
  }
  return log;
}

test('an ignored BERTH_ADMIN_PASSWORD is reported in the log', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'berth-bootstrap-'));
  try {
    const first = await start(dataDir, 'first-password-1');
    assert.match(first, /created the system admin \\"admin\\" from BERTH_ADMIN_PASSWORD/);
    assert.doesNotMatch(first, /ignored/);
    const second = await start(dataDir, 'second-password-2');
    const line = second.split('\n').find((l) => l.includes('BERTH_ADMIN_PASSWORD'));
    assert.ok(line, `the second start logs about BERTH_ADMIN_PASSWORD:\n${second}`);
    const entry = JSON.parse(line) as { level: number; msg: string };
    assert.equal(entry.level, 40, 'a warning');
    assert.match(entry.msg, /BERTH_ADMIN_PASSWORD is ignored: the admin account exists already/);
    assert.match(entry.msg, /berth user passwd admin --data-dir/);
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});
