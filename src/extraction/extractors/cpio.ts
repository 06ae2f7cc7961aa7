// cpio: the newc, crc and odc ASCII formats and the old binary one (either byte order).
import { hasAt } from '../extractor.js';
import { sevenZipExtractor } from '../seven-zip-extractor.js';

export const cpio = sevenZipExtractor({
  type: 'CPIO',
  format: 'cpio',
  accepts: ({ header }) =>
    ['070701', '070702', '070707'].some((m) => hasAt(header, 0, m)) || hasAt(header, 0, [0xc7, 0x71]) || hasAt(header, 0, [0x71, 0xc7]),
});
