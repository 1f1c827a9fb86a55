/** `/system/...`: instance-wide operations for system admins (token signing key rotation, read-only mode). */
import { ProblemError } from '../../errors/problem.js';
import { principalName } from '../../policy/principal.js';
import { ReadOnlyChange, ReadOnlyState, SigningKeyRotated } from '../schemas.js';
import { body, systemResource, type ApiRoute } from '../route.js';

export const systemRoutes: ApiRoute[] = [
  {
    method: 'POST',
    url: '/system/signing-keys/rotate',
    action: 'system.manage',
    resource: systemResource,
    body: null,
    query: null,
    response: SigningKeyRotated,
    audit: 'signing-key.rotate',
    summary: 'Sign registry tokens with a new key from now on; tokens signed by the old key stay valid until they expire.',
    async handle(request, _reply, s) {
      const kid = await s.tokens.rotate();
      s.audit.record({ actor: principalName(request.principal), action: 'signing-key.rotate', resource: `key:${kid}`, result: 'success', sourceAddress: request.ip });
      return { kid };
    },
  },
  {
    method: 'GET',
    url: '/system/read-only',
    action: 'signedIn',
    resource: systemResource,
    body: null,
    query: null,
    response: ReadOnlyState,
    audit: null,
    summary: 'Whether the registry is read-only (pushes, deletes and changes refused), why, and who switched it.',
    async handle(_request, _reply, s) {
      return s.readOnly.state();
    },
  },
  {
    method: 'POST',
    url: '/system/read-only',
    action: 'system.manage',
    resource: systemResource,
    body: ReadOnlyChange,
    query: null,
    response: ReadOnlyState,
    audit: 'system.read-only',
    summary: 'Turn read-only mode on or off for every node (each follows within readOnly.recheckSeconds); readOnly.enabled in the configuration cannot be turned off here.',
    async handle(request, _reply, s) {
      const change = body(ReadOnlyChange, request);
      const current = await s.readOnly.state();
      if (current.source === 'config' && !change.enabled) throw new ProblemError('CONFLICT', 'read-only mode is forced by readOnly.enabled in the configuration; change it there');
      const actor = principalName(request.principal);
      const state = await s.readOnly.set(change.enabled, change.reason ?? '', actor);
      s.audit.record({ actor, action: 'system.read-only', resource: `read-only:${change.enabled ? 'on' : 'off'}`, result: 'success', sourceAddress: request.ip });
      return state;
    },
  },
];
