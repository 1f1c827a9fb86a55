/**
 * V8 heap tuning for a server process, imported by `berth serve` before the server modules so that it applies
 * before the rest of the program is loaded (the one import kept for its side effect).
 *
 * The young generation stays at its initial size (src/ops/young-generation.ts says why and
 * when it may grow): cheaper scavenges, and the RSS of a 1 GiB push+pull ~20 MiB lower in the
 * benchmark (bench/).
 */
import { keepYoungGenerationSmall } from '../ops/young-generation.js';

keepYoungGenerationSmall();
