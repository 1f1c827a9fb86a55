/**
 * Serves the web UI (the single-page app built into ui/dist by `npm run build:ui`) under /ui:
 * hashed assets cached for a year, index.html never cached, every other GET under /ui that asks
 * for HTML answered with index.html so client-side routes survive a reload, and `/` redirected
 * to `/ui/`. Security headers (CSP, no framing) apply to everything this plugin sends. When the
 * UI was not built, /ui answers 503 with a problem document saying how to build it.
 */
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import { extname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
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

/** The types of what Vite emits (ui/dist holds nothing else). */
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

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
        // A few immutable files: streamed as they are, with their type, length and caching (no
        // static-file plugin loaded for it; the files never change while the server runs).
        const send = (reply: FastifyReply, path: string) => {
          const file = join(opts.root, path);
          reply.header('Content-Type', TYPES[extname(path)] ?? 'application/octet-stream');
          reply.header('Content-Length', String(statSync(file).size));
          reply.header('Cache-Control', path.startsWith('assets/') ? IMMUTABLE : 'no-cache');
          return reply.send(createReadStream(file));
        };
        ui.get('/*', { config }, async (request: FastifyRequest<{ Params: { '*': string } }>, reply: FastifyReply) => {
          const path = request.params['*'] ?? '';
          if (files.has(path) && path !== 'index.html') return send(reply, path);
          // Client-side routes (and /ui/ itself) get the app; a missing file with an extension
          // (a stale asset) is a real 404.
          if (path !== '' && !wantsHtml(request)) throw new ProblemError('NOT_FOUND', `no UI file at ${request.url.split('?')[0]}`);
          return send(reply, 'index.html');
        });
      },
      { prefix: '/ui' },
    );
  };
}
