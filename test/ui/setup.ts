/**
 * A Berth for UI tests: access control on, with the administrator account ("admin") that the
 * access-control test helper bootstraps through BERTH_ADMIN_PASSWORD.
 */
import { ADMIN_PASSWORD, startAuthBerth } from '../helpers/auth.js';
import type { TestBerth } from '../helpers/berth.js';
import type { Creds } from './fixtures.js';

export interface UiBerth extends TestBerth {
  admin: Creds;
}

export async function startUiBerth(): Promise<UiBerth> {
  const b = await startAuthBerth();
  return Object.assign(b, { admin: { user: 'admin', password: ADMIN_PASSWORD } });
}
