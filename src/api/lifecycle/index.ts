/**
 * The lifecycle management API as one Fastify plugin (registered by src/http/server.ts). Every
 * route declares its action in `config.action` for the permission hook; errors are problem
 * documents through the one error handler.
 */
import type { FastifyInstance } from 'fastify';
import type { Lifecycle } from '../../lifecycle/services.js';
import { projectLifecycleRoutes } from './projects.js';
import { lifecycleRunRoutes } from './runs.js';

export function lifecycleApiPlugin(lc: Lifecycle) {
  return async function plugin(app: FastifyInstance): Promise<void> {
    projectLifecycleRoutes(app, lc);
    lifecycleRunRoutes(app, lc);
  };
}
