// Byte-level writers for container formats 7-Zip cannot write (archives.ts covers those it can),
// so that tests make their inputs instead of storing them. Each is written from the format's
// specification and stores its files uncompressed where the format allows. Besides 7-Zip 24.09
// (the tests), each output was read back by other tools, from Debian's packages: ar by GNU ar;
// deb by dpkg-deb; cpio by GNU cpio and bsdtar; zstd by zstd; cab by cabextract; ISO by isoinfo
// and bsdtar; RAR 4 and 5 by unar/lsar and bsdtar; RPM by rpm (-qpl, -K) and rpm2cpio; OLE by
// olefile, libgsf and p7zip 16.02; the zips by unzip, bsdtar and p7zip; e-mail by Python's email.
//
// Files are given as `{ path: content }`; paths use `/` and are converted where a format wants
// otherwise. Times are fixed (TIME) so that outputs are reproducible.
//
// One writer a file (archive-writers/); this module gathers them.
export { TIME, type Files } from './archive-writers/common.js';
export { makeAr, makeDeb } from './archive-writers/ar.js';
export { makeCpio } from './archive-writers/cpio.js';
export { makeZstd } from './archive-writers/zstd.js';
export { makeCab } from './archive-writers/cab.js';
export { makeIso } from './archive-writers/iso.js';
export { makeRar5 } from './archive-writers/rar5.js';
export { makeRar4 } from './archive-writers/rar4.js';
export { makeRpm } from './archive-writers/rpm.js';
export { CFB_PLACEHOLDER, makeOle, msiStreamName } from './archive-writers/ole.js';
export { makeStoredZip, type RawZipEntry } from './archive-writers/stored-zip.js';
export { makeEml, type EmlAttachment } from './archive-writers/eml.js';
