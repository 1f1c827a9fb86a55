/**
 * A real OpenID Provider for tests: `oidc-provider` (the certified Node implementation) on a
 * loopback port, with one confidential client for Berth and its built-in development login
 * (any login name, any password: the login name is the account), and the device flow for
 * the CLI. Each account's groups are
 * read at every sign-in from `groups`, so a test can move a user between groups. The provider
 * serves the groups claim from userinfo (not the ID token), as many real providers do.
 *
 * Its development pages import a web font from the internet: tests drive them with every
 * request off loopback refused (see `blockInternet`).
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext } from 'playwright-core';

export interface TestOidcProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  /** Account -> groups, read at each sign-in. */
  groups: Map<string, string[]>;
  /** Registers Berth's callback URL (the client is created with it). */
  setRedirectUri(uri: string): Promise<void>;
  /** Replaces the signing key (and the provider's sessions, as a restart would): ID tokens name a new kid. */
  rotateKeys(): Promise<void>;
  close(): Promise<void>;
}

export async function startOidcProvider(): Promise<TestOidcProvider> {
  let handler: ((req: IncomingMessage, res: ServerResponse) => void) | undefined;
  const server = createServer((req, res) => {
    if (handler) handler(req, res);
    else {
      res.statusCode = 503;
      res.end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const groups = new Map<string, string[]>();
  const clientId = 'berth';
  const clientSecret = 'berth-client-secret-0123456789';
  let redirectUri = '';
  async function build(): Promise<void> {
    const { default: Provider } = await import('oidc-provider');
    const { generateKeyPair, exportJWK } = await import('jose');
    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: `k-${Date.now()}`, alg: 'RS256', use: 'sig' };
    const provider = new Provider(issuer, {
      jwks: { keys: [jwk] },
      clients: [{ client_id: clientId, client_secret: clientSecret, redirect_uris: [redirectUri], response_types: ['code'], grant_types: ['authorization_code', 'urn:ietf:params:oauth:grant-type:device_code'], token_endpoint_auth_method: 'client_secret_basic' }],
      async findAccount(_ctx, id) {
        return { accountId: id, claims: async () => ({ sub: id, preferred_username: id, email: `${id}@example.org`, groups: groups.get(id) ?? [] }) };
      },
      claims: { openid: ['sub'], profile: ['preferred_username'], email: ['email'], groups: ['groups'] },
      scopes: ['openid', 'profile', 'email', 'groups'],
      features: { devInteractions: { enabled: true }, deviceFlow: { enabled: true } },
      pkce: { required: () => true },
      cookies: { keys: ['oidc-provider-test-cookie-key'] },
    });
    handler = provider.callback();
  }
  return {
    issuer,
    clientId,
    clientSecret,
    groups,
    async setRedirectUri(uri) {
      redirectUri = uri;
      await build();
    },
    rotateKeys: build,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

/** Refuses every request of the context that leaves loopback (no test reaches the internet); returns what was refused. */
export async function blockInternet(context: BrowserContext): Promise<string[]> {
  const refused: string[] = [];
  await context.route(/^(?!https?:\/\/127\.0\.0\.1[:/])/, async (route) => {
    refused.push(route.request().url());
    await route.abort();
  });
  return refused;
}
