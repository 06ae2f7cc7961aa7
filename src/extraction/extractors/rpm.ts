// RPM packages: 7-Zip yields the compressed cpio payload, unpacked one level down.
import { hasAt } from '../extractor.js';
import { sevenZipExtractor } from '../seven-zip-extractor.js';

export const rpm = sevenZipExtractor({ type: 'RPM', format: 'rpm', accepts: ({ header }) => hasAt(header, 0, [0xed, 0xab, 0xee, 0xdb]) });
