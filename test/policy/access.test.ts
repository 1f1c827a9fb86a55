/**
 * The policy service (src/policy/access.ts) in front of a store double that counts its reads:
 * a registry token is decided by its grants alone and reads nothing (every pull with a token
 * takes this path), while an account's decision reads the project and the account's roles
 * once and then answers from its cache until a change is announced.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AuthStore, ProjectRecord, Role } from '../../src/metadata/auth-store.js';
import { AccessService } from '../../src/policy/access.js';
import type { Principal } from '../../src/policy/principal.js';

function countingStore() {
  const reads = { projects: 0, roles: 0 };
  const project: ProjectRecord = { name: 'team', public: false, createdAt: 1 };
  const store = {
    projects: {
      get: async (name: string) => {
        reads.projects++;
        return name === 'team' ? project : undefined;
      },
    },
    members: {
      rolesOf: async (): Promise<Record<string, Role>> => {
        reads.roles++;
        return { team: 'developer' };
      },
    },
  } as unknown as AuthStore;
  return { store, reads };
}

const resource = { kind: 'repository', name: 'team/app', project: 'team' } as const;

test('a registry token is decided by its grants without reading the project or any role', async () => {
  const { store, reads } = countingStore();
  const access = new AccessService(store, { autoCreateProjects: false, projectCreation: 'everyone' });
  const token: Principal = { kind: 'token', subject: 'carol', grants: [{ type: 'repository', name: 'team/app', actions: ['pull'] }] };
  assert.equal((await access.check(token, 'pull', resource)).allow, true);
  const refused = await access.check(token, 'push', resource);
  assert.equal(refused.allow, false);
  assert.match(refused.allow ? '' : refused.reason, /token does not grant push on repository team\/app/);
  assert.deepEqual(reads, { projects: 0, roles: 0 });
});

test("an account's decision reads its facts once, then answers from the cache until a change is announced", async () => {
  const { store, reads } = countingStore();
  const access = new AccessService(store, { autoCreateProjects: false, projectCreation: 'everyone' });
  const carol: Principal = { kind: 'user', id: 7, name: 'carol', admin: false, via: 'password' };
  assert.equal((await access.check(carol, 'push', resource)).allow, true);
  assert.equal((await access.check(carol, 'pull', resource)).allow, true);
  assert.deepEqual(reads, { projects: 1, roles: 1 });
  await access.invalidate();
  assert.equal((await access.check(carol, 'pull', resource)).allow, true);
  assert.deepEqual(reads, { projects: 2, roles: 2 });
});
