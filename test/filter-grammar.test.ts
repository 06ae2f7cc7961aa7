// The filter grammar every list shares (src/model/filter-grammar.ts): tokens, quotes and escapes,
// dialects' keys, aliases and bare words, and the value kinds (booleans, dates, hashes).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TrawlError } from '../src/model/errors.js';
import { booleanValue, dateRange, hashKind, parseFilter, tokenize, type FilterDialect } from '../src/model/filter-grammar.js';
import { parseRulesetFilter } from '../src/hunting/rulesets/ruleset-filter.js';
import { parseStreamFilter } from '../src/stream/ioc-stream-filter.js';

const pairs = (f: string) => tokenize(f).map((t) => [t.key, t.value]);
/** Asserts that `fn` throws a BadRequestError whose message contains `part`. */
function refuses(fn: () => unknown, part: string) {
  assert.throws(fn, (e) => e instanceof TrawlError && e.code === 'BadRequestError' && e.message.includes(part), part);
}

describe('filter grammar', () => {
  it('splits on any whitespace, keys lower-cased, values as written', () => {
    assert.deepEqual(pairs(' Tag:My_Rule\tname:Foo\n bare '), [['tag', 'My_Rule'], ['name', 'Foo'], ['', 'bare']]);
    assert.deepEqual(pairs('entity_id:http://x/a:b'), [['entity_id', 'http://x/a:b']], 'only the first colon splits');
    assert.deepEqual(pairs(''), []);
  });

  it('takes quoted values with escapes, and a lone quote as a character', () => {
    assert.deepEqual(pairs(`tag:"a b" name:'it\\'s' x:"say \\"hi\\"" y:"c:\\\\d"`), [['tag', 'a b'], ['name', "it's"], ['x', 'say "hi"'], ['y', 'c:\\d']]);
    assert.deepEqual(pairs('"ruleset name" tag:"x"+'), [['', 'ruleset name'], ['tag', 'x+']]);
    assert.deepEqual(pairs('"tag:x"'), [['', 'tag:x']], 'a colon inside quotes is no key');
    assert.deepEqual(pairs(`tag:"open name:O'Brien`), [['tag', '"open'], ['name', "O'Brien"]]);
    assert.deepEqual(pairs(`tag:a\\d`), [['tag', 'a\\d']], 'backslashes outside quotes are kept');
  });

  it('reads `and` as a connector and an empty quoted word as nothing', () => {
    assert.deepEqual(pairs('date:2024-01-01+ AND tag:x and ""'), [['date', '2024-01-01+'], ['tag', 'x']]);
  });

  it("gives a date whose `+` was decoded as a space its `+` back", () => {
    assert.deepEqual(pairs('date:2024-01-01  tag:x'), [['date', '2024-01-01+'], ['tag', 'x']]);
    assert.deepEqual(pairs('tag:x date:1700000000 '), [['tag', 'x'], ['date', '1700000000+']]);
    assert.deepEqual(pairs('date:2024-01-01 tag:x'), [['date', '2024-01-01'], ['tag', 'x']], 'one space separates terms');
  });

  it('maps bare words, aliases and keys per dialect, and names what it refuses', () => {
    const d: FilterDialect = { keys: ['tag', 'date'], aliases: { notification_tag: 'tag' }, bareWord: 'tag', tagKeys: ['tag'] };
    assert.deepEqual(parseFilter('word NOTIFICATION_TAG:x', d).map((t) => [t.key, t.value, t.bare]), [['tag', 'word', true], ['tag', 'x', false]]);
    refuses(() => parseFilter('colour:red', d), '"colour"');
    refuses(() => parseFilter('tag:', d), 'tag:');
    refuses(() => parseFilter('word', { keys: ['status'] }), 'word');
    refuses(() => parseFilter(Array.from({ length: 17 }, (_, i) => `t${i}`).join(' '), d), 'tag terms');
    refuses(() => tokenize(Array(33).fill('x').join(' ')), 'terms');
    refuses(() => tokenize('x'.repeat(4097)), 'too long');
  });

  it('takes booleans in any case, and 1 or 0', () => {
    const b = (v: string) => booleanValue({ key: 'enabled', value: v, raw: `enabled:${v}`, bare: false });
    assert.deepEqual(['true', 'True', 'TRUE', '1', 'false', 'False', '0'].map(b), [true, true, true, true, false, false, false]);
    refuses(() => b('yes'), 'enabled:yes');
  });

  it('reads dates as UTC, with an explicit offset honoured, and windows by suffix', () => {
    const r = (v: string) => dateRange({ key: 'date', value: v, raw: `date:${v}`, bare: false });
    const day = Date.UTC(2024, 0, 1) / 1000;
    assert.deepEqual(r('2024-01-01+'), { from: day });
    assert.deepEqual(r('2024-01-01-'), { to: day });
    assert.deepEqual(r('2024-01-01'), { from: day, to: day + 86_400 });
    assert.deepEqual(r('2024-01-01T10:00:00+'), { from: day + 36_000 });
    assert.deepEqual(r('2024-01-01T10:00:00+02:00+'), { from: day + 28_800 });
    assert.deepEqual(r('2024-01-01T10:00:00Z-'), { to: day + 36_000 });
    assert.deepEqual(r('1700000000+'), { from: 1_700_000_000 });
    refuses(() => r('2024-02-30+'), 'date:2024-02-30+');
    refuses(() => r('yesterday'), 'dates are');
  });

  it('tells hashes apart by length', () => {
    assert.deepEqual(['a'.repeat(32), 'B'.repeat(40), '0'.repeat(64), 'a'.repeat(33), 'g'.repeat(32)].map(hashKind), ['md5', 'sha1', 'sha256', null, null]);
  });
});

describe('dialects of the grammar', () => {
  const ruleset = (name: string, enabled = true, tags: string[] = []) =>
    ({ id: 1, name, enabled, tags, rules: 'rule a { condition: true }', creationDate: 0, modificationDate: 0 }) as unknown as Parameters<ReturnType<typeof parseRulesetFilter>>[0];

  it('rulesets: a bare word is a whole-word name, enabled takes any case', () => {
    const keep = parseRulesetFilter('Malicious_Docs enabled:True ');
    assert.equal(keep(ruleset('Malicious_Docs')), true);
    assert.equal(keep(ruleset('Malicious_Docs', false)), false);
    assert.equal(keep(ruleset('Malicious_Docsets')), false, 'whole words');
    assert.equal(parseRulesetFilter('tag:"Auto Gen"')(ruleset('x', true, ['auto gen'])), true);
    refuses(() => parseRulesetFilter('owner:x'), '"owner"');
  });

  it('IoC Stream: aliases of notification_tag, values in any case, no bare words', () => {
    assert.deepEqual(parseStreamFilter('tag:A notification_tags:"B" origin:Hunting entity_type:FILE'), { tags: ['a', 'b'] });
    assert.deepEqual(parseStreamFilter(`entity_id:${'A'.repeat(32)}`), { entityIds: ['a'.repeat(32)] });
    assert.equal(parseStreamFilter('origin:subscriptions').none, true);
    refuses(() => parseStreamFilter('my_rule'), 'my_rule');
    refuses(() => parseStreamFilter('origin:notHunting'), 'origin "notHunting" is not valid. Valid origins are: hunting,subscriptions');
  });
});
