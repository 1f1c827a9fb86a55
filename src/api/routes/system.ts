/** `/system/...`: instance-wide operations for system admins (token signing key rotation). */
import { principalName } from '../../policy/principal.js';
import { SigningKeyRotated } from '../schemas.js';
import { systemResource, type ApiRoute } from '../route.js';

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
];
