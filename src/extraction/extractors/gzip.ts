// gzip, including concatenated members (they unpack to one file, as gunzip does).
import { hasAt } from '../extractor.js';
import { sevenZipExtractor } from '../seven-zip-extractor.js';

export const gzip = sevenZipExtractor({ type: 'GZIP', format: 'gzip', accepts: ({ header }) => hasAt(header, 0, [0x1f, 0x8b, 0x08]) });
