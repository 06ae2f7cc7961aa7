// ZIP (also ZIP64, and what is built on ZIP: JAR, APK, DOCX, XLSX, ...). Plain entries go through
// node's zlib (zip-reader.ts: fast on many small files, salvages truncated archives); encrypted
// entries, methods other than store and deflate, and whatever that reader declines go to 7-Zip,
// with the password search.
import type { Extractor } from '../extractor.js';
import { hasAt } from '../extractor.js';
import { emptyDir, sevenZipExtractor } from '../seven-zip-extractor.js';
import { NotForUs, readZip } from '../zip-reader.js';

const accepts: Extractor['accepts'] = ({ header }) => hasAt(header, 0, 'PK\x03\x04') || hasAt(header, 0, 'PK\x07\x08PK');
const bySevenZip = sevenZipExtractor({ type: 'ZIP', format: 'zip', encryptable: true, accepts });

export const zip: Extractor = {
  type: 'ZIP',
  accepts,
  async extract(ctx) {
    try {
      return await readZip(ctx);
    } catch (err) {
      if (!(err instanceof NotForUs)) throw err;
      // Start 7-Zip on an empty folder (the reader may have written some entries).
      await emptyDir(ctx.outDir);
      return bySevenZip.extract(ctx);
    }
  },
};
