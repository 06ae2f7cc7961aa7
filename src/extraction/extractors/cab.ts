// Microsoft Cabinet.
import { hasAt } from '../extractor.js';
import { sevenZipExtractor } from '../seven-zip-extractor.js';

export const cab = sevenZipExtractor({ type: 'CAB', format: 'cab', accepts: ({ header }) => hasAt(header, 0, 'MSCF\0\0\0\0') });
