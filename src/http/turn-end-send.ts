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
import type { FastifyInstance, FastifyReply } from 'fastify';

interface Queued {
  reply: FastifyReply;
  payload: unknown;
  /** Fastify's onSend callback: hands the payload on to be written. */
  done: (err: Error | null, payload: unknown) => void;
}

let queued: Queued[] = [];

function sendQueued(): void {
  const batch = queued;
  queued = [];
  for (const { reply, payload, done } of batch) {
    try {
      done(null, payload);
    } catch (e) {
      // What writing throws (a header value Node refuses) would, written at once, have reached
      // the handler and Fastify's error handler; here it would end the process. Answer it as
      // the error it is, and let the turn's other answers go out.
      failed(reply, e as Error);
    }
  }
}

function failed(reply: FastifyReply, err: Error): void {
  try {
    // Fastify's error path drops the payload's length and type and takes the status from the error.
    if (!reply.raw.headersSent) return void reply.send(err);
    reply.log.error({ err }, 'a response failed while it was written');
  } catch (again) {
    reply.log.error({ err: again }, 'a response failed while it was written');
  }
  reply.raw.destroy();
}

/** Holds every response's first write until the end of the turn it was answered in. */
export function installTurnEndSend(app: FastifyInstance): void {
  // A callback hook (see server.ts).
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (queued.push({ reply, payload, done }) === 1) setImmediate(sendQueued);
  });
}
