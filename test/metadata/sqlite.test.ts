/** The MetadataStore contract suite over SQLite (a database file in a temp folder). */
import { sqliteHarness } from '../helpers/metadata.js';
import { metadataStoreSuite } from '../suites/metadata-store.case.js';

metadataStoreSuite('sqlite', sqliteHarness);
