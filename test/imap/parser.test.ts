import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandParser, DEFAULT_LIMITS, type ParseEvent, type Token } from '../../src/imap/parser.js';
import { decodeMutf7, encodeMutf7 } from '../../src/imap/mutf7.js';
import { parseSequenceSet, formatSet } from '../../src/imap/sequence.js';

/** Events as plain data, strings decoded, for deep comparison. */
function plain(t: Token): unknown {
  if (t.kind === 'atom') return t.value;
  if (t.kind === 'string') return { s: t.value.toString('latin1'), lit: t.literal, bin: t.binary };
  return t.items.map(plain);
}
function simplify(e: ParseEvent): unknown {
  return e.kind === 'command' ? { tag: e.tag, tokens: e.tokens.map(plain) } : e;
}

function drain(p: CommandParser, out: unknown[]): void {
  for (let e = p.next(); e; e = p.next()) out.push(simplify(e));
}

/** Feeds `input` cut at `cuts`, collecting every event. */
function run(input: Buffer, cuts: number[], limits = DEFAULT_LIMITS): unknown[] {
  const p = new CommandParser(limits);
  const out: unknown[] = [];
  let prev = 0;
  for (const c of [...cuts, input.length]) {
    p.push(input.subarray(prev, c));
    prev = c;
    drain(p, out);
  }
  // "+" continuations depend on how the bytes arrived (none when the literal came along).
  return out.filter((e) => (e as { kind?: string }).kind !== 'continue');
}

/** The same events whether the input comes at once, cut in two anywhere, or byte by byte. */
function everyCut(input: string | Buffer, limits = DEFAULT_LIMITS): unknown[] {
  const b = typeof input === 'string' ? Buffer.from(input, 'latin1') : input;
  const whole = run(b, [], limits);
  for (let i = 1; i < b.length; i++) assert.deepEqual(run(b, [i], limits), whole, `cut at ${i}`);
  assert.deepEqual(run(b, [...Array(b.length).keys()].slice(1), limits), whole, 'byte by byte');
  return whole;
}

test('atoms, quoted strings, lists, bracketed sections', () => {
  const ev = everyCut('a1 FETCH 1:* (FLAGS BODY.PEEK[HEADER.FIELDS (From "To")]<0.100>)\r\na2 LOGIN "us\\"er" pass\r\n');
  assert.deepEqual(ev, [
    { tag: 'a1', tokens: ['FETCH', '1:*', ['FLAGS', 'BODY.PEEK[HEADER.FIELDS (From "To")]<0.100>']] },
    { tag: 'a2', tokens: ['LOGIN', { s: 'us"er', lit: false, bin: false }, 'pass'] },
  ]);
});

test('synchronising, non-synchronising and binary literals', () => {
  const ev = everyCut('t APPEND INBOX (\\Seen) {5}\r\nhello {3+}\r\nabc ~{2}\r\n\0x\r\nu NOOP\r\n');
  assert.deepEqual(ev, [
    {
      tag: 't',
      tokens: ['APPEND', 'INBOX', ['\\Seen'], { s: 'hello', lit: true, bin: false }, { s: 'abc', lit: true, bin: false }, { s: '\0x', lit: true, bin: true }],
    },
    { tag: 'u', tokens: ['NOOP'] },
  ]);
});

test('a literal is announced only when its data has not come with the header', () => {
  const p = new CommandParser();
  p.push(Buffer.from('t LOGIN {3}\r\n'));
  assert.deepEqual(p.next(), { kind: 'continue' });
  assert.equal(p.next(), null);
  p.push(Buffer.from('abc x\r\n'));
  const e = p.next();
  assert.equal(e?.kind, 'command');
});

test('syntax errors: BAD with the tag, the parser goes on', () => {
  const ev = everyCut('a1 LIST "unterminated\r\na2 NOOP\r\nbad)tag NOOP\r\na3 X (a\r\na4 X a)\r\n');
  assert.deepEqual(ev, [
    { kind: 'bad', tag: 'a1', text: 'unterminated quoted string' },
    { tag: 'a2', tokens: ['NOOP'] },
    { kind: 'bad', tag: null, text: 'invalid tag' },
    { kind: 'bad', tag: 'a3', text: 'unbalanced parentheses' },
    { kind: 'bad', tag: 'a4', text: 'unexpected ")"' },
  ]);
});

test('a bad line announcing a non-synchronising literal skips the literal too', () => {
  const ev = everyCut('a1 X "bad\\q" {4+}\r\nb2 X rest {2+}\r\nxy\r\na2 NOOP\r\n');
  assert.deepEqual(ev, [
    { kind: 'bad', tag: 'a1', text: 'invalid escape in quoted string' },
    { tag: 'a2', tokens: ['NOOP'] },
  ]);
});

test('limits: line length, literal size (sync: TOOBIG, non-sync: fatal), nesting, literal count', () => {
  const limits = { maxLineLength: 50, maxLiteralSize: 10, maxLiterals: 2, maxCommandSize: 1000, maxDepth: 3 };
  assert.deepEqual(everyCut(`a1 NOOP ${'x'.repeat(100)}\r\na2 NOOP\r\n`, limits), [
    { kind: 'bad', tag: 'a1', text: 'command line too long' },
    { tag: 'a2', tokens: ['NOOP'] },
  ]);
  assert.deepEqual(everyCut('a1 APPEND INBOX {11}\r\na2 NOOP\r\n', limits), [
    { kind: 'toobig', tag: 'a1', text: 'literal of 11 octets is over the limit of 10' },
    { tag: 'a2', tokens: ['NOOP'] },
  ]);
  assert.deepEqual(everyCut('a1 APPEND INBOX {11+}\r\n01234567890\r\na2 NOOP\r\n', limits), [
    { kind: 'fatal', text: 'literal of 11 octets is over the limit of 10' },
  ]);
  assert.deepEqual(everyCut('a1 X ((((a))))\r\n', limits), [{ kind: 'bad', tag: 'a1', text: 'lists nested too deeply' }]);
  assert.deepEqual(everyCut('a1 X {1+}\r\na {1+}\r\nb {1}\r\n', limits), [
    { kind: 'toobig', tag: 'a1', text: 'more than 2 literals in one command' },
  ]);
});

test('fuzz counterexamples: a line of exactly the limit, or one over it, is judged the same however it is cut', () => {
  // test/fuzz/imap.test.ts found both: whole, a line of limit+1 octets before a bare LF was
  // taken; cut after its CR, a line of exactly the limit was refused.
  const limits = { maxLineLength: 9, maxLiteralSize: 0, maxLiterals: 1, maxCommandSize: 16, maxDepth: 1 };
  assert.deepEqual(everyCut(')\x00\x00\x00\x00a1 )\r\n', limits), [{ kind: 'bad', tag: null, text: 'invalid tag' }]);
  assert.deepEqual(everyCut('a1 NOOP x\r\n', limits), [{ tag: 'a1', tokens: ['NOOP', 'x'] }], 'exactly the limit, then CRLF');
  assert.deepEqual(everyCut('{99999999999}\n[~{4}\x00\x00\r\n', { ...limits, maxLineLength: 12 })[0], { kind: 'bad', tag: null, text: 'command line too long' });
  assert.deepEqual(everyCut('a1 NOOP x\na2 NOOP\r\n', { ...limits, maxLineLength: 8 }), [
    { kind: 'bad', tag: 'a1', text: 'command line too long' },
    { tag: 'a2', tokens: ['NOOP'] },
  ]);
});

test('raw lines for AUTHENTICATE and IDLE', () => {
  const p = new CommandParser();
  p.push(Buffer.from('dGVz'));
  assert.equal(p.nextLine(), null);
  p.push(Buffer.from('dA==\r\nDONE\r\n'));
  assert.deepEqual(p.nextLine(), { line: 'dGVzdA==', tooLong: false });
  assert.deepEqual(p.nextLine(), { line: 'DONE', tooLong: false });
});

test('modified UTF-7 (RFC 3501 5.1.3)', () => {
  assert.equal(encodeMutf7('~peter/mail/台北/日本語'), '~peter/mail/&U,BTFw-/&ZeVnLIqe-');
  assert.equal(decodeMutf7('~peter/mail/&U,BTFw-/&ZeVnLIqe-'), '~peter/mail/台北/日本語');
  assert.equal(encodeMutf7('Entwürfe & Co'), 'Entw&APw-rfe &- Co');
  assert.equal(decodeMutf7('Entw&APw-rfe &- Co'), 'Entwürfe & Co');
  for (const bad of ['&Jjo!', '&U,BTFw', '&AGE-', 'a\x01b', 'caf\xe9', '&ZeVnLIqe']) assert.equal(decodeMutf7(bad), null, bad);
  assert.equal(decodeMutf7(encodeMutf7('😀 x')), '😀 x');
});

test('sequence sets', () => {
  assert.deepEqual(parseSequenceSet('1:3,5,*'), { kind: 'set', ranges: [{ from: 1, to: 3 }, { from: 5, to: 5 }, { from: Infinity, to: Infinity }] });
  assert.deepEqual(parseSequenceSet('$'), { kind: 'saved' });
  for (const bad of ['0', '1:0', 'a', '1,,2', '', '1:2:3']) assert.equal(parseSequenceSet(bad), null, bad);
  assert.equal(formatSet([5, 1, 2, 3, 9, 10]), '1:3,5,9:10');
});

test('limits before login: refused literals and over-long lines give the same events however the input is cut', () => {
  const pre = { ...DEFAULT_LIMITS, maxLineLength: 100, maxLiteralSize: 64, maxCommandSize: 200, maxLiterals: 3, maxNonSyncLiteralSize: 32 };
  // A refused synchronising literal whose bytes come anyway: skipped as a too-long line.
  const sync = everyCut(`a LOGIN {5000}\r\n${'x'.repeat(300)}\r\nb NOOP\r\n`, pre);
  assert.deepEqual(sync, [
    { kind: 'toobig', tag: 'a', text: 'literal of 5000 octets is over the limit of 64' },
    { kind: 'bad', tag: null, text: 'command line too long' },
    { tag: 'b', tokens: ['NOOP'] },
  ]);
  // A skipped line announcing a non-synchronising literal: its bytes are skipped too.
  assert.deepEqual(everyCut(`a ${'y'.repeat(150)} {5+}\r\nhello\r\nb NOOP\r\n`, pre), [
    { kind: 'bad', tag: 'a', text: 'command line too long' },
    { tag: 'b', tokens: ['NOOP'] },
  ]);
  // LITERAL-: over 32 octets non-synchronising is fatal, 32 is fine.
  assert.deepEqual(everyCut(`a LOGIN u {32+}\r\n${'p'.repeat(32)}\r\n`, pre), [{ tag: 'a', tokens: ['LOGIN', 'u', { s: 'p'.repeat(32), lit: true, bin: false }] }]);
  assert.deepEqual(everyCut(`a LOGIN u {33+}\r\n${'p'.repeat(33)}\r\nb NOOP\r\n`, pre), [
    { kind: 'fatal', text: 'non-synchronising literal of 33 octets is over the limit of 32 (RFC 7888 LITERAL-)' },
  ]);
  // Hanging up on an over-long line: nothing after it is read.
  assert.deepEqual(everyCut(`a ${'z'.repeat(150)}\r\nb NOOP\r\n`, { ...pre, hangUpOnLongLine: true }), [
    { kind: 'fatal', text: 'command line too long (more than 100 octets before login)' },
  ]);
});
