/**
 * External scanners over /api/v1 (admins only): list them, register or replace one (the
 * adapter is asked for its metadata first, so a wrong URL changes nothing), remove one. The
 * Authorization header given for an adapter is stored sealed and never shown back.
 */
import { z } from 'zod';
import { ProblemError } from '../../errors/problem.js';
import { ScannerInput, ScannerInputError } from '../../scanning/scanners.js';
import { body, params, systemResource, type ApiRoute } from '../route.js';
import { principalName } from '../../policy/principal.js';

const ScannerView = z.object({ name: z.string(), url: z.string(), registryUrl: z.string(), hasAuthorization: z.boolean(), default: z.boolean(), createdAt: z.number(), updatedAt: z.number() });
const Registered = z.object({ scanner: ScannerView, metadata: z.record(z.string(), z.unknown()) });

export const scannerRoutes: ApiRoute[] = [
  {
    method: 'GET',
    url: '/scanners',
    action: 'system.manage',
    resource: systemResource,
    summary: 'External scanners (Harbor Pluggable Scanner API adapters); the default one scans every image instead of the built-in scanner.',
    body: null,
    query: null,
    response: z.object({ scanners: z.array(ScannerView) }),
    audit: null,
    async handle(_request, _reply, s) {
      return { scanners: await s.security.scanners.list() };
    },
  },
  {
    method: 'PUT',
    url: '/scanners/:scanner',
    action: 'system.manage',
    resource: systemResource,
    summary: "Register or replace an external scanner after checking its metadata (GET {url}/api/v1/metadata).",
    body: ScannerInput,
    query: null,
    response: Registered,
    audit: 'scanner.set',
    async handle(request, _reply, s) {
      try {
        return await s.security.scanners.put(params(request).scanner!, body(ScannerInput, request), principalName(request.principal), request.ip);
      } catch (e) {
        if (e instanceof ScannerInputError) throw new ProblemError('INVALID', e.message.slice(0, 500));
        throw e;
      }
    },
  },
  {
    method: 'DELETE',
    url: '/scanners/:scanner',
    action: 'system.manage',
    resource: systemResource,
    summary: 'Remove an external scanner (scans of images go back to the built-in scanner when it was the default).',
    body: null,
    query: null,
    response: null,
    audit: 'scanner.delete',
    async handle(request, reply, s) {
      const name = params(request).scanner!;
      if (!(await s.security.scanners.delete(name, principalName(request.principal), request.ip))) throw new ProblemError('NOT_FOUND', `no scanner named ${name.slice(0, 100)}`);
      return reply.code(204).send();
    },
  },
];
