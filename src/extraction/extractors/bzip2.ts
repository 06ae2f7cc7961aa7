// bzip2.
import { hasAt } from '../extractor.js';
import { sevenZipExtractor } from '../seven-zip-extractor.js';

export const bzip2 = sevenZipExtractor({
  type: 'BZIP',
  format: 'bzip2',
  accepts: ({ header }) => hasAt(header, 0, 'BZh') && header[3]! >= 0x31 && header[3]! <= 0x39,
});
