import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineFramer, type Frame } from '../../src/smtp/lines.js';

function frames(input: string, max: number, cuts: number[]): string[] {
  const f = new LineFramer(max);
  const out: string[] = [];
  const buf = Buffer.from(input, 'latin1');
  let prev = 0;
  for (const c of [...cuts, buf.length]) {
    f.push(buf.subarray(prev, c));
    for (let fr: Frame | null = f.next(); fr; fr = f.next()) out.push(fr.kind === 'line' ? `line:${fr.line.toString('latin1')}` : fr.kind);
    prev = c;
  }
  return out;
}

const CASES: [string, string, number, string[]][] = [
  ['two commands', 'EHLO a\r\nNOOP\r\n', 512, ['line:EHLO a', 'line:NOOP']],
  ['empty line', '\r\n', 512, ['line:']],
  ['bare LF is not a line end we execute', 'NOOP\nQUIT\r\n', 512, ['bare-lf', 'line:QUIT']],
  ['bare CR stays inside the line', 'NO\rOP\r\n', 512, ['line:NO\rOP']],
  ['line of exactly max octets with CRLF', 'x'.repeat(14) + '\r\n', 16, ['line:' + 'x'.repeat(14)]],
  ['one over max', 'x'.repeat(15) + '\r\nNOOP\r\n', 16, ['too-long', 'line:NOOP']],
  ['partial line is kept', 'NOO', 512, []],
  // Fuzz counterexample (test/fuzz/smtp.test.ts): whole, this line gave one report; cut, five.
  ['overlong line counted the same however it is cut', 'x'.repeat(40) + '\r\nNOOP\r\n', 8, ['too-long', 'too-long-more', 'too-long-more', 'too-long-more', 'too-long-more', 'line:NOOP']],
];

test('line framer: cases, cut at every byte boundary', () => {
  for (const [name, input, max, expect] of CASES) {
    assert.deepEqual(frames(input, max, []), expect, name);
    for (let i = 0; i <= input.length; i++) assert.deepEqual(frames(input, max, [i]), expect, `${name} cut at ${i}`);
    for (let i = 0; i <= input.length; i++) {
      for (let j = i; j <= input.length; j++) assert.deepEqual(frames(input, max, [i, j]), expect, `${name} cut at ${i},${j}`);
    }
  }
});

test('line framer: an endless line is reported once, then every further max octets, without buffering', () => {
  const f = new LineFramer(100);
  const seen: string[] = [];
  for (let i = 0; i < 50; i++) {
    f.push(Buffer.alloc(30, 0x41));
    for (let fr = f.next(); fr; fr = f.next()) seen.push(fr.kind);
    assert.ok(f.buffered <= 100, 'never holds more than the limit');
  }
  assert.equal(seen[0], 'too-long');
  assert.ok(seen.slice(1).every((k) => k === 'too-long-more'));
  assert.equal(seen.length, 1 + Math.floor((1500 - 100) / 100));
  f.push(Buffer.from('tail\r\nNOOP\r\n'));
  const after: string[] = [];
  for (let fr = f.next(); fr; fr = f.next()) after.push(fr.kind === 'line' ? fr.line.toString() : fr.kind);
  assert.deepEqual(after, ['NOOP'], 'the rest of the overlong line is dropped, the next command is read');
});

test('line framer: takeRest hands back what follows the last frame', () => {
  const f = new LineFramer(512);
  f.push(Buffer.from('DATA\r\nSubject: x\r\n'));
  const fr = f.next();
  assert.ok(fr && fr.kind === 'line' && fr.line.toString() === 'DATA');
  assert.equal(f.takeRest().toString(), 'Subject: x\r\n');
  assert.equal(f.next(), null);
});
