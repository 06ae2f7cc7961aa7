// The one writer of error answers: `{"error":{"code","message"}}` with the status of the code
// (error-status.ts), for the API and the probe listener alike.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { TrawlError } from '../model/errors.js';
import { errorStatus } from './error-status.js';

export function sendError(reply: FastifyReply, err: TrawlError): FastifyReply {
  return reply
    .code(errorStatus[err.code] ?? 500)
    .type('application/json; charset=utf-8')
    .send({ error: { code: err.code, message: err.message } });
}

/** Fastify's own errors (bad JSON, body too large, ...) become VirusTotal-style client errors. */
function toTrawlError(err: FastifyError): TrawlError | null {
  if (err instanceof TrawlError) return err;
  const status = err.statusCode ?? 500;
  if (status >= 400 && status < 500) {
    const msg = err.code === 'FST_ERR_CTP_BODY_TOO_LARGE' ? 'request body is too large' : err.message;
    return new TrawlError('BadRequestError', msg);
  }
  return null;
}

/** The error handler: known errors as they are; anything else logged with the request id and answered generically. */
export function handleError(err: FastifyError, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const known = toTrawlError(err);
  if (known) return sendError(reply, known);
  req.log.error({ err, reqId: req.id, url: req.url }, 'unexpected error');
  return sendError(reply, new TrawlError('InternalError', `internal error (request ${req.id})`));
}
