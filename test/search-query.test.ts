// The Intelligence search query parser alone (src/search/search-query.ts): what each form of
// the syntax reads as, and the clear BadRequestError of each malformed one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { TrawlError } from '../src/model/errors.js';
import type { SearchExpr } from '../src/model/file-search.js';
import { loneHash, parseSearchQuery } from '../src/search/search-query.js';
import { parseSearchOrder } from '../src/search/file-search.js';

const NOW = 1_700_000_000;
const DAY = Date.UTC(2024, 0, 2) / 1000;
const parse = (q: string) => parseSearchQuery(q, NOW);
const t = (term: object): SearchExpr => ({ kind: 'term', term } as SearchExpr);
const SHA = 'AB'.repeat(32);

describe('search query parser', () => {
  it('reads each modifier into a checked, normalised term', () => {
    const cases: [string, SearchExpr][] = [
      [SHA, t({ kind: 'hash', column: 'sha256', value: SHA.toLowerCase() })],
      ['d41d8cd98f00b204e9800998ecf8427e', t({ kind: 'hash', column: 'md5', value: 'd41d8cd98f00b204e9800998ecf8427e' })],
      [`sha1:${'a'.repeat(40)}`, t({ kind: 'hash', column: 'sha1', value: 'a'.repeat(40) })],
      ['type:PEEXE', t({ kind: 'type', value: 'peexe' })],
      ['size:10kb+', t({ kind: 'size', bound: { op: '>=', value: 10240 } })],
      ['size:1.5MB-', t({ kind: 'size', bound: { op: '<=', value: 1572864 } })],
      ['size:300', t({ kind: 'size', bound: { op: '=', value: 300 } })],
      ['fs:2024-01-02+', t({ kind: 'fs', bound: { op: '>=', value: DAY } })],
      ['ls:2024-01-02T10:00:00-', t({ kind: 'ls', bound: { op: '<', value: DAY + 36000 } })],
      ['fs:2024-01-02', { kind: 'and', items: [t({ kind: 'fs', bound: { op: '>=', value: DAY } }), t({ kind: 'fs', bound: { op: '<', value: DAY + 86400 } })] }],
      ['ls:7d+', t({ kind: 'ls', bound: { op: '>=', value: NOW - 7 * 86400 } })],
      ['fs:1700000000-', t({ kind: 'fs', bound: { op: '<', value: 1_700_000_000 } })],
      ['name:"Invoice 2024.PDF"', t({ kind: 'name', value: 'invoice 2024.pdf' })],
      ['magic:"PE32 executable"', t({ kind: 'magic', value: 'pe32 executable' })],
      ['tag:Overlay', t({ kind: 'tag', value: 'overlay' })],
      ['submissions:5+', t({ kind: 'submissions', bound: { op: '>=', value: 5 } })],
      ['bundled:true', t({ kind: 'bundled', value: true })],
      ['bundled:0', t({ kind: 'bundled', value: false })],
      [`bundled:${SHA}`, t({ kind: 'parent', column: 'sha256', value: SHA.toLowerCase() })],
      [`parent:${'c'.repeat(40)}`, t({ kind: 'parent', column: 'sha1', value: 'c'.repeat(40) })],
      ['crowdsourced_yara_rule:0122bae1e9|INDICATOR_EXE_Packed', t({ kind: 'rule', value: 'INDICATOR_EXE_Packed' })],
      ['crowdsourced_yara_rule:my_rule', t({ kind: 'rule', value: 'my_rule' })],
    ];
    for (const [q, want] of cases) assert.deepEqual(parse(q), want, q);
  });

  it('reads AND (implicit or written), OR, NOT, -modifier: and parentheses with OR binding loosest', () => {
    const a = t({ kind: 'type', value: 'a' });
    const b = t({ kind: 'tag', value: 'b' });
    const c = t({ kind: 'magic', value: 'c' });
    assert.deepEqual(parse('type:a tag:b'), { kind: 'and', items: [a, b] });
    assert.deepEqual(parse('type:a AND tag:b and magic:c'), { kind: 'and', items: [a, b, c] });
    assert.deepEqual(parse('type:a tag:b OR magic:c'), { kind: 'or', items: [{ kind: 'and', items: [a, b] }, c] });
    assert.deepEqual(parse('type:a (tag:b or magic:c)'), { kind: 'and', items: [a, { kind: 'or', items: [b, c] }] });
    assert.deepEqual(parse('NOT type:a -tag:b'), { kind: 'and', items: [{ kind: 'not', item: a }, { kind: 'not', item: b }] });
    assert.deepEqual(parse('-(type:a OR tag:b)'), { kind: 'not', item: { kind: 'or', items: [a, b] } });
    assert.deepEqual(parse('((type:a))'), a);
    assert.deepEqual(parse('name:"a (b) c"'), t({ kind: 'name', value: 'a (b) c' }));
  });

  it('gives back a range\'s + that an unencoded query string decoded as a space', () => {
    const atLeast = t({ kind: 'size', bound: { op: '>=', value: 10240 } });
    assert.deepEqual(parse('size:10kb '), atLeast);
    assert.deepEqual(parse('size:10kb  type:pdf'), { kind: 'and', items: [atLeast, t({ kind: 'type', value: 'pdf' })] });
    assert.deepEqual(parse('ls:2024-01-02 '), t({ kind: 'ls', bound: { op: '>=', value: DAY } }));
    assert.deepEqual(parse('size:10kb type:pdf'), { kind: 'and', items: [t({ kind: 'size', bound: { op: '=', value: 10240 } }), t({ kind: 'type', value: 'pdf' })] }, 'one space: exact');
  });

  it('tells a lone hash from a query that holds one', () => {
    assert.equal(loneHash(parse(SHA))?.value, SHA.toLowerCase());
    assert.equal(loneHash(parse(`${SHA} type:peexe`)), null);
  });

  it('refuses malformed queries with a BadRequestError that names what is wrong', () => {
    const cases: [string, RegExp][] = [
      ['', /a query is required/],
      ['   ', /a query is required/],
      ['p:5+', /unknown search modifier "p:"/],
      ['eicar', /a bare word must be an MD5, SHA-1 or SHA-256/],
      ['abcdef', /a bare word must be/],
      ['type:', /"type:": the modifier type: has no value/],
      ['size:10xb+', /"size:10xb\+": sizes are a number/],
      ['fs:2024-02-30', /"fs:2024-02-30": dates are/],
      ['ls:yesterday', /dates are/],
      ['submissions:many', /submissions takes a count/],
      [`md5:${'a'.repeat(64)}`, /not a MD5/],
      ['parent:xyz', /expected an MD5, SHA-1 or SHA-256/],
      ['(type:a', /missing "\)" at the end of the query/],
      ['type:a)', /unbalanced "\)"/],
      ['()', /expected a term at "\)"/],
      ['type:a OR', /expected a term at the end of the query/],
      ['OR type:a', /expected a term before OR/],
      ['type:a AND AND tag:b', /expected a term before AND/],
      ['NOT', /expected a term at the end/],
      ['name:"abc', /unterminated quote/],
      ['- type:a', /"-" negates a modifier or a group/],
      ['('.repeat(20) + 'type:a' + ')'.repeat(20), /nested deeper than 16/],
      [Array.from({ length: 33 }, () => 'type:a').join(' '), /more than 32 terms/],
      ['type:' + 'a'.repeat(5000), /too long/],
    ];
    for (const [q, message] of cases) {
      assert.throws(() => parse(q), (e: unknown) => e instanceof TrawlError && e.code === 'BadRequestError' && message.test(e.message), q);
    }
  });

  it('reads order= as VirusTotal writes it, descending without a sign', () => {
    assert.deepEqual(parseSearchOrder(undefined), { field: 'last_submission_date', dir: 'desc' });
    assert.deepEqual(parseSearchOrder('first_submission_date-'), { field: 'first_submission_date', dir: 'desc' });
    assert.deepEqual(parseSearchOrder('size+'), { field: 'size', dir: 'asc' });
    assert.deepEqual(parseSearchOrder('size'), { field: 'size', dir: 'desc' });
    assert.deepEqual(parseSearchOrder('submissions+'), { field: 'times_submitted', dir: 'asc' });
    assert.deepEqual(parseSearchOrder('ls'), { field: 'last_submission_date', dir: 'desc' });
    assert.throws(() => parseSearchOrder('positives-'), /invalid order "positives-": files are ordered by last_submission_date, first_submission_date, size, times_submitted/);
  });
});
