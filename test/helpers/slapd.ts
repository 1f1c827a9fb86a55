/**
 * A real LDAP server for tests: Debian's slapd started by scripts/slapd.sh under a temp
 * folder on a free loopback port, loaded from test/fixtures/ldap.ldif; `modify` applies an
 * LDIF change with ldapmodify as the directory manager, `stop` takes it down.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { missingTools, run } from './tools.js';

export const LDAP_BASE = 'dc=example,dc=org';
export const LDAP_MANAGER = { dn: 'cn=admin,dc=example,dc=org', password: 'admin-secret' };

export interface TestSlapd {
  url: string;
  /** With `tls`: the ldaps:// URL and the CA that signed the server's certificate (ldap:// then offers StartTLS too). */
  tlsUrl?: string;
  caFile?: string;
  modify(ldif: string): Promise<void>;
  stop(): Promise<void>;
  close(): Promise<void>;
}

/** Why the LDAP tests cannot run (outside CI), false when they can; throws under CI=true. */
export function slapdMissing(): string | false {
  return missingTools('slapd', 'slapadd', 'ldapmodify', 'ldapsearch');
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export async function startSlapd(opts: { tls?: boolean } = {}): Promise<TestSlapd> {
  const dir = await mkdtemp(join(tmpdir(), 'berth-slapd-'));
  const port = await freePort();
  const tlsPort = opts.tls ? await freePort() : undefined;
  const script = join(process.cwd(), 'scripts', 'slapd.sh');
  await run(script, ['start', dir, String(port), join(process.cwd(), 'test', 'fixtures', 'ldap.ldif')], tlsPort ? { env: { BERTH_SLAPD_TLS_PORT: String(tlsPort) } } : {});
  const url = `ldap://127.0.0.1:${port}`;
  return {
    url,
    ...(tlsPort ? { tlsUrl: `ldaps://127.0.0.1:${tlsPort}`, caFile: join(dir, 'tls', 'ca.pem') } : {}),
    async modify(ldif) {
      const file = join(dir, `change-${Date.now()}.ldif`);
      const { writeFile } = await import('node:fs/promises');
      await writeFile(file, ldif);
      await run('ldapmodify', ['-x', '-H', url, '-D', LDAP_MANAGER.dn, '-w', LDAP_MANAGER.password, '-f', file]);
    },
    async stop() {
      await run(script, ['stop', dir]);
    },
    async close() {
      await run(script, ['stop', dir]).catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
