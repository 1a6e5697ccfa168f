import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAddressList, type Address } from '../../src/mime/address.js';
import { envelope } from '../../src/mime/imap.js';
import { parseMessage } from '../../src/mime/parse.js';

/** Addresses as compact tuples [name, adl, mailbox, host] (+ '!' on a syntax error). */
function tuples(s: string): (string | null)[][] {
  return parseAddressList(s).map((a: Address) => {
    const t = [a.name, a.adl, a.mailbox, a.host];
    return a.syntaxError ? [...t, '!'] : t;
  });
}

test('name-addr and addr-spec, with comments as names', { timeout: 30000 }, () => {
  assert.deepEqual(tuples('Alice Example <alice@example.com>'), [['Alice Example', null, 'alice', 'example.com']]);
  assert.deepEqual(tuples('alice@example.com (Alice Example)'), [['Alice Example', null, 'alice', 'example.com']]);
  assert.deepEqual(tuples('bob(comment)@(another)example.org (Bob), <carol@example.net> (Carol)'), [
    ['Bob', null, 'bob', 'example.org'], [null, null, 'carol', 'example.net'],
  ]);
  assert.deepEqual(tuples('(leading) dave@example.com'), [[null, null, 'dave', 'example.com']]);
  assert.deepEqual(tuples('"" <e@x.example>'), [[null, null, 'e', 'x.example']]);
});

test('quoted strings: display names with specials, quoted local parts', { timeout: 30000 }, () => {
  assert.deepEqual(tuples('"Example, Alice \\"Al\\"" <alice@example.com>'), [['Example, Alice "Al"', null, 'alice', 'example.com']]);
  assert.deepEqual(tuples('"john doe"@example.com'), [[null, null, 'john doe', 'example.com']]);
  assert.deepEqual(tuples('"a,b;c"@x.example, d@y.example'), [[null, null, 'a,b;c', 'x.example'], [null, null, 'd', 'y.example']]);
});

test('groups become start and end markers (RFC 3501 7.4.2)', { timeout: 30000 }, () => {
  const list = parseAddressList('Friends: Bob <bob@example.org>, carol@example.net;, dave@example.com');
  assert.deepEqual(list.map((a) => a.group ?? a.mailbox), ['start', 'bob', 'carol', 'end', 'dave']);
  assert.equal(list[0].mailbox, 'Friends');
  assert.deepEqual(parseAddressList('undisclosed-recipients:;').map((a) => a.group), ['start', 'end']);
  // an unterminated group still ends
  assert.deepEqual(parseAddressList('G: a@b.example').map((a) => a.group ?? a.mailbox), ['start', 'a', 'end']);
});

test('obsolete syntax (RFC 5322 4.4): routes, CFWS around dots, null members', { timeout: 30000 }, () => {
  assert.deepEqual(tuples('Routed <@relay1.example,@relay2.example:alice@example.com>'), [
    ['Routed', '@relay1.example,@relay2.example', 'alice', 'example.com'],
  ]);
  assert.deepEqual(tuples('Alice E. Example <alice . example @ example . com>'), [['Alice E. Example', null, 'alice.example', 'example.com']]);
  assert.deepEqual(tuples(',, a@b.example ,,'), [[null, null, 'a', 'b.example']]);
});

test('broken addresses: missing parts and unterminated angle brackets', { timeout: 30000 }, () => {
  assert.deepEqual(tuples('localuser'), [[null, null, 'localuser', null]]);
  assert.deepEqual(tuples('Bob <bob>'), [['Bob', null, 'bob', null]]);
  assert.deepEqual(tuples('bob@'), [[null, null, 'bob', null]]);
  assert.deepEqual(tuples('@example.org'), [[null, null, null, 'example.org']]);
  assert.deepEqual(tuples('<>'), [[null, null, null, null]]);
  assert.deepEqual(tuples('<unterminated@example.org'), [[null, null, 'unterminated', 'example.org', '!']]);
  assert.deepEqual(tuples('Name addr@x.example'), [['Name', null, 'addr', 'x.example']]);
  assert.deepEqual(tuples(''), []);
  assert.deepEqual(tuples('   '), []);
});

test('raw 8-bit and encoded words are kept as written', { timeout: 30000 }, () => {
  const utf8 = Buffer.from('Jürgen <jü@bücher.example>', 'utf8').toString('latin1');
  const [a] = parseAddressList(utf8);
  assert.equal(Buffer.from(a.name!, 'latin1').toString('utf8'), 'Jürgen');
  assert.equal(Buffer.from(a.host!, 'latin1').toString('utf8'), 'bücher.example');
  assert.deepEqual(tuples('=?utf-8?Q?Jos=C3=A9?= <jose@example.es>'), [['=?utf-8?Q?Jos=C3=A9?=', null, 'jose', 'example.es']]);
});

test('domain literals', { timeout: 30000 }, () => {
  assert.deepEqual(tuples('Bob <bob@[IPv6:2001:db8::1]>'), [['Bob', null, 'bob', '[IPv6:2001:db8::1]']]);
});

test('ENVELOPE: Sender and Reply-To default to From; empty fields; missing parts filled in', { timeout: 30000 }, () => {
  const msg = Buffer.from('From: A <a@x.example>\r\nReply-To:\r\nTo: \r\nCc: nobody\r\nSubject: s\r\n\r\n', 'latin1');
  const env = envelope(parseMessage(msg)).toString('latin1');
  assert.equal(env, '(NIL "s" (("A" NIL "a" "x.example")) (("A" NIL "a" "x.example")) (("A" NIL "a" "x.example")) NIL ' +
    '((NIL NIL "nobody" "MISSING_DOMAIN")) NIL NIL NIL)');
});

test('pathological input stays linear', { timeout: 30000 }, () => {
  const s = '<'.repeat(50000) + '('.repeat(50000) + '"'.repeat(5001) + ','.repeat(50000) + 'a:'.repeat(20000);
  const t0 = performance.now();
  parseAddressList(s);
  assert.ok(performance.now() - t0 < 2000);
});
