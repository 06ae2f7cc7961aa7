// tar (POSIX ustar and GNU, and pre-POSIX archives libmagic recognises). Links in it are never
// made (seven-zip.ts); `../` and absolute paths are unpacked inside the output folder.
import { hasAt } from '../extractor.js';
import { sevenZipExtractor } from '../seven-zip-extractor.js';

export const tar = sevenZipExtractor({
  type: 'TAR',
  format: 'tar',
  accepts: ({ header, mime }) => hasAt(header, 257, 'ustar') || mime === 'application/x-tar',
});
