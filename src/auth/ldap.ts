/**
 * Passwords checked against an LDAP directory (ldapts): the service account binds and finds
 * the user by the configured filter, then a bind as that user's DN with the password given
 * proves it; groups come from a group search (`groupFilter` with the user's DN) or from the
 * user's `memberOf` values. The directory's answer is the only truth: nothing of the password
 * is kept here, so an outage is an error (LdapUnavailable), never a login against an old
 * password. Values put into filters are escaped (RFC 4515), so a user name cannot widen a search.
 */
import { readFileSync } from 'node:fs';
import { Client, InvalidCredentialsError } from 'ldapts';

export interface LdapOptions {
  /** ldap://host:389 or ldaps://host:636. */
  url: string;
  /** Upgrade an ldap:// connection with StartTLS before binding. */
  startTls: boolean;
  /** PEM CA file to verify the server's certificate; default: the system's. */
  caFile?: string | undefined;
  bindDn: string;
  bindPassword: string;
  userBase: string;
  /** `{username}` is replaced by the escaped user name. */
  userFilter: string;
  /** Attribute holding the user name Berth uses. */
  usernameAttribute: string;
  /** Group search base; when absent, groups are the user's memberOf values. */
  groupBase?: string | undefined;
  /** `{dn}` is replaced by the escaped user DN, `{username}` by the escaped user name. */
  groupFilter: string;
  groupNameAttribute: string;
  timeoutMs: number;
}

export interface DirectoryUser {
  dn: string;
  name: string;
  groups: string[];
}

/** The directory could not be asked (down, unreachable, the service bind refused). */
export class LdapUnavailable extends Error {
  override readonly name = 'LdapUnavailable';
}

/** RFC 4515 escaping of a value in a search filter. */
export function escapeFilterValue(v: string): string {
  return v.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/** The first RDN value of a DN (`cn=devs,ou=groups,...` -> `devs`). */
export function firstRdnValue(dn: string): string {
  const m = /^[^=]+=((?:\\.|[^,\\])*)/.exec(dn);
  return m ? m[1]!.replace(/\\(.)/g, '$1') : dn;
}

function text(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}

export class LdapDirectory {
  private readonly tls: { ca?: Buffer } | undefined;

  constructor(private readonly options: LdapOptions) {
    this.tls = options.caFile ? { ca: readFileSync(options.caFile) } : undefined;
  }

  private client(): Client {
    const ldaps = this.options.url.startsWith('ldaps:');
    return new Client({ url: this.options.url, timeout: this.options.timeoutMs, connectTimeout: this.options.timeoutMs, ...(ldaps && this.tls ? { tlsOptions: this.tls } : {}) });
  }

  private async open(dn: string, password: string): Promise<Client> {
    const c = this.client();
    // The certificate is checked against the URL's host (Node would check `localhost` otherwise).
    if (this.options.startTls) await c.startTLS({ ...(this.tls ?? {}), host: new URL(this.options.url).hostname.replace(/^\[|\]$/g, '') });
    await c.bind(dn, password);
    return c;
  }

  /**
   * The directory user `username` when `password` is theirs; undefined when there is no such
   * user or the password is wrong. Throws LdapUnavailable when the directory cannot answer.
   */
  async authenticate(username: string, password: string): Promise<DirectoryUser | undefined> {
    // An empty password is an "unauthenticated bind" in LDAP, which many servers accept: never.
    if (password === '' || username === '') return undefined;
    const o = this.options;
    let service: Client | undefined;
    try {
      try {
        service = await this.open(o.bindDn, o.bindPassword);
      } catch (e) {
        throw new LdapUnavailable(`the LDAP directory is unavailable (${e instanceof InvalidCredentialsError ? 'the service account bind was refused' : (e as Error).message}); try again later`);
      }
      const filter = o.userFilter.replaceAll('{username}', escapeFilterValue(username));
      let entries;
      try {
        ({ searchEntries: entries } = await service.search(o.userBase, { scope: 'sub', filter, attributes: [o.usernameAttribute, 'memberOf'], sizeLimit: 2 }));
      } catch (e) {
        throw new LdapUnavailable(`the LDAP directory is unavailable (user search failed: ${(e as Error).message}); try again later`);
      }
      if (entries.length !== 1) return undefined;
      const entry = entries[0]!;
      const name = text(entry[o.usernameAttribute])[0] ?? username;
      try {
        const user = await this.open(entry.dn, password);
        await user.unbind().catch(() => {});
      } catch (e) {
        if (e instanceof InvalidCredentialsError) return undefined;
        throw new LdapUnavailable(`the LDAP directory is unavailable (${(e as Error).message}); try again later`);
      }
      let groups: string[];
      if (o.groupBase) {
        const gf = o.groupFilter.replaceAll('{dn}', escapeFilterValue(entry.dn)).replaceAll('{username}', escapeFilterValue(name));
        try {
          const r = await service.search(o.groupBase, { scope: 'sub', filter: gf, attributes: [o.groupNameAttribute] });
          groups = r.searchEntries.flatMap((g) => text(g[o.groupNameAttribute]).slice(0, 1));
        } catch (e) {
          throw new LdapUnavailable(`the LDAP directory is unavailable (group search failed: ${(e as Error).message}); try again later`);
        }
      } else {
        groups = text(entry.memberOf).map(firstRdnValue);
      }
      return { dn: entry.dn, name, groups };
    } finally {
      await service?.unbind().catch(() => {});
    }
  }
}
