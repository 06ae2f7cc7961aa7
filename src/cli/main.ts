// The `trawl` command: splits configuration flags from command flags, loads the configuration
// once and hands it to one command module per command group.
import type { Writable } from 'node:stream';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, fields, flagName, loadConfig } from '../config.js';
import { StartupRefused } from '../deployment/blob-store-marker.js';
import { TrawlError } from '../model/errors.js';
import { corpusCommand, corpusOptions, corpusUsage } from './corpus.js';
import { fileCommand, fileOptions, fileUsage } from './file.js';
import { huntingCommand, huntingOptions, huntingUsage } from './hunting.js';
import { iocstreamCommand, iocstreamOptions, iocstreamUsage } from './iocstream.js';
import { jobsCommand, jobsOptions, jobsUsage } from './jobs.js';
import { migrateCommand, migrateOptions, migrateUsage } from './migrate.js';
import { rulesCommand, rulesOptions, rulesUsage } from './rules.js';
import { retrohuntCommand, retrohuntOptions, retrohuntUsage } from './retrohunt.js';
import { serveCommand, serveUsage } from './serve.js';
import { statusCommand, statusOptions, statusUsage } from './status.js';
import { submitCommand, submitOptions, submitUsage } from './submit.js';
import { userCommand, userOptions, userUsage } from './user.js';
import { groupCommand, groupOptions, groupUsage } from './group.js';
import { versionLine } from '../version.js';

const usage = `usage: trawl COMMAND [options]

commands:
  trawl --version                      Trawl's version and its YARA-X engine's
  ${serveUsage}
  ${submitUsage}
  ${corpusUsage}
  ${fileUsage}
  ${huntingUsage.split('\n').join('\n  ')}
  ${iocstreamUsage.split('\n').join('\n  ')}
  ${retrohuntUsage.split('\n').join('\n  ')}
  ${rulesUsage.split('\n').join('\n  ')}
  ${userUsage.split('\n').join('\n  ')}
  ${groupUsage.split('\n').join('\n  ')}
  ${jobsUsage.split('\n').join('\n  ')}
  ${statusUsage}
  ${migrateUsage.split('\n').join('\n  ')}

Every setting can be given as --flag, TRAWL_* environment variable or in a JSON file (--config FILE);
see docs/configuration.md.
`;

type Options = NonNullable<ParseArgsConfig['options']>;
const configOptions: Options = Object.fromEntries([
  ['config', { type: 'string' }],
  ...Object.keys(fields).map((k) => [flagName(k), { type: 'string' }]),
]);

export async function main(argv: string[], out: Writable = process.stdout, err: Writable = process.stderr): Promise<number> {
  const [command, ...rest] = argv;
  const commandOptions: Record<string, Options> = { serve: {}, submit: submitOptions, corpus: corpusOptions, file: fileOptions, user: userOptions, group: groupOptions, jobs: jobsOptions, status: statusOptions, migrate: migrateOptions, hunting: huntingOptions, iocstream: iocstreamOptions, retrohunt: retrohuntOptions, rules: rulesOptions };
  if (!command || command === 'help' || command === '--help' || command === '-h') {
    out.write(usage);
    return command ? 0 : 2;
  }
  if (command === '--version' || command === 'version') {
    out.write(`${versionLine()}\n`);
    return 0;
  }
  if (!(command in commandOptions)) {
    err.write(`trawl: unknown command "${command}"\n\n${usage}`);
    return 2;
  }
  try {
    const { values, positionals } = parseArgs({
      args: rest,
      options: { ...configOptions, ...commandOptions[command] },
      allowPositionals: true,
      strict: true,
    });
    const v = values as Record<string, string | boolean | undefined>;
    const flags: Record<string, string> = {};
    for (const k of Object.keys(fields)) {
      const raw = v[flagName(k)];
      if (typeof raw === 'string') flags[k] = raw;
    }
    const config = loadConfig({ flags, configFile: v.config as string | undefined });
    switch (command) {
      case 'serve':
        return await serveCommand(config, err);
      case 'status':
        return await statusCommand({ config, json: v.json === true, out });
      case 'submit':
        return await submitCommand(positionals, { config, wait: v.wait === true, concurrency: Number(v.concurrency), out, err });
      case 'corpus':
        return await corpusCommand(positionals, { config, wait: v.wait === true, concurrency: Number(v.concurrency), out, err });
      case 'file':
        return await fileCommand(positionals, { config, out, err });
      case 'iocstream':
        return await iocstreamCommand(positionals, {
          config, filter: v.filter as string | undefined, limit: v.limit as string | undefined,
          identifiersOnly: v['identifiers-only'] === true, all: v.all === true, out, err,
        });
      case 'hunting':
        return await huntingCommand(positionals, {
          config, filter: v.filter as string | undefined, limit: v.limit as string | undefined,
          all: v.all === true, withTag: v['with-tag'] as string | undefined, preflight: v.preflight === true, yes: v.yes === true, out, err,
        });
      case 'retrohunt':
        return await retrohuntCommand(positionals, {
          config, timeRange: v['time-range'] as string | undefined, email: v.email as string | undefined, corpus: v.corpus as string | undefined,
          wait: v.wait === true, filter: v.filter as string | undefined, limit: v.limit as string | undefined, json: v.json === true, out, err,
        });
      case 'rules':
        return await rulesCommand(positionals, { config, ...(typeof v.source === 'string' ? { source: v.source } : {}), out, err });
      case 'migrate':
        return await migrateCommand({ config, flags: v, out, err });
      case 'group':
        return await groupCommand(positionals, { config, values: v, out, err });
      case 'jobs':
        return await jobsCommand(positionals, { config, failed: v.failed === true, all: v.all === true, out, err });
      default:
        return await userCommand(positionals, { config, admin: v.admin === true, email: v.email as string | undefined, rotate: v.rotate === true, values: v, out, err });
    }
  } catch (e) {
    if (e instanceof ConfigError) {
      err.write(`trawl: ${e.message}\n`);
      return 2;
    }
    if (e instanceof StartupRefused) {
      err.write(`trawl: refusing to start: ${e.message}\n`);
      return 1;
    }
    if (e instanceof TrawlError) {
      err.write(`trawl: ${e.code}: ${e.message}\n`);
      return 1;
    }
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      err.write(`trawl: ${(e as Error).message}\n\n${usage}`);
      return 2;
    }
    throw e;
  }
}
