// RAR 4 and RAR 5 (7-Zip includes the unRAR code), including encrypted entries and headers.
import { hasAt } from '../extractor.js';
import { sevenZipExtractor } from '../seven-zip-extractor.js';

export const rar4 = sevenZipExtractor({ type: 'RAR', format: 'rar', encryptable: true, accepts: ({ header }) => hasAt(header, 0, 'Rar!\x1a\x07\x00') });
export const rar5 = sevenZipExtractor({ type: 'RAR', format: 'rar5', encryptable: true, accepts: ({ header }) => hasAt(header, 0, 'Rar!\x1a\x07\x01\x00') });
