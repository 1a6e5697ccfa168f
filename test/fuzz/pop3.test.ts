import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { LineReader, type Frame } from '../../src/pop3/framing.js';
import { parseCommand, parseLineCount, parseMessageNumber } from '../../src/pop3/commands.js';
import { check, cuts, split, byteSoup, pull, TEST_TIMEOUT } from './runner.js';

/** POP3 command lines (RFC 1939 3, RFC 2449 4) as a hostile client sends them. */

function frames(reader: LineReader, chunks: Buffer[]): string[] {
  return pull(reader, chunks, (f: Frame) => (f.kind === 'line' ? `line:${f.line.toString('latin1')}` : f.kind));
}

test('fuzz: POP3 framing gives the same frames however the bytes are cut, lines under the limit', { timeout: TEST_TIMEOUT }, () => {
  check([byteSoup(['\r\n', '\n', '\r', 'USER a', 'PASS b c', 'x'.repeat(30), ' '], 40), cuts, fc.integer({ min: 4, max: 300 })], (input, at, max) => {
    const whole = frames(new LineReader(max), [input]);
    const reader = new LineReader(max);
    assert.deepEqual(frames(reader, split(input, at)), whole);
    assert.ok(reader.buffered < max, `holds ${reader.buffered} octets with a limit of ${max}`);
    for (const f of whole) if (f.startsWith('line:')) assert.ok(f.length - 5 < max);
  });
});

test('fuzz: POP3 command lines give a verb and arguments or a reason; numbers are 1.. or 0..', { timeout: TEST_TIMEOUT }, () => {
  check([byteSoup(['USER', 'PASS', 'RETR', 'TOP', 'AUTH', 'LIST', ' ', '1', '0', '-1', '+', '99999999999', '\x00', '\t', '\xff', 'é'], 20)], (line) => {
    const c = parseCommand(line);
    if (c.ok) {
      assert.match(c.verb, /^[A-Z]{3,4}$/);
      for (const a of c.args) {
        const n = parseMessageNumber(a);
        if (n !== null) assert.ok(Number.isSafeInteger(n) && n >= 1);
        const l = parseLineCount(a);
        if (l !== null) assert.ok(Number.isSafeInteger(l) && l >= 0);
      }
    } else assert.ok(['empty', 'bad-characters', 'bad-keyword'].includes(c.reason));
  });
});
