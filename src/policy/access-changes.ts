/**
 * Who may do what is cached in every process: access facts (projects, roles), verified
 * credentials, the accounts behind registry tokens. A change is announced through the change
 * feed (`access:<kind>`, ChangeTopics in change-feed.ts), so every process and node drops
 * those caches; and a cache is trusted only after the feed's read barrier, so every change
 * announced before a request started is seen by that request. A revoked token, a disabled account or a removed role therefore stops
 * working at once everywhere, while a warm request still costs no database round trip (the
 * barrier is free within one process, a `data_version` read between the processes of one host,
 * and one round trip shared by all concurrent requests on PostgreSQL). When the feed cannot
 * promise that (its connection is down), the caches are bypassed.
 */
import { ChangeTopics, LocalChangeFeed, type ChangeFeed } from '../metadata/change-feed.js';

/**
 * What changed: `accounts` (users, robots, tokens, credentials: the authenticator's caches),
 * `facts` (projects and memberships: the access facts) or `keys` (the token-signing keys: a
 * key one process made verifies on all the others at once). Kept apart so that creating a
 * project does not make every remembered credential pass argon2 (and the login limiter) again.
 */
export type AccessChange = 'accounts' | 'facts' | 'keys';

/** Announced as `access:<kind>`. */
export class AccessChanges extends ChangeTopics<AccessChange> {
  constructor(feed: ChangeFeed = new LocalChangeFeed()) {
    super(feed, 'access:');
  }
}
