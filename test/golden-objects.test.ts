// The VirusTotal-shaped objects Trawl sends, from fixed records through the real serializers,
// against golden copies in test/golden/: any change of a wire shape shows in review as a change of
// a golden file. TRAWL_UPDATE_GOLDEN=1 writes them anew (then read the diff).
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileObject } from '../src/api/serializers/file.js';
import { notificationObject } from '../src/api/serializers/hunting-notification.js';
import { rulesetObject } from '../src/api/serializers/hunting-ruleset.js';
import { streamEntryOf, streamItemJson } from '../src/api/serializers/ioc-stream.js';
import { streamSerializer } from '../src/api/stream-serializer.js';
import type { FileRecord, NotificationRecord, RulesetRecord } from '../src/store/store.js';

const ORIGIN = 'https://trawl.example:8443';
const SHA256 = '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08';

const archive: FileRecord = {
  sha256: SHA256, sha1: 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3', md5: '098f6bcd4621d373cade4e832627b4f6', size: 2048,
  names: ['invoice.zip', 'invoice (1).zip'], firstSubmissionDate: 1_700_000_000, lastSubmissionDate: 1_700_003_600,
  lastAnalysisDate: 1_700_003_601, timesSubmitted: 2, uniqueSources: 1, revision: 3,
  magic: 'Zip archive data, at least v2.0 to extract, compression method=deflate', typeDescription: 'ZIP', typeTag: 'zip',
  typeTags: ['compressed', 'zip'], typeExtension: 'zip', tags: ['zip'],
  bundleInfo: {
    type: 'ZIP', num_children: 2, uncompressed_size: 4096, extensions: { exe: 1, txt: 1 }, file_types: { 'Win32 EXE': 1, Text: 1 },
    highest_datetime: '2023-11-14 22:13:20', lowest_datetime: '2023-11-14 22:13:20', password: 'infected',
  },
};

const ruleset: RulesetRecord = {
  id: 7, ownerId: 2, name: 'campaign', rules: 'rule evil : apt { strings: $a = "EVIL" condition: $a }', enabled: true, limit: 100,
  notificationEmails: ['soc@example.com'], matchObjectType: 'file', tags: ['apt'], ruleNames: ['evil'],
  creationDate: 1_699_000_000, modificationDate: 1_699_500_000, editorIds: [3], editorGroupIds: [], groupMemberIds: [], rulesGeneration: 12,
  rateLimit: { from: null, until: null, log: [] }, slowScans: 1,
  lastSlowScan: { date: 1_699_600_000, sha256: SHA256, milliseconds: 12_345, timedOut: true },
};

const notification: NotificationRecord = {
  id: 42, entityType: 'file', ownerId: 2, rulesetId: 7, rulesetName: 'campaign', date: 1_700_003_602, sha256: SHA256,
  submissionId: 9, ruleName: 'evil', ruleTags: ['apt'],
  snippet: '45 56 49 4C 20 70 61 79  *begin_highlight*EVIL*end_highlight* pay', matchInSubfile: true,
  sourceKey: 'ab12cd34', sourceCountry: 'DE', tags: ['campaign', 'evil', 'apt', SHA256],
};

const OBJECTS: Record<string, () => unknown> = {
  'file': () => fileObject(ORIGIN, archive),
  'bundle_info': () => (fileObject(ORIGIN, archive).attributes as Record<string, unknown>).bundle_info,
  'hunting_ruleset': () => rulesetObject(ORIGIN, ruleset),
  'hunting_notification': () => notificationObject(ORIGIN, notification, true),
  'ioc_stream_item': () => JSON.parse(streamItemJson(ORIGIN, streamEntryOf(notification), streamSerializer.fileAttributes(archive), false)),
  'ioc_stream_item_descriptors_only': () => JSON.parse(streamItemJson(ORIGIN, streamEntryOf(notification), undefined, true)),
};

describe('wire shapes against golden files', () => {
  for (const [name, make] of Object.entries(OBJECTS)) {
    it(`${name} is as test/golden/${name}.json has it`, () => {
      const url = new URL(`../../test/golden/${name}.json`, import.meta.url);
      const made = `${JSON.stringify(make(), null, 2)}\n`;
      if (process.env.TRAWL_UPDATE_GOLDEN === '1') writeFileSync(url, made);
      assert.equal(made, readFileSync(url, 'utf8'), `the ${name} object changed shape: if that is meant, TRAWL_UPDATE_GOLDEN=1 and review the diff`);
    });
  }
});
