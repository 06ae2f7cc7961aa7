// Every extractor, in the order they are tried: the first that accepts a file unpacks it.
// UDF before ISO (bridge discs carry both, UDF has the full names).
import type { ContainerFacts, Extractor } from '../extractor.js';
import { ar } from './ar.js';
import { bzip2 } from './bzip2.js';
import { cab } from './cab.js';
import { cpio } from './cpio.js';
import { email } from './email.js';
import { gzip } from './gzip.js';
import { iso } from './iso.js';
import { ole } from './ole.js';
import { rar4, rar5 } from './rar.js';
import { rpm } from './rpm.js';
import { sevenZ } from './seven-z.js';
import { tar } from './tar.js';
import { udf } from './udf.js';
import { xz } from './xz.js';
import { zip } from './zip.js';
import { zstd } from './zstd.js';

export const EXTRACTORS: readonly Extractor[] = [zip, gzip, bzip2, xz, zstd, sevenZ, rar4, rar5, cab, ar, rpm, cpio, tar, udf, iso, ole, email];

/** The extractor for a file, or null when it is not a container we unpack. */
export function extractorFor(facts: ContainerFacts): Extractor | null {
  return EXTRACTORS.find((e) => e.accepts(facts)) ?? null;
}
