// s3rver in a process of its own, as an S3 server on the machine would be (in the benchmark's
// process it would share an event loop with the client): prints its port, serves until killed.
//
//   node dist/bench/lib/s3-server-process.js DIR BUCKET
import { startS3 } from '../../test/helpers/s3-server.js';

const s3 = await startS3(process.argv[2] ?? 'trawl');
process.stdout.write(`${s3.endpoint}\n`);
process.on('SIGTERM', () => void s3.close().then(() => process.exit(0)));
