/**
 * Writes whose loss in a crash of the machine harms no one, because nothing that depends on
 * them has been acknowledged: an upload session (a client whose session vanished starts the
 * upload again), an upload's write lease or a job's claim (a restart voids both anyway).
 * On SQLite such a write resolves without waiting for the WAL's fdatasync (sqlite-durable.ts):
 * the next durable write's sync covers it, and since the WAL is one file written in order, a
 * durable write is never on disk without every write committed before it. A killed process
 * loses nothing either way (committed pages are in the kernel's cache). On PostgreSQL every
 * commit is durable and the mark is only a comment.
 */
import { sql, type RawBuilder } from 'kysely';

const MARK = '/* unacknowledged */';

/** Appended with `.modifyEnd(unacknowledged())` to a write that need not be on disk when it resolves. */
export const unacknowledged = (): RawBuilder<unknown> => sql.raw(MARK);

/** Whether compiled SQL carries the mark. */
export const isUnacknowledged = (sqlText: string): boolean => sqlText.endsWith(MARK);
