// Configuration layering and validation, and the documentation of every setting.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ConfigError, envName, fields, flagName, loadConfig } from '../src/config.js';

describe('config', () => {
  const dir = mkdtempSync(join(tmpdir(), 'trawl-config-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'trawl.json');

  it('layers defaults < file < environment < flags', () => {
    writeFileSync(file, JSON.stringify({ port: 9001, host: '0.0.0.0', logLevel: 'warn' }));
    const c = loadConfig({ configFile: file, env: { TRAWL_PORT: '9002', TRAWL_LOG_LEVEL: 'debug' }, flags: { 'log-level': 'error' } });
    assert.equal(c.host, '0.0.0.0');
    assert.equal(c.port, 9002);
    assert.equal(c.logLevel, 'error');
    assert.equal(c.maxUploadBytes, 32 * 1024 * 1024);
    assert.ok(Object.isFrozen(c));
  });

  it('derives the database URL and blob folder from the data folder', () => {
    const c = loadConfig({ env: {}, flags: { dataDir: dir } });
    assert.equal(c.databaseUrl, `sqlite:${join(dir, 'trawl.db')}`);
    assert.equal(c.blobPath, join(dir, 'blobs'));
    assert.ok(c.workerCount >= 1);
  });

  it('stops on unknown keys and bad values, naming them', () => {
    writeFileSync(file, JSON.stringify({ prot: 1 }));
    assert.throws(() => loadConfig({ configFile: file, env: {} }), (e: Error) => e instanceof ConfigError && /unknown key "prot"/.test(e.message));
    assert.throws(() => loadConfig({ env: { TRAWL_PORTT: '1' } }), /unknown variable TRAWL_PORTT/);
    assert.throws(() => loadConfig({ env: { TRAWL_PORT: 'eighty' } }), /TRAWL_PORT.*"port".*integer/);
    assert.throws(() => loadConfig({ env: {}, flags: { port: '70000' } }), /--port.*at most 65535/);
    assert.throws(() => loadConfig({ env: {}, flags: { role: 'boss' } }), /"role".*all, api, worker/);
    assert.throws(() => loadConfig({ env: {}, flags: { 'no-such': 'x' } }), /unknown flag --no-such/);
    assert.throws(() => loadConfig({ env: {}, flags: { database: 'mysql://x' } }), /"database"/);
    assert.throws(() => loadConfig({ env: {}, flags: { publicUrl: 'example.org' } }), /"publicUrl"/);
    writeFileSync(file, '{ not json');
    assert.throws(() => loadConfig({ configFile: file, env: {} }), /config file .*trawl\.json/);
  });

  it('checks object storage settings, and takes the region from AWS_REGION when none is set', () => {
    const s3 = { blobUrl: 's3://trawl-blobs/prod' };
    assert.equal(loadConfig({ env: { AWS_REGION: 'eu-west-1' }, flags: s3 }).s3Region, 'eu-west-1');
    assert.equal(loadConfig({ env: { AWS_REGION: 'eu-west-1' }, flags: { ...s3, s3Region: 'us-west-2' } }).s3Region, 'us-west-2');
    assert.throws(() => loadConfig({ env: {}, flags: { blobUrl: 'http://bucket' } }), /"blobUrl": expected s3:\/\/bucket/);
    assert.throws(() => loadConfig({ env: {}, flags: { ...s3, blobDir: '/srv/blobs' } }), /both set/);
    assert.throws(() => loadConfig({ env: {}, flags: { ...s3, s3AccessKeyId: 'AKIA' } }), /set both or neither/);
    assert.throws(() => loadConfig({ env: {}, flags: { ...s3, s3AddressingStyle: 'dns' } }), /s3AddressingStyle/);
  });

  it('documents every setting with its flag and variable', () => {
    const doc = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
    for (const k of Object.keys(fields)) {
      assert.ok(doc.includes(`\`${k}\``) && doc.includes(`\`--${flagName(k)}\``) && doc.includes(`\`${envName(k)}\``), `docs/configuration.md lists ${k}`);
    }
  });
});
