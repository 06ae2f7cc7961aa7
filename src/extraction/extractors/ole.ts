// OLE compound files (MSI installers, legacy Office documents): each stream becomes a subfile,
// so rules see the streams (e.g. VBA project storage) without the container's sector layout.
import { hasAt } from '../extractor.js';
import { sevenZipExtractor } from '../seven-zip-extractor.js';

export const ole = sevenZipExtractor({
  type: 'OLE',
  format: 'compound',
  accepts: ({ header }) => hasAt(header, 0, [0xd0, 0xcf, 0x11, 0xe0, 0xa1, 0xb1, 0x1a, 0xe1]),
});
