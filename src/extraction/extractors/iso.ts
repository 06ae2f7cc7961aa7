// ISO 9660 disc images (with Joliet and Rock Ridge names). Discs that also carry UDF go to udf.ts.
import { hasAt } from '../extractor.js';
import { sevenZipExtractor } from '../seven-zip-extractor.js';

export const iso = sevenZipExtractor({ type: 'ISO', format: 'iso', accepts: ({ header }) => hasAt(header, 0x8001, 'CD001') });
