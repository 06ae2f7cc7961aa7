// ZIP (also ZIP64, encrypted entries, and what is built on ZIP: JAR, APK, DOCX, XLSX, ...).
import { hasAt } from '../extractor.js';
import { sevenZipExtractor } from '../seven-zip-extractor.js';

export const zip = sevenZipExtractor({
  type: 'ZIP',
  format: 'zip',
  encryptable: true,
  accepts: ({ header }) => hasAt(header, 0, 'PK\x03\x04') || hasAt(header, 0, 'PK\x07\x08PK'),
});
