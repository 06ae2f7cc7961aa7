// The root logger (pino). Children are bound per request, job and file; secrets are redacted.
import { pino, type Logger } from 'pino';

export function rootLogger(level: string): Logger {
  return pino({
    level,
    redact: { paths: ['req.headers["x-apikey"]', 'headers["x-apikey"]', 'apikey', '*.apikey'], censor: '[redacted]' },
  });
}
