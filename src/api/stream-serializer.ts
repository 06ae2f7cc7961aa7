// The API's wire format as the IoC Stream's read side uses it (stream/stream-serializer.ts). Page
// threads load this module by URL: it is exported under a fixed name.
import type { StreamSerializer } from '../stream/stream-serializer.js';
import { fileAttributes } from './serializers/file.js';
import { streamItemJson } from './serializers/ioc-stream.js';

export const streamSerializer: StreamSerializer = {
  fileAttributes: (f) => JSON.stringify(fileAttributes(f)),
  item: streamItemJson,
};

/** This module, for ThreadedStreamPages.start. */
export const STREAM_SERIALIZER_MODULE = import.meta.url;
