/**
 * Answers sent together at the end of an event-loop turn. A busy server reads many requests in
 * one turn and answers each as soon as it is worked out; every answer that reaches a client
 * asleep in epoll_wait wakes it, and the wake-up (an inter-processor interrupt, costly under a
 * hypervisor) is charged to the writing thread. Sent together, the first answer of a turn wakes
 * the client and the rest find it awake. Measured (bench/hot-ab.ts, manifest GETs with a token,
 * 32 connections, 8 alternating rounds): 18,431 against 13,377 requests a second, 57 against 75
 * µs of server CPU per request. An answer waits at most for the rest of its turn's reads
 * (setImmediate runs right after the poll phase), and not at all when it is the only one.
 */
import type { FastifyInstance } from 'fastify';

let queued: (() => void)[] = [];

function sendQueued(): void {
  const batch = queued;
  queued = [];
  for (const send of batch) send();
}

/** Holds every response's first write until the end of the turn it was answered in. */
export function installTurnEndSend(app: FastifyInstance): void {
  // A callback hook (see server.ts); `done` hands the payload on to be written.
  app.addHook('onSend', (_request, _reply, payload, done) => {
    if (queued.push(() => done(null, payload)) === 1) setImmediate(sendQueued);
  });
}
