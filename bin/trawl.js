#!/usr/bin/env -S node --single-threaded-gc
// Entry point of the `trawl` command: runs the compiled CLI, with V8's garbage collector on each
// thread's own (docs/configuration.md, "Node options").
import { main } from '../dist/src/cli/main.js';
main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
