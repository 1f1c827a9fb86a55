/** The job worker suite over SQLite (several connections, and a second process, on one file). */
import { sqliteHarness } from '../helpers/metadata.js';
import { jobWorkerSuite } from '../suites/job-worker.case.js';

jobWorkerSuite('sqlite', sqliteHarness);
