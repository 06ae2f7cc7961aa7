// 7z, including encrypted entries and encrypted headers.
import { hasAt } from '../extractor.js';
import { sevenZipExtractor } from '../seven-zip-extractor.js';

export const sevenZ = sevenZipExtractor({
  type: '7ZIP',
  format: '7z',
  encryptable: true,
  accepts: ({ header }) => hasAt(header, 0, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]),
});
