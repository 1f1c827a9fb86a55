/**
 * The ChangeFeed contract (src/metadata/change-feed.ts): a publisher's own subscribers hear a
 * change at once; with `crossesProcesses`, another process or node sharing the database
 * hears it too, at the latest once its read barrier (`sync`) resolves true after the
 * publish; concurrent barriers share round trips and all resolve. Every feed runs it
 * unchanged. (The SQLite feed's log is a bounded table pruned by count, so no row check.)
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { ChangeFeed } from '../../src/metadata/change-feed.js';

export interface FeedHarness {
  /** The feed under test. */
  feed: ChangeFeed;
  /** A feed of another process or node over the same database; absent for in-process feeds. */
  other?: ChangeFeed | undefined;
  close(): Promise<void>;
}

/** A harness of two feeds over one database; closing it closes both feeds, then the database. */
export function feedPair(feed: ChangeFeed, other: ChangeFeed, database: { close(): Promise<void> }): FeedHarness {
  return {
    feed,
    other,
    async close() {
      await feed.close();
      await other.close();
      await database.close();
    },
  };
}

function collect(feed: ChangeFeed): string[] {
  const heard: string[] = [];
  feed.subscribe((repo) => heard.push(repo));
  return heard;
}

export function changeFeedSuite(name: string, open: () => Promise<FeedHarness>, skip?: string): void {
  describe(`ChangeFeed contract: ${name}`, { skip }, () => {
    let h: FeedHarness;
    let mine: string[];
    let theirs: string[];
    before(async () => {
      h = await open();
      mine = collect(h.feed);
      theirs = h.other ? collect(h.other) : [];
    });
    after(async () => {
      await h?.close();
    });

    it("delivers a change to the publisher's own subscribers before publish resolves", async () => {
      const second: string[] = [];
      h.feed.subscribe((repo) => second.push(repo));
      await h.feed.publish('lib/app');
      assert.equal(mine.at(-1), 'lib/app');
      // Hearing one's own change again later (a node's echo of its own notification) is allowed.
      assert.equal(second[0], 'lib/app', 'every subscriber hears it');
      assert.equal(await h.feed.sync(), true);
    });

    it('delivers changes to another process once its read barrier resolves, in order, once each', async () => {
      if (!h.other) return;
      // Earlier tests' changes reach this process at its next barrier at the latest.
      assert.equal(await h.other.sync(), true);
      assert.ok(theirs.includes('lib/app'));
      const before = theirs.length;
      await h.feed.publish('a/one');
      await h.feed.publish('a/two');
      await h.feed.publish('a/one');
      assert.equal(await h.other.sync(), true);
      assert.deepEqual(theirs.slice(before), ['a/one', 'a/two', 'a/one']);
      assert.equal(await h.other.sync(), true);
      assert.deepEqual(theirs.slice(before), ['a/one', 'a/two', 'a/one'], 'nothing is delivered twice');
      await h.other.publish('b/back');
      assert.equal(await h.feed.sync(), true);
      assert.equal(mine.at(-1), 'b/back', 'both directions');
    });

    it('answers concurrent read barriers together', async () => {
      const feeds = h.other ? [h.feed, h.other] : [h.feed];
      for (const f of feeds) assert.deepEqual(await Promise.all(Array.from({ length: 10 }, () => f.sync())), Array(10).fill(true));
    });
  });
}
