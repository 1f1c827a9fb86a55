/**
 * TLS on the listener with a test CA made by openssl: curl speaks HTTP/2 and HTTP/1.1 to the
 * same port, skopeo pushes and pulls an image over it (Go negotiates HTTP/2), and a reloaded
 * certificate is served to new connections while an open connection keeps working.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { after, before, describe, it } from 'node:test';
import { startBerth, type TestBerth } from '../helpers/berth.js';
import { initLayout, readBlob, refDescriptor, umociImage } from '../helpers/layout.js';
import { missingTools, run } from '../helpers/tools.js';

async function makeCert(dir: string, name: string): Promise<void> {
  await run('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, `${name}.key`), '-subj', `/CN=${name}`, '-out', join(dir, `${name}.csr`)]);
  await writeFile(join(dir, `${name}.ext`), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await run('openssl', ['x509', '-req', '-in', join(dir, `${name}.csr`), '-CA', join(dir, 'ca.crt'), '-CAkey', join(dir, 'ca.key'), '-CAcreateserial', '-days', '2', '-extfile', join(dir, `${name}.ext`), '-out', join(dir, `${name}.crt`)]);
}

/** The CN of the certificate a new TLS connection is served. */
async function servedCn(host: string, ca: Buffer): Promise<string> {
  const [h, p] = [host.slice(0, host.lastIndexOf(':')), Number(host.slice(host.lastIndexOf(':') + 1))];
  const s = connect({ host: h, port: p, ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
  await once(s, 'secureConnect');
  const cn = String(s.getPeerCertificate().subject.CN);
  s.destroy();
  return cn;
}

describe('TLS', { skip: missingTools('openssl', 'curl', 'skopeo', 'umoci') }, () => {
  let dir: string;
  let b: TestBerth;
  let ca: Buffer;
  let https: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'berth-tls-'));
    await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'ca.key'), '-subj', '/CN=berth-test-ca', '-days', '2', '-out', join(dir, 'ca.crt')]);
    await makeCert(dir, 'first');
    await makeCert(dir, 'second');
    await copyFile(join(dir, 'first.crt'), join(dir, 'server.crt'));
    await copyFile(join(dir, 'first.key'), join(dir, 'server.key'));
    ca = await readFile(join(dir, 'ca.crt'));
    b = await startBerth({ tls: { cert: join(dir, 'server.crt'), key: join(dir, 'server.key') } });
    https = `https://${b.host}`;
  });
  after(async () => {
    await b?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('answers curl over HTTP/2 and HTTP/1.1 on one port, verified by the test CA', async () => {
    for (const [flag, version] of [['--http2', '2'], ['--http1.1', '1.1']] as const) {
      const r = await run('curl', ['-sS', flag, '--cacert', join(dir, 'ca.crt'), '-o', '/dev/null', '-w', '%{http_code} %{http_version}', `${https}/v2/`]);
      assert.equal(r.stdout, `200 ${version}`);
    }
    // Without the CA the certificate is refused.
    await assert.rejects(run('curl', ['-sS', '-o', '/dev/null', `${https}/v2/`]), /certificate/);
  });

  it('takes a push and a pull from skopeo', async () => {
    const layout = join(dir, 'layout');
    await initLayout(layout);
    const image = await umociImage(layout, 'v1', { scratch: dir, files: { '/data.bin': 'y'.repeat(300_000) } });
    const certs = join(dir, 'certs');
    await run('mkdir', ['-p', certs]);
    await copyFile(join(dir, 'ca.crt'), join(certs, 'ca.crt'));
    const ref = `docker://${b.host}/tls/app:v1`;
    await run('skopeo', ['--insecure-policy', 'copy', '--dest-cert-dir', certs, `oci:${layout}:v1`, ref], { timeoutMs: 120_000 });
    const back = join(dir, 'back');
    await run('skopeo', ['--insecure-policy', 'copy', '--src-cert-dir', certs, ref, `oci:${back}:v1`], { timeoutMs: 120_000 });
    const pulled = await refDescriptor(back, 'v1');
    assert.equal(pulled.digest, image.digest);
    const manifest = JSON.parse((await readBlob(back, pulled.digest)).toString()) as { layers: { digest: string }[] };
    for (const l of manifest.layers) assert.deepEqual(await readBlob(back, l.digest), await readBlob(layout, l.digest));
  });

  it('serves a reloaded certificate to new connections while an open one keeps working', async () => {
    assert.equal(await servedCn(b.host, ca), 'first');
    const [h, p] = [b.host.slice(0, b.host.lastIndexOf(':')), Number(b.host.slice(b.host.lastIndexOf(':') + 1))];
    const open = connect({ host: h, port: p, ca, servername: 'localhost', ALPNProtocols: ['http/1.1'] });
    await once(open, 'secureConnect');

    await copyFile(join(dir, 'second.crt'), join(dir, 'server.crt'));
    await copyFile(join(dir, 'second.key'), join(dir, 'server.key'));
    await b.berth.reloadTls();
    assert.equal(await servedCn(b.host, ca), 'second');

    open.write(`GET /v2/ HTTP/1.1\r\nHost: ${b.host}\r\nConnection: close\r\n\r\n`);
    let answer = '';
    open.setEncoding('utf8').on('data', (d: string) => (answer += d));
    await once(open, 'end');
    assert.match(answer, /^HTTP\/1\.1 200 /, 'the connection opened before the reload still answers');

    // A bad pair is refused and the running certificate stays.
    await writeFile(join(dir, 'server.key'), 'not a key');
    await assert.rejects(b.berth.reloadTls());
    assert.equal(await servedCn(b.host, ca), 'second');
  });
});
