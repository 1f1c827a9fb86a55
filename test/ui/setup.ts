/**
 * A Berth for UI tests: access control on, an administrator account ("admin") bootstrapped the
 * way an operator does it (BERTH_ADMIN_PASSWORD at first start).
 */
import { startBerth, type TestBerth } from '../helpers/berth.js';
import type { Creds } from './fixtures.js';

export interface UiBerth extends TestBerth {
  admin: Creds;
}

export async function startUiBerth(): Promise<UiBerth> {
  const admin: Creds = { user: 'admin', password: 'admin-password-for-ui-tests' };
  const before = process.env.BERTH_ADMIN_PASSWORD;
  process.env.BERTH_ADMIN_PASSWORD = admin.password;
  try {
    const b = await startBerth({ auth: { enabled: true } } as never);
    return { ...b, admin };
  } finally {
    if (before === undefined) delete process.env.BERTH_ADMIN_PASSWORD;
    else process.env.BERTH_ADMIN_PASSWORD = before;
  }
}
