// xz (LZMA2).
import { hasAt } from '../extractor.js';
import { sevenZipExtractor } from '../seven-zip-extractor.js';

export const xz = sevenZipExtractor({ type: 'XZ', format: 'xz', accepts: ({ header }) => hasAt(header, 0, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) });
