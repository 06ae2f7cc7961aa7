// The external variables' values for one file, as the engine sees them in a scan.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compileRulesets } from '../src/hunting/engine/compiled-rules.js';
import { EXTERNAL_VARIABLES } from '../src/hunting/engine/engine-options.js';
import { scanVariables } from '../src/hunting/scan/scan-variables.js';
import type { FileAnalysis } from '../src/store/store.js';

const PE: FileAnalysis = {
  magic: 'PE32 executable (GUI) Intel 80386, for MS Windows',
  typeDescription: 'Win32 EXE',
  typeTag: 'peexe',
  typeTags: ['executable', 'windows', 'win32', 'pe', 'peexe'],
  typeExtension: 'exe',
  tags: ['peexe'],
};
const TEXT: FileAnalysis = { magic: 'ASCII text', typeDescription: 'Text', typeTag: 'text', typeTags: ['text'], typeExtension: 'txt', tags: ['text'] };

describe('scan variables', () => {
  it('gives every external variable a value of its declared type', () => {
    const v = scanVariables({ name: null, newFile: false, submissions: 0 }, TEXT);
    assert.deepEqual(Object.keys(v).sort(), Object.keys(EXTERNAL_VARIABLES).sort());
    for (const [k, value] of Object.entries(v)) assert.equal(typeof value, typeof EXTERNAL_VARIABLES[k], k);
  });

  it('names the file, its folder inside a container, extension and type as public rules expect', () => {
    const v = scanVariables({ name: 'tools\\x86/Setup.Helper.EXE', newFile: true, submissions: 0 }, PE);
    assert.equal(v.filename, 'Setup.Helper.EXE');
    assert.equal(v.file_name, 'Setup.Helper.EXE');
    assert.equal(v.filepath, 'tools\\x86');
    assert.equal(v.extension, '.exe');
    assert.equal(v.filetype, 'EXE');
    assert.equal(v.file_type, 'peexe executable windows win32 pe');
    assert.equal(v.new_file, true);
    assert.equal(v.tags, 'peexe');
    const bare = scanVariables({ name: '.bashrc', newFile: false, submissions: 3 }, TEXT);
    assert.equal(bare.extension, '', 'a leading dot is not an extension');
    assert.equal(bare.filepath, '');
    assert.equal(bare.filetype, 'TXT');
    assert.equal(bare.submissions, 3);
  });

  it('reach the rules in a scan, and only that scan', () => {
    const compiled = compileRulesets([{
      id: '1',
      source: [
        'rule named { condition: filename == "invoice.exe" and extension == ".exe" and filetype == "EXE" }',
        'rule vt_legacy { condition: new_file and file_type contains "pe" and submissions == 1 and positives == 0 }',
        'rule not_ours { condition: not (filename matches /^invoice/) }',
      ].join('\n'),
    }]);
    const rules = (name: string | null, newFile: boolean) =>
      compiled.scan(Buffer.from('MZ'), 5000, scanVariables({ name, newFile, submissions: 1 }, PE)).map((m) => m.rule).sort();
    assert.deepEqual(rules('invoice.exe', true), ['named', 'vt_legacy']);
    assert.deepEqual(rules('other.exe', false), ['not_ours']);
    // Without values, every variable is back at its empty default.
    assert.deepEqual(compiled.scan(Buffer.from('MZ'), 5000).map((m) => m.rule), ['not_ours']);
    // Names the binding would read as a number or a boolean are left at the default, not a failed scan.
    for (const name of ['42', '-1', 'true', 'false']) assert.deepEqual(rules(name, false), ['not_ours'], name);
    assert.deepEqual(rules('4.5', false), ['not_ours']);
  });
});
