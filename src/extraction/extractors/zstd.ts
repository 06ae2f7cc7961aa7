// Zstandard.
import { hasAt } from '../extractor.js';
import { sevenZipExtractor } from '../seven-zip-extractor.js';

export const zstd = sevenZipExtractor({ type: 'ZSTD', format: 'zstd', accepts: ({ header }) => hasAt(header, 0, [0x28, 0xb5, 0x2f, 0xfd]) });
