/**
 * The MetadataStore contract suite over PostgreSQL, in a database created for this run and
 * dropped after it. Skips outside CI when no server is reachable; fails under CI=true.
 */
import { postgresHarness } from '../helpers/metadata.js';
import { postgresSkipReason } from '../helpers/postgres.js';
import { metadataStoreSuite } from '../suites/metadata-store.case.js';

metadataStoreSuite('postgres', postgresHarness, await postgresSkipReason());
