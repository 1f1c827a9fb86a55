/**
 * Registry content changes as outbox events: a RegistryChangeListener (main.ts hands it to
 * the manifest service), so each event is written in the transaction of the push or delete.
 * A push to a tag says whether the tag was created or moved (and from which digest).
 */
import type { RegistryChangeListener } from '../policy/registry-changes.js';
import { emitEvent, projectOf } from './emit.js';

export function registryEvents(now: () => number = Date.now): RegistryChangeListener {
  return async (tx, change) => {
    const repository = change.repo as string;
    const base = { project: projectOf(repository), repository };
    switch (change.kind) {
      case 'manifest.pushed':
        await emitEvent(
          tx,
          {
            ...base,
            type: 'artifact.pushed',
            data: { digest: change.digest, tag: change.tag, mediaType: change.mediaType, artifactType: change.artifactType, subject: change.subject },
          },
          now,
        );
        return;
      case 'tag.deleted':
        await emitEvent(tx, { ...base, type: 'tag.deleted', data: { tag: change.tag } }, now);
        return;
      case 'manifest.deleted':
        await emitEvent(tx, { ...base, type: 'artifact.deleted', data: { digest: change.digest } }, now);
        return;
    }
  };
}
