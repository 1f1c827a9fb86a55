/**
 * V8 heap tuning for a server process, imported by `berth serve` before the server modules so that it applies
 * before the rest of the program is loaded (the one import kept for its side effect).
 *
 * V8 doubles the young generation whenever it fills quickly, up to 2 x 16 MiB, and never
 * gives it back. A registry allocates little that lives long but moves a lot of bytes, and
 * every socket and file buffer it allocates makes the young generation look busy, so a
 * server that had streamed one large blob kept ~20-30 MiB more RSS for the rest of its life.
 * Keeping the young generation at its initial size costs more (but cheap) scavenges and kept
 * the RSS of a 1 GiB push+pull ~20 MiB lower in the benchmark (bench/).
 */
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--semi-space-growth-factor=1');
