// Aborts when a client closes its connection before its reply is sent, so that the database
// statements of a list it no longer waits for are cancelled (store/sql/query-signal.ts).
import type { FastifyReply } from 'fastify';

const signals = new WeakMap<FastifyReply, AbortSignal>();

/** The signal of `reply`'s client: aborted if the connection closes before the reply is finished. */
export function clientSignal(reply: FastifyReply): AbortSignal {
  let signal = signals.get(reply);
  if (signal) return signal;
  const controller = new AbortController();
  // 'close' follows the end of every response; only one not finished by then was abandoned.
  reply.raw.once('close', () => {
    if (!reply.raw.writableFinished) controller.abort();
  });
  signals.set(reply, (signal = controller.signal));
  return signal;
}
