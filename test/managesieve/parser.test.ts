import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CommandReader, type Frame } from '../../src/managesieve/parser.js';

/** Every frame of `input` fed in pieces of `cut` octets (0: whole). */
function frames(input: Buffer, cut: number, maxLine = 1000, maxLiteral = 100): Frame[] {
  const r = new CommandReader(maxLine, maxLiteral);
  const out: Frame[] = [];
  const step = cut || input.length;
  for (let i = 0; i < input.length; i += step) {
    r.push(input.subarray(i, i + step));
    for (let f = r.next(); f; f = r.next()) out.push(f);
  }
  return out;
}

const show = (fs: Frame[]) => JSON.stringify(fs, (_, v) => (v && v.type === 'Buffer' ? Buffer.from(v.data).toString('latin1') : v));

const SESSION = Buffer.from([
  'CAPABILITY',
  'AUTHENTICATE "PLAIN" "AHVzcgBwdw=="',
  '"c2NyYW0="',
  'PUTSCRIPT "a \\"q\\" \\\\" {12+}\r\nkeep;\r\nstop;',
  'putscript "x" {3}\r\nabc',
  'HAVESPACE "x" 1234',
  'NOOP "unterminated',
  'BAD!verb',
  `PUTSCRIPT "big" {500+}\r\n${'#'.repeat(500)}`,
  `NOOP ${'x'.repeat(2000)}`,
  'LOGOUT',
  '',
].join('\r\n'), 'latin1');

test('RFC 5804 framing: the same frames however the input is cut', () => {
  const whole = show(frames(SESSION, 0));
  for (const cut of [1, 2, 3, 7, 64]) assert.equal(show(frames(SESSION, cut)), whole, `cut every ${cut} octets`);
  const f = frames(SESSION, 0);
  assert.deepEqual(f.map((x) => x.kind === 'command' ? x.verb : x.kind), [
    'CAPABILITY', 'AUTHENTICATE', 'response', 'PUTSCRIPT', 'PUTSCRIPT', 'HAVESPACE', 'syntax', 'syntax', 'too-big', 'too-long', 'LOGOUT',
  ]);
  const put = f[3] as Extract<Frame, { kind: 'command' }>;
  assert.equal(put.args[0].value.toString(), 'a "q" \\', 'quoted escapes');
  assert.equal(put.args[1].value.toString(), 'keep;\r\nstop;', 'a literal keeps its CRLF');
  assert.deepEqual(f[8], { kind: 'too-big', verb: 'PUTSCRIPT', size: 500 });
});

test('an oversized literal is skipped as it arrives, never buffered', () => {
  const r = new CommandReader(1000, 100);
  r.push(Buffer.from('PUTSCRIPT "big" {10000000+}\r\n'));
  assert.equal(r.next(), null);
  let most = 0;
  const chunk = Buffer.alloc(65536, 0x23);
  for (let sent = 0; sent < 10_000_000; sent += chunk.length) {
    r.push(chunk.subarray(0, Math.min(chunk.length, 10_000_000 - sent)));
    assert.equal(r.next(), null);
    most = Math.max(most, r.buffered);
  }
  assert.equal(most, 0, 'nothing of it kept');
  r.push(Buffer.from('\r\nNOOP\r\n'));
  assert.deepEqual(r.next(), { kind: 'too-big', verb: 'PUTSCRIPT', size: 10_000_000 });
  assert.equal((r.next() as Extract<Frame, { kind: 'command' }>).verb, 'NOOP');
});

test('a line without end is refused at its bound, not buffered without limit', () => {
  const r = new CommandReader(1000, 100);
  for (let i = 0; i < 100; i++) {
    r.push(Buffer.alloc(1000, 0x61));
    r.next();
    assert.ok(r.buffered <= 1000, `buffered ${r.buffered}`);
  }
  r.push(Buffer.from('\r\nNOOP\r\n'));
  assert.deepEqual(r.next(), { kind: 'too-long' });
  assert.equal((r.next() as Extract<Frame, { kind: 'command' }>).verb, 'NOOP');
});
