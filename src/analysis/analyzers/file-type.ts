// Names a file's type the way VirusTotal does (type_description, type_tag, type_tags,
// type_extension, tags) from libmagic's description and MIME type, through one ordered table.

/** VirusTotal's type fields for one kind of file. */
export interface VtFileType {
  typeDescription: string;
  typeTag: string;
  typeTags: string[];
  typeExtension: string;
  /** File-level tags: the type tag plus traits such as `64bits` or `assembly`. */
  tags: string[];
}

/** A string is an exact MIME type; a RegExp tests the description; an object can test both. */
type Match = string | RegExp | { mime?: string | RegExp; magic?: RegExp };
type Rule = [match: Match, description: string, tag: string, typeTags: string, extension: string];

// First matching row wins, so specific rows (PE DLL, SVG, JAR) come before general ones (PE, XML,
// ZIP). Names follow VirusTotal where we know them; rows marked "ours" are our best guess.
const RULES: Rule[] = [
  // Windows executables. libmagic: "PE32+ executable (DLL) (GUI) x86-64, for MS Windows".
  [/^PE32\+ executable \(DLL\)/, 'Win64 DLL', 'pedll', 'executable windows win64 pe pedll', 'dll'],
  [/^PE32\+ executable/, 'Win64 EXE', 'peexe', 'executable windows win64 pe peexe', 'exe'],
  [/^PE32 executable \(DLL\)/, 'Win32 DLL', 'pedll', 'executable windows win32 pe pedll', 'dll'],
  [/^PE32 executable/, 'Win32 EXE', 'peexe', 'executable windows win32 pe peexe', 'exe'],
  ['application/x-ms-ne-executable', 'Win16 EXE', 'neexe', 'executable windows win16 ne neexe', 'exe'],
  ['application/x-dosexec', 'DOS EXE', 'dosexe', 'executable msdos dosexe', 'exe'],
  ['application/x-msi', 'Windows Installer', 'msi', 'installer windows msi', 'msi'], // ours
  ['application/x-ms-shortcut', 'Windows shortcut', 'lnk', 'windows lnk', 'lnk'],
  ['application/vnd.ms-htmlhelp', 'MS Compiled HTML Help', 'chm', 'windows chm', 'chm'],
  ['text/x-ms-regedit', 'Windows Registry', 'reg', 'text windows reg', 'reg'], // ours
  // Unix executables. PIE executables have their own MIME type, so ELF below catches them.
  [{ mime: 'application/x-coredump', magic: /^ELF / }, 'ELF core', 'elf', 'linux elf core', 'core'],
  [{ mime: 'application/x-sharedlib', magic: /^ELF / }, 'ELF shared library', 'elf', 'executable linux elf', 'so'],
  [{ mime: 'application/x-object', magic: /^ELF / }, 'ELF', 'elf', 'executable linux elf', 'o'],
  [/^ELF /, 'ELF', 'elf', 'executable linux elf', 'elf'],
  [{ mime: 'application/x-mach-binary' }, 'Mach-O', 'macho', 'executable mac macho', 'macho'],
  [/^Mach-O /, 'Mach-O', 'macho', 'executable mac macho', 'macho'],
  // Managed code and bytecode.
  ['application/vnd.android.package-archive', 'Android', 'android', 'executable mobile android apk', 'apk'],
  [/^Dalvik dex/, 'Dalvik Executable', 'dex', 'executable android dex', 'dex'],
  ['application/java-archive', 'JAR', 'jar', 'executable java jar', 'jar'],
  [/^Java archive data/, 'JAR', 'jar', 'executable java jar', 'jar'],
  [/^compiled Java class/, 'Java Bytecode', 'class', 'executable java class', 'class'],
  ['application/x-bytecode.python', 'Python Bytecode', 'pyc', 'executable python pyc', 'pyc'], // ours
  ['application/wasm', 'WebAssembly', 'wasm', 'executable wasm', 'wasm'], // ours
  ['application/x-shockwave-flash', 'Flash', 'swf', 'flash swf', 'swf'],
  // Documents. Office Open XML and APK are ZIPs: libmagic names them first, so they come first.
  ['application/pdf', 'PDF', 'pdf', 'pdf', 'pdf'],
  ['application/msword', 'MS Word Document', 'doc', 'msoffice doc', 'doc'],
  ['application/vnd.ms-excel', 'MS Excel Spreadsheet', 'xls', 'msoffice xls', 'xls'],
  ['application/vnd.ms-powerpoint', 'MS PowerPoint Presentation', 'ppt', 'msoffice ppt', 'ppt'],
  ['application/vnd.ms-outlook', 'Outlook', 'outlook', 'email outlook', 'msg'],
  [{ mime: /wordprocessingml\.document$/ }, 'Office Open XML Document', 'docx', 'msoffice docx', 'docx'],
  [{ mime: /spreadsheetml\.sheet$/ }, 'Office Open XML Spreadsheet', 'xlsx', 'msoffice xlsx', 'xlsx'],
  [{ mime: /presentationml\.presentation$/ }, 'Office Open XML Presentation', 'pptx', 'msoffice pptx', 'pptx'],
  ['application/x-ole-storage', 'MS Compound Document', 'ole', 'msoffice ole', ''], // ours
  [{ mime: /opendocument\.text$/ }, 'OpenDocument Text', 'odt', 'document odt', 'odt'],
  [{ mime: /opendocument\.spreadsheet$/ }, 'OpenDocument Spreadsheet', 'ods', 'document ods', 'ods'],
  [{ mime: /opendocument\.presentation$/ }, 'OpenDocument Presentation', 'odp', 'document odp', 'odp'],
  ['text/rtf', 'Rich Text Format', 'rtf', 'document rtf', 'rtf'],
  ['application/epub+zip', 'EPUB', 'epub', 'document epub', 'epub'],
  ['application/postscript', 'PostScript', 'ps', 'document ps', 'ps'],
  [{ mime: /^message\/(rfc822|news)$/ }, 'Email', 'email', 'email', 'eml'],
  // Packages, archives and compressed streams.
  ['application/vnd.debian.binary-package', 'Debian Package', 'deb', 'compressed deb', 'deb'],
  ['application/x-rpm', 'RPM', 'rpm', 'compressed rpm', 'rpm'],
  ['application/zip', 'ZIP', 'zip', 'compressed zip', 'zip'],
  [{ mime: /^application\/(x-)?gzip$/ }, 'GZIP', 'gzip', 'compressed gzip', 'gz'],
  ['application/x-bzip2', 'BZIP2', 'bzip', 'compressed bzip', 'bz2'],
  ['application/x-xz', 'XZ', 'xz', 'compressed xz', 'xz'],
  ['application/x-7z-compressed', '7ZIP', '7zip', 'compressed 7zip', '7z'],
  ['application/x-rar', 'RAR', 'rar', 'compressed rar', 'rar'],
  ['application/x-tar', 'TAR', 'tar', 'compressed tar', 'tar'],
  ['application/vnd.ms-cab-compressed', 'CAB', 'cab', 'compressed cab', 'cab'],
  ['application/zstd', 'ZSTD', 'zstd', 'compressed zstd', 'zst'],
  ['application/x-lzma', 'LZMA', 'lzma', 'compressed lzma', 'lzma'],
  ['application/x-lz4', 'LZ4', 'lz4', 'compressed lz4', 'lz4'],
  ['application/zlib', 'ZLIB', 'zlib', 'compressed zlib', 'zlib'],
  ['application/x-compress', 'COMPRESS', 'compress', 'compressed compress', 'z'], // ours
  ['application/x-cpio', 'CPIO', 'cpio', 'compressed cpio', 'cpio'],
  ['application/x-archive', 'AR', 'ar', 'compressed ar', 'a'], // ours: static libraries
  ['application/x-iso9660-image', 'ISO image', 'iso', 'iso', 'iso'],
  ['application/x-apple-diskimage', 'Apple disk image', 'dmg', 'mac dmg', 'dmg'],
  // Images, audio, video, fonts, databases.
  ['image/jpeg', 'JPEG', 'jpeg', 'image jpeg', 'jpg'],
  ['image/png', 'PNG', 'png', 'image png', 'png'],
  ['image/gif', 'GIF', 'gif', 'image gif', 'gif'],
  [{ mime: /^image\/(x-ms-)?bmp$/ }, 'BMP', 'bmp', 'image bmp', 'bmp'],
  ['image/tiff', 'TIFF', 'tiff', 'image tiff', 'tif'],
  ['image/webp', 'WEBP', 'webp', 'image webp', 'webp'],
  ['image/vnd.microsoft.icon', 'ICO', 'ico', 'image ico', 'ico'],
  ['image/svg+xml', 'SVG', 'svg', 'image svg', 'svg'],
  ['audio/mpeg', 'MP3', 'mp3', 'multimedia audio mp3', 'mp3'],
  ['audio/x-wav', 'WAV', 'wav', 'multimedia audio wav', 'wav'],
  ['audio/flac', 'FLAC', 'flac', 'multimedia audio flac', 'flac'],
  [{ mime: /^(audio|video)\/ogg$/ }, 'OGG', 'ogg', 'multimedia audio ogg', 'ogg'],
  ['video/mp4', 'MP4', 'mp4', 'multimedia video mp4', 'mp4'],
  ['video/x-msvideo', 'AVI', 'avi', 'multimedia video avi', 'avi'],
  ['video/x-matroska', 'Matroska', 'mkv', 'multimedia video mkv', 'mkv'],
  ['video/webm', 'WEBM', 'webm', 'multimedia video webm', 'webm'],
  ['video/quicktime', 'QuickTime', 'mov', 'multimedia video mov', 'mov'],
  [{ mime: /^font\/(ttf|sfnt)$/ }, 'TrueType Font', 'ttf', 'font ttf', 'ttf'],
  ['font/otf', 'OpenType Font', 'otf', 'font otf', 'otf'],
  [{ mime: /^font\/woff2?$/ }, 'Web Open Font', 'woff', 'font woff', 'woff'],
  [{ mime: /sqlite3$/ }, 'SQLite', 'sqlite', 'database sqlite', 'sqlite'],
  // Scripts and source code: libmagic's MIME type reflects the shebang or the content.
  ['text/x-shellscript', 'Shell script', 'shell', 'source shell', 'sh'],
  ['text/x-script.python', 'Python', 'python', 'source python', 'py'],
  ['text/x-perl', 'Perl', 'perl', 'source perl', 'pl'],
  ['text/x-ruby', 'Ruby', 'ruby', 'source ruby', 'rb'],
  ['text/x-php', 'PHP', 'php', 'source php', 'php'],
  ['application/javascript', 'JavaScript', 'javascript', 'source javascript', 'js'],
  ['text/x-msdos-batch', 'DOS batch file', 'bat', 'source windows bat', 'bat'],
  ['text/x-lua', 'Lua', 'lua', 'source lua', 'lua'],
  ['text/x-tcl', 'Tcl', 'tcl', 'source tcl', 'tcl'],
  ['text/x-c', 'C', 'c', 'source c', 'c'],
  ['text/x-c++', 'C++', 'cpp', 'source cpp', 'cpp'],
  ['text/x-java', 'Java', 'java', 'source java', 'java'],
  // Markup and data formats, then any other text.
  ['text/html', 'HTML', 'html', 'internet html', 'html'],
  ['text/xml', 'XML', 'xml', 'text xml', 'xml'],
  ['application/json', 'JSON', 'json', 'text json', 'json'],
  ['text/csv', 'CSV', 'csv', 'text csv', 'csv'],
  [{ mime: /^text\// }, 'Text', 'text', 'text', 'txt'],
  [{ mime: /^(inode|application)\/x-empty$/ }, 'Empty file', 'empty', '', ''], // ours (inode/ for a path)
];

/** Traits added to `tags` on top of the type tag, whatever the type. */
const TRAITS: [RegExp, string][] = [
  [/Mono\/\.Net assembly/, 'assembly'],
  [/^(PE32\+ |ELF 64-bit |Mach-O 64-bit )/, '64bits'],
];

/** Longest type_description we derive from an unrecognised magic string. */
const SHORT_MAGIC_MAX = 60;
/** Where a description turns to per-file details (names, versions, sizes, options). */
const DETAILS = /[,"'(\[\\]| - | version /i;
/** What libmagic says when it recognises nothing: VirusTotal's `unknown`. */
const NOTHING = /^(data|very short file \(no magic\))?$/;
/** file(1) prefixes the file's mode bits ("setuid ELF 64-bit ..."): not part of the type. */
const MODE_PREFIX = /^((setuid|setgid|sticky) )+/;

function matches(match: Match, magic: string, mime: string): boolean {
  if (typeof match === 'string') return mime === match;
  if (match instanceof RegExp) return match.test(magic);
  const test = (want: string | RegExp | undefined, got: string) =>
    want === undefined || (typeof want === 'string' ? got === want : want.test(got));
  return test(match.mime, mime) && test(match.magic, magic);
}

/**
 * Maps libmagic's description (`magic`) and MIME type to VirusTotal's type fields.
 * Types the table does not know get type_tag `unknown`, no type_tags and no extension, and a
 * type_description that is the magic string cut before its per-file details, so one kind of file
 * gets one name (`Compiled terminfo entry "xterm"` -> "Compiled terminfo entry"); `data` and
 * `very short file (no magic)` become `unknown`.
 */
export function vtFileType(fullMagic: string, mime: string): VtFileType {
  const magic = fullMagic.replace(MODE_PREFIX, '');
  const traits = TRAITS.filter(([re]) => re.test(magic)).map(([, tag]) => tag);
  const rule = RULES.find(([match]) => matches(match, magic, mime));
  if (!rule) {
    const short = NOTHING.test(magic) ? 'unknown' : magic.split(DETAILS)[0]!.trim() || 'unknown';
    return {
      typeDescription: short.slice(0, SHORT_MAGIC_MAX),
      typeTag: 'unknown',
      typeTags: [],
      typeExtension: '',
      tags: traits,
    };
  }
  const [, typeDescription, typeTag, typeTags, typeExtension] = rule;
  return {
    typeDescription,
    typeTag,
    typeTags: typeTags === '' ? [] : typeTags.split(' '),
    typeExtension,
    tags: [...new Set([typeTag, ...traits])],
  };
}
