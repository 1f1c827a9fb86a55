/**
 * `authorize()` on its own, without a server or a store: the role table walked action by
 * action, system admins, robots, personal access token scopes, registry tokens, public,
 * private and missing projects, and the no-enumeration rule (a private project the caller
 * has no part in and a project that does not exist are refused in exactly the same words).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ProjectRecord, Role } from '../../src/metadata/auth-store.js';
import { authorize, type Decision, type Facts, type Resource } from '../../src/policy/authorize.js';
import type { Principal } from '../../src/policy/principal.js';
import { ACCOUNT_ACTIONS, PROJECT_ACTIONS, REPOSITORY_ACTIONS, SYSTEM_ACTIONS, type Action } from '../../src/policy/roles.js';

const PRIVATE: ProjectRecord = { name: 'team', public: false, createdAt: 1 };
const PUBLIC: ProjectRecord = { name: 'open', public: true, createdAt: 1 };
const repo = (project: string): Resource => ({ kind: 'repository', name: `${project}/app`, project });
const proj = (project: string): Resource => ({ kind: 'project', project });
const SYSTEM: Resource = { kind: 'system' };

const anonymous: Principal = { kind: 'anonymous' };
const user = (over: Partial<Extract<Principal, { kind: 'user' }>> = {}): Principal => ({ kind: 'user', id: 7, name: 'carol', admin: false, via: 'password', ...over });
const admin = user({ id: 1, name: 'admin', admin: true });
const robot = (permissions: Record<string, ('pull' | 'push' | 'delete')[]>): Principal => ({ kind: 'robot', id: 3, name: 'team+ci', project: 'team', permissions });
const token = (grants: Extract<Principal, { kind: 'token' }>['grants']): Principal => ({ kind: 'token', subject: 'carol', grants });

function facts(over: Partial<Facts> = {}): Facts {
  return { autoCreateProjects: false, projectCreation: 'everyone', ...over };
}

const allowed = (d: Decision) => d.allow;
const reason = (d: Decision) => (d.allow ? 'allowed' : d.reason);

/** Written out here rather than read from roles.ts, so a change to the table fails this test. */
const EXPECTED: Record<Role, string[]> = {
  guest: ['pull', 'project.read', 'members.read'],
  developer: ['pull', 'push', 'delete', 'project.read', 'members.read'],
  maintainer: ['pull', 'push', 'delete', 'project.read', 'members.read', 'robots.read', 'robots.manage', 'policies.manage', 'trust.read', 'trust.manage', 'webhooks.manage', 'audit.read'],
  admin: ['pull', 'push', 'delete', ...PROJECT_ACTIONS],
};

describe('authorize: the role table', () => {
  for (const role of Object.keys(EXPECTED) as Role[]) {
    it(`${role}: exactly its actions, in a private and in a public project`, () => {
      for (const project of [PRIVATE, PUBLIC]) {
        for (const action of [...REPOSITORY_ACTIONS, ...PROJECT_ACTIONS]) {
          const resource = (REPOSITORY_ACTIONS as readonly string[]).includes(action) ? repo(project.name) : proj(project.name);
          const d = authorize(user(), action, resource, facts({ project, role }));
          const publicGrant = project.public && (action === 'pull' || action === 'project.read');
          assert.equal(allowed(d), EXPECTED[role].includes(action) || publicGrant, `${role} ${action} in ${project.name}`);
          if (!d.allow) {
            assert.equal(d.needsLogin, false);
            assert.match(d.reason, new RegExp(`role ${role} in project ${project.name} does not allow it`));
          }
        }
      }
    });
  }

  it('a signed-in non-member may pull and read a public project, nothing else', () => {
    for (const action of [...REPOSITORY_ACTIONS, ...PROJECT_ACTIONS]) {
      const d = authorize(user(), action, proj(PUBLIC.name), facts({ project: PUBLIC }));
      assert.equal(allowed(d), action === 'pull' || action === 'project.read', action);
      if (!d.allow) assert.match(d.reason, /you are not a member of project open/);
    }
  });
});

describe('authorize: anonymous callers', () => {
  it('may pull from a public project; anything else asks them to sign in', () => {
    assert.equal(allowed(authorize(anonymous, 'pull', repo('open'), facts({ project: PUBLIC }))), true);
    assert.equal(allowed(authorize(anonymous, 'project.read', proj('open'), facts({ project: PUBLIC }))), true);
    for (const action of ['push', 'delete', 'project.update', 'members.read'] as const) {
      const d = authorize(anonymous, action, action === 'push' || action === 'delete' ? repo('open') : proj('open'), facts({ project: PUBLIC }));
      assert.deepEqual(d, { allow: false, needsLogin: true, reason: `authentication required for ${action} on ${action === 'push' || action === 'delete' ? 'repository open/app' : 'project open'}` });
    }
  });

  it('are refused every system action but the base check and `anyone`; `base` and `catalog` need a login', () => {
    assert.equal(allowed(authorize(anonymous, 'anyone', SYSTEM, facts())), true);
    for (const action of SYSTEM_ACTIONS.filter((a) => a !== 'anyone')) {
      const d = authorize(anonymous, action, SYSTEM, facts());
      assert.equal(d.allow, false, action);
      assert.equal(!d.allow && d.needsLogin, true, action);
    }
    assert.deepEqual(authorize(anonymous, 'base', SYSTEM, facts()), { allow: false, needsLogin: true, reason: 'authentication required' });
    assert.equal(allowed(authorize(anonymous, 'catalog', SYSTEM, facts())), false);
    assert.equal(allowed(authorize(user(), 'base', SYSTEM, facts())), true);
    assert.equal(allowed(authorize(user(), 'catalog', SYSTEM, facts())), true);
    assert.equal(allowed(authorize(user(), 'signedIn', SYSTEM, facts())), true);
  });
});

describe('authorize: no enumeration', () => {
  const everyAction: Action[] = [...REPOSITORY_ACTIONS, ...PROJECT_ACTIONS];
  const callers: [string, Principal][] = [
    ['anonymous', anonymous],
    ['a non-member', user()],
    ['a robot of another project', robot({ other: ['pull', 'push'] })],
  ];
  for (const [who, principal] of callers) {
    it(`${who}: a private project they have no part in reads exactly like a missing one`, () => {
      for (const action of everyAction) {
        const resource = (REPOSITORY_ACTIONS as readonly string[]).includes(action) ? repo('team') : proj('team');
        const hidden = authorize(principal, action, resource, facts({ project: PRIVATE }));
        const missing = authorize(principal, action, resource, facts({ project: undefined }));
        assert.equal(hidden.allow, false, `${who} ${action}`);
        assert.deepEqual(hidden, missing, `${who} ${action}: same status and words`);
        if (principal.kind !== 'anonymous') assert.match(reason(hidden), /project team does not exist or you are not a member of it/);
      }
    });
  }

  it('members and system admins get the precise reason instead', () => {
    const member = authorize(user(), 'members.manage', proj('team'), facts({ project: PRIVATE, role: 'guest' }));
    assert.match(reason(member), /role guest in project team does not allow it/);
    const push = authorize(admin, 'push', repo('team'), facts({ project: undefined }));
    assert.match(reason(push), /project team does not exist; create it first/);
    assert.equal(allowed(authorize(admin, 'pull', repo('team'), facts({ project: undefined }))), true, 'the handler answers unknown');
  });

  it('auto-created projects: a signed-in user may push into a missing project, and only a user', () => {
    assert.deepEqual(authorize(user(), 'push', repo('new'), facts({ autoCreateProjects: true })), { allow: true, createProject: true });
    assert.equal(allowed(authorize(user(), 'pull', repo('new'), facts({ autoCreateProjects: true }))), false);
    assert.equal(allowed(authorize(robot({ new: ['push'] }), 'push', repo('new'), facts({ autoCreateProjects: true }))), false);
    assert.equal(allowed(authorize(anonymous, 'push', repo('new'), facts({ autoCreateProjects: true }))), false);
  });
});

describe('authorize: system admins, system and user resources', () => {
  it('a system admin may do every project action in an existing project without a role', () => {
    for (const action of [...REPOSITORY_ACTIONS, ...PROJECT_ACTIONS]) assert.equal(allowed(authorize(admin, action, proj('team'), facts({ project: PRIVATE }))), true, action);
    for (const action of SYSTEM_ACTIONS) assert.equal(allowed(authorize(admin, action, SYSTEM, facts({ projectCreation: 'adminOnly' }))), true, action);
  });

  it('project creation follows auth.projectCreation, and only users create projects', () => {
    assert.equal(allowed(authorize(user(), 'project.create', SYSTEM, facts({ projectCreation: 'everyone' }))), true);
    assert.match(reason(authorize(user(), 'project.create', SYSTEM, facts({ projectCreation: 'adminOnly' }))), /only system admins may create projects/);
    assert.match(reason(authorize(robot({ team: ['push'] }), 'project.create', SYSTEM, facts())), /only users may create projects/);
    for (const action of ['users.manage', 'system.manage', 'audit.read.all'] as const) assert.match(reason(authorize(user(), action, SYSTEM, facts())), new RegExp(`${action.replace(/\./g, '\\.')} needs a system admin`));
  });

  it('an account is managed by its user or a system admin', () => {
    for (const action of ACCOUNT_ACTIONS) {
      assert.equal(allowed(authorize(user(), action, { kind: 'user', name: 'carol' }, facts())), true);
      assert.equal(allowed(authorize(admin, action, { kind: 'user', name: 'carol' }, facts())), true);
      assert.match(reason(authorize(user(), action, { kind: 'user', name: 'dave' }, facts())), /needs that user or a system admin/);
      assert.equal(allowed(authorize(robot({}), action, { kind: 'user', name: 'team+ci' }, facts())), false);
    }
  });
});

describe('authorize: robots', () => {
  it('hold exactly their repository permissions in their project, and may read it', () => {
    const ci = robot({ team: ['pull', 'push'] });
    assert.equal(allowed(authorize(ci, 'pull', repo('team'), facts({ project: PRIVATE }))), true);
    assert.equal(allowed(authorize(ci, 'push', repo('team'), facts({ project: PRIVATE }))), true);
    assert.match(reason(authorize(ci, 'delete', repo('team'), facts({ project: PRIVATE }))), /robot team\+ci lacks delete on repository team\/app/);
    assert.equal(allowed(authorize(ci, 'project.read', proj('team'), facts({ project: PRIVATE }))), true);
    for (const action of PROJECT_ACTIONS.filter((a) => a !== 'project.read')) assert.equal(allowed(authorize(ci, action, proj('team'), facts({ project: PRIVATE }))), false, action);
  });

  it('may pull from any public project, and no more', () => {
    const ci = robot({ team: ['pull'] });
    assert.equal(allowed(authorize(ci, 'pull', repo('open'), facts({ project: PUBLIC }))), true);
    assert.match(reason(authorize(ci, 'push', repo('open'), facts({ project: PUBLIC }))), /robot team\+ci lacks push/);
  });
});

describe('authorize: personal access token scopes', () => {
  it('narrow a user to the scoped repository actions; management writes need `manage`', () => {
    const pat = user({ via: 'pat', scopes: new Set(['pull']) });
    const f = facts({ project: PRIVATE, role: 'admin' });
    assert.equal(allowed(authorize(pat, 'pull', repo('team'), f)), true);
    assert.match(reason(authorize(pat, 'push', repo('team'), f)), /personal access token lacks scope push needed for push on repository team\/app/);
    assert.equal(allowed(authorize(pat, 'project.read', proj('team'), f)), true, 'reads need no scope');
    assert.equal(allowed(authorize(pat, 'members.read', proj('team'), f)), true, 'reads need no scope');
    assert.match(reason(authorize(pat, 'members.manage', proj('team'), f)), /lacks scope manage/);
    const manage = user({ via: 'pat', scopes: new Set(['manage']) });
    assert.equal(allowed(authorize(manage, 'members.manage', proj('team'), f)), true);
    assert.equal(allowed(authorize(manage, 'pull', repo('team'), f)), false);
  });

  it('never widen the role: a scope the role lacks is still refused', () => {
    const pat = user({ via: 'pat', scopes: new Set(['pull', 'push', 'delete', 'manage']) });
    assert.equal(allowed(authorize(pat, 'push', repo('team'), facts({ project: PRIVATE, role: 'guest' }))), false);
    assert.equal(allowed(authorize(pat, 'project.delete', proj('team'), facts({ project: PRIVATE, role: 'maintainer' }))), false);
  });
});

describe('authorize: registry tokens', () => {
  it('are exactly their grants, whatever the project says', () => {
    const t = token([{ type: 'repository', name: 'team/app', actions: ['pull'] }]);
    assert.equal(allowed(authorize(t, 'base', SYSTEM, facts())), true);
    assert.equal(allowed(authorize(t, 'pull', repo('team'), facts({ project: PRIVATE }))), true);
    assert.match(reason(authorize(t, 'push', repo('team'), facts({ project: PRIVATE, role: 'admin' }))), /token does not grant push on repository team\/app; request a token with scope repository:team\/app:push/);
    assert.equal(allowed(authorize(t, 'pull', { kind: 'repository', name: 'open/app', project: 'open' }, facts({ project: PUBLIC }))), false, 'not even a public pull');
    assert.equal(allowed(authorize(token([{ type: 'repository', name: 'team/app', actions: ['*'] }]), 'delete', repo('team'), facts({ project: PRIVATE }))), true);
  });

  it('list the catalog only with registry:catalog:*, and never reach the management API', () => {
    assert.equal(allowed(authorize(token([{ type: 'registry', name: 'catalog', actions: ['*'] }]), 'catalog', SYSTEM, facts())), true);
    assert.match(reason(authorize(token([]), 'catalog', SYSTEM, facts())), /token does not grant registry:catalog:\*/);
    const t = token([{ type: 'repository', name: 'team/app', actions: ['*'] }]);
    for (const action of PROJECT_ACTIONS) assert.match(reason(authorize(t, action, proj('team'), facts({ project: PRIVATE }))), /registry tokens cannot be used for/);
    assert.match(reason(authorize(t, 'users.manage', SYSTEM, facts())), /registry tokens cannot be used for users\.manage/);
  });
});
