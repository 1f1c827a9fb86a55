/**
 * Whether manifest pulls need outbox events. Every audit entry is an outbox event, except a
 * pull nobody consumes: only a webhook subscribed to `artifact.pulled` reads them, and a busy
 * registry records thousands of pulls a second, each of which would otherwise cost an outbox
 * row, its dispatch and its pruning. The answer is cached per process, dropped whenever a
 * webhook changes anywhere (announced on the change feed after the change committed and before
 * the API answers) and trusted only behind the feed's read barrier (ChangeTopics): a pull made
 * after a subscription was acknowledged, on any node, reaches it. When the feed cannot promise
 * that (its connection is down), every pull gets its event.
 */
import { ChangeTopics, type ChangeFeed } from '../metadata/change-feed.js';
import type { WebhookQueries } from '../metadata/event-store.js';

export class PullEventDemand {
  private cached: Promise<boolean> | undefined;
  /** Webhook changes, announced as `events:webhooks`. */
  private readonly topics: ChangeTopics<'webhooks'>;

  constructor(
    private readonly webhooks: Pick<WebhookQueries, 'anySubscribed'>,
    feed: ChangeFeed,
  ) {
    this.topics = new ChangeTopics(feed, 'events:');
    this.topics.onChange('webhooks', () => (this.cached = undefined));
  }

  /** Whether the pulls being recorded now need outbox events. */
  async wanted(): Promise<boolean> {
    if (!(await this.topics.fresh())) return true;
    const answer = (this.cached ??= this.webhooks.anySubscribed('artifact.pulled'));
    return answer.catch(() => {
      this.cached = undefined;
      return true;
    });
  }

  /** Call after a webhook change committed. */
  changed(): Promise<void> {
    return this.topics.changed('webhooks');
  }
}
