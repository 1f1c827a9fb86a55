/** The job worker suite over PostgreSQL (a database of its own; fails under CI=true without a server). */
import { postgresHarness } from '../helpers/metadata.js';
import { postgresSkipReason } from '../helpers/postgres.js';
import { jobWorkerSuite } from '../suites/job-worker.case.js';

jobWorkerSuite('postgres', postgresHarness, await postgresSkipReason());
