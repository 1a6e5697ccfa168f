import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommand, parseLineCount, parseMessageNumber } from '../../src/pop3/commands.js';

const p = (s: string | Buffer) => parseCommand(Buffer.isBuffer(s) ? s : Buffer.from(s));

test('keywords are case-insensitive, three or four letters (RFC 1939 3)', () => {
  assert.deepEqual(p('stat'), { ok: true, verb: 'STAT', args: [], rest: '' });
  assert.deepEqual(p('Top 1 10'), { ok: true, verb: 'TOP', args: ['1', '10'], rest: '1 10' });
  assert.deepEqual(p('ST'), { ok: false, reason: 'bad-keyword' });
  assert.deepEqual(p('STATS'), { ok: false, reason: 'bad-keyword' });
  assert.deepEqual(p('ST4T'), { ok: false, reason: 'bad-keyword' });
  assert.deepEqual(p(' STAT'), { ok: false, reason: 'bad-keyword' });
});

test('PASS keeps the rest of the line, spaces included (RFC 1939 7)', () => {
  const c = p('PASS  my secret pass ');
  assert.ok(c.ok);
  assert.equal(c.rest, ' my secret pass ');
  assert.deepEqual(c.args, ['my', 'secret', 'pass']);
});

test('a trailing space or a run of spaces adds no empty arguments', () => {
  const c = p('LIST ');
  assert.ok(c.ok);
  assert.deepEqual(c.args, []);
  const d = p('TOP  1   0');
  assert.ok(d.ok);
  assert.deepEqual(d.args, ['1', '0']);
});

test('8-bit octets are allowed (UTF-8 passwords), control characters are not', () => {
  const c = p(Buffer.from('PASS pässwörd', 'utf8'));
  assert.ok(c.ok);
  assert.equal(c.rest, 'pässwörd');
  assert.deepEqual(p(Buffer.from([0x53, 0x54, 0x41, 0x54, 0x00])), { ok: false, reason: 'bad-characters' });
  assert.deepEqual(p('NO\rOP'), { ok: false, reason: 'bad-characters' });
  assert.deepEqual(p(Buffer.from([0xff, 0xfe, 0x80])), { ok: false, reason: 'bad-keyword' });
  assert.deepEqual(p(''), { ok: false, reason: 'empty' });
  assert.deepEqual(p('   '), { ok: false, reason: 'empty' });
});

test('message numbers: positive decimals only', () => {
  assert.equal(parseMessageNumber('1'), 1);
  assert.equal(parseMessageNumber('42'), 42);
  for (const bad of ['0', '-1', '+1', '01', '1e3', '1.0', '', 'a', '12345678901', ' 1']) {
    assert.equal(parseMessageNumber(bad), null, bad);
  }
});

test('TOP line counts: non-negative decimals', () => {
  assert.equal(parseLineCount('0'), 0);
  assert.equal(parseLineCount('10'), 10);
  for (const bad of ['-1', '00', '+0', 'x', '']) assert.equal(parseLineCount(bad), null, bad);
});
