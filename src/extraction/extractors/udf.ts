// UDF disc images (DVD, Blu-ray, and ISO/UDF bridge discs, whose UDF side has the full names).
// UDF announces itself in the volume recognition sequence: sectors of 2 KB from 32 KB on.
import { hasAt } from '../extractor.js';
import { sevenZipExtractor } from '../seven-zip-extractor.js';

const SECTOR = 2048;
const FIRST = 16 * SECTOR;

function hasUdfDescriptor(header: Buffer): boolean {
  for (let at = FIRST; at + 6 <= header.length; at += SECTOR) {
    if (hasAt(header, at + 1, 'NSR02') || hasAt(header, at + 1, 'NSR03')) return true;
  }
  return false;
}

export const udf = sevenZipExtractor({ type: 'UDF', format: 'udf', accepts: ({ header }) => hasUdfDescriptor(header) });
