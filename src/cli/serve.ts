// `trawl serve`: runs the service (API and/or workers, per --role) until SIGINT/SIGTERM.
import type { Writable } from 'node:stream';
import type { Config } from '../config.js';
import { startService } from '../main.js';
import { versionLine } from '../version.js';

export const serveUsage = 'trawl serve [--port N] [--host ADDR] [--data-dir DIR] [--database URL] [--role all|api|worker] ...';

export async function serveCommand(config: Config, err: Writable): Promise<number> {
  const service = await startService(config);
  if (service.adminKey) {
    err.write(
      `\nCreated the admin user. Its API key, shown only this once:\n\n    ${service.adminKey}\n\n` +
        `Use it as the x-apikey header, or: export TRAWL_APIKEY=${service.adminKey}\n\n`,
    );
  }
  err.write(`${versionLine()}\n`);
  if (service.url) err.write(`Trawl is listening on ${service.url} (data: ${config.databaseUrl.startsWith('sqlite:') ? config.dataDir : config.databaseUrl.replace(/\/\/[^@]*@/, '//***@')})\n`);
  else err.write('Trawl worker started\n');
  if (!process.execArgv.includes('--single-threaded-gc')) {
    err.write('hint: node was started without --single-threaded-gc (make start and bin/trawl.js use it): see docs/configuration.md, "Node options"\n');
  }
  // SIGHUP: a renewed certificate (certbot's deploy hook, `systemctl reload`) is taken without a restart.
  const hup = () => void service.reloadTls();
  if (config.tlsCert) process.on('SIGHUP', hup);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  process.off('SIGHUP', hup);
  err.write('shutting down...\n');
  await service.close();
  return 0;
}
