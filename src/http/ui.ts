/**
 * Serves the web UI (the single-page app built into ui/dist by `npm run build:ui`) under /ui:
 * hashed assets cached for a year, index.html never cached, every other GET under /ui that asks
 * for HTML answered with index.html so client-side routes survive a reload, and `/` redirected
 * to `/ui/`. Security headers (CSP, no framing) apply to everything this plugin sends. When the
 * UI was not built, /ui answers 503 with a problem document saying how to build it.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { ProblemError } from '../errors/problem.js';

export interface UiOptions {
  /** Folder holding the built UI (index.html + assets/). */
  root: string;
}

/** ui/dist of this package, from the compiled file (dist/src/http/ui.js) or the source. */
export function defaultUiRoot(): string {
  const compiled = fileURLToPath(new URL('../../../ui/dist', import.meta.url));
  return existsSync(compiled) ? compiled : fileURLToPath(new URL('../../ui/dist', import.meta.url));
}

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'same-origin',
};

const IMMUTABLE = 'public, max-age=31536000, immutable';

function wantsHtml(request: FastifyRequest): boolean {
  if (request.method !== 'GET' && request.method !== 'HEAD') return false;
  // A missing file with an extension (a stale asset) is a real 404, not a client route.
  const path = request.url.split('?')[0];
  if (/\.[a-z0-9]+$/i.test(path) && !path.endsWith('.html')) return false;
  return (request.headers.accept ?? '*/*').includes('text/html') || (request.headers.accept ?? '').includes('*/*');
}

export function uiPlugin(opts: UiOptions): FastifyPluginAsync {
  return async (app: FastifyInstance) => {
    // Every route declares its action for the one permission point; the UI's files are public
    // (what a page may show is decided by /api/v1 for the signed-in user).
    const config = { action: 'anyone' as const };
    app.get('/', { config }, async (_request, reply) => reply.redirect('/ui/', 302));
    app.get('/ui', { config }, async (_request, reply) => reply.redirect('/ui/', 301));

    const built = existsSync(join(opts.root, 'index.html'));
    await app.register(
      async (ui) => {
        ui.addHook('onSend', async (_request, reply, payload) => {
          reply.headers(SECURITY_HEADERS);
          return payload;
        });
        if (!built) {
          ui.get('/*', { config }, async () => {
            throw new ProblemError('UNAVAILABLE', 'the web UI is not built; run `npm run build:ui` to build it into ui/dist');
          });
          return;
        }
        // The built files, listed once: ui/dist does not change while the server runs. Only these
        // paths are ever handed to sendFile, which also refuses anything outside the root.
        const files = new Set(
          readdirSync(opts.root, { recursive: true, withFileTypes: true })
            .filter((e) => e.isFile())
            .map((e) => relative(opts.root, join(e.parentPath, e.name)).split('\\').join('/')),
        );
        await ui.register(fastifyStatic, {
          root: opts.root,
          serve: false,
          cacheControl: false,
          setHeaders: (res, path) => {
            res.setHeader('Cache-Control', path.startsWith(join(opts.root, 'assets')) ? IMMUTABLE : 'no-cache');
          },
        });
        ui.get('/*', { config }, async (request: FastifyRequest<{ Params: { '*': string } }>, reply: FastifyReply) => {
          const path = request.params['*'] ?? '';
          if (files.has(path) && path !== 'index.html') return reply.sendFile(path);
          // Client-side routes (and /ui/ itself) get the app; a missing file with an extension
          // (a stale asset) is a real 404.
          if (path !== '' && !wantsHtml(request)) throw new ProblemError('NOT_FOUND', `no UI file at ${request.url.split('?')[0]}`);
          reply.header('Cache-Control', 'no-cache');
          return reply.sendFile('index.html');
        });
      },
      { prefix: '/ui' },
    );
  };
}
