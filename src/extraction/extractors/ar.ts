// Unix ar archives, which .deb packages are (their data.tar.* is unpacked one level down).
import { hasAt } from '../extractor.js';
import { sevenZipExtractor } from '../seven-zip-extractor.js';

export const ar = sevenZipExtractor({ type: 'AR', format: 'ar', accepts: ({ header }) => hasAt(header, 0, '!<arch>\n') });
