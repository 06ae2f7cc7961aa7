// HTTPS on the API's port (tlsCert, tlsKey): the certificate and key files, read and checked at
// start, and read again on SIGHUP (a renewed certificate) without closing a connection: new
// handshakes take the new context, connections already open keep theirs.
import { readFileSync } from 'node:fs';
import { createSecureContext, type Server as TlsServer } from 'node:tls';
import type { Logger } from 'pino';
import { ConfigError } from '../config.js';

/** The PEM files named by tlsCert and tlsKey. */
export interface TlsFiles {
  cert: string;
  key: string;
}

/** A certificate chain and its key, read and known to go together. */
export interface TlsPair {
  cert: Buffer;
  key: Buffer;
}

/**
 * Reads both files and checks that they make a context (PEM that parses, a key that matches the
 * certificate). Throws ConfigError saying which file is wrong and why: at start that is a clear
 * refusal; on reload the caller keeps the old pair.
 */
export function readTlsPair(files: TlsFiles): TlsPair {
  const read = (what: string, path: string) => {
    try {
      return readFileSync(path);
    } catch (e) {
      throw new ConfigError(`${what} ${path}: cannot read it: ${(e as Error).message}`);
    }
  };
  const pair = { cert: read('tlsCert', files.cert), key: read('tlsKey', files.key) };
  try {
    createSecureContext(pair);
  } catch (e) {
    // OpenSSL's own words name the problem (no start line, key values mismatch, bad decrypt).
    throw new ConfigError(`tlsCert ${files.cert} and tlsKey ${files.key} cannot be used: ${(e as Error).message}`);
  }
  return pair;
}

/**
 * Reads the files again and gives `server` the new pair for its next handshakes. A failure keeps
 * the pair in use (and says why in the log): a half-copied renewal must not take the API down.
 * Returns whether the new pair was taken.
 */
export function reloadTls(server: TlsServer, files: TlsFiles, log: Logger): boolean {
  let pair: TlsPair;
  try {
    pair = readTlsPair(files);
  } catch (e) {
    log.error({ err: (e as Error).message, cert: files.cert, key: files.key }, 'TLS reload failed: still serving the previous certificate');
    return false;
  }
  server.setSecureContext(pair);
  log.info({ cert: files.cert }, 'TLS certificate reloaded');
  return true;
}
