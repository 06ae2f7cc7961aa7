// What the IoC Stream's read side needs of the wire format, which the API owns: the JSON text of a
// file's attributes and of a stream item. The API passes its implementation in
// (api/stream-serializer.ts); a page thread is given its module's URL and loads it.
import type { FileRecord, StreamEntry } from '../store/store.js';

export interface StreamSerializer {
  /** The `attributes` of `f`'s File object, as JSON text. */
  fileAttributes(f: FileRecord): string;
  /** An IoC Stream item as JSON text; `attributesJson`: its file's attributes, if included. */
  item(origin: string, e: Pick<StreamEntry, 'id' | 'date' | 'sha256' | 'context'>, attributesJson: string | undefined, descriptorsOnly: boolean): string;
}
