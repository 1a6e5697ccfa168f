import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineReader, MAX_COMMAND_LINE, type Frame } from '../../src/pop3/framing.js';

/** Frames as short strings, for comparing transcripts. */
function show(f: Frame): string {
  return f.kind === 'line' ? `line:${f.line.toString('latin1')}` : f.kind;
}

function drain(r: LineReader): string[] {
  const out: string[] = [];
  for (let f = r.next(); f; f = r.next()) out.push(show(f));
  return out;
}

function frames(input: Buffer, cuts: number[], max = MAX_COMMAND_LINE): string[] {
  const r = new LineReader(max);
  const out: string[] = [];
  let from = 0;
  for (const c of [...cuts, input.length]) {
    r.push(input.subarray(from, c));
    out.push(...drain(r));
    from = c;
  }
  return out;
}

/** The frames must not depend on where the input was cut: try every single cut and every pair. */
function sameAtEveryCut(input: Buffer, expected: string[], max = MAX_COMMAND_LINE): void {
  assert.deepEqual(frames(input, [], max), expected, 'whole input');
  for (let i = 0; i <= input.length; i++) {
    assert.deepEqual(frames(input, [i], max), expected, `cut at ${i}`);
  }
  if (input.length <= 80) {
    for (let i = 0; i <= input.length; i++)
      for (let j = i; j <= input.length; j++) assert.deepEqual(frames(input, [i, j], max), expected, `cuts at ${i},${j}`);
  }
  const bytewise: number[] = [];
  for (let i = 1; i < input.length; i++) bytewise.push(i);
  assert.deepEqual(frames(input, bytewise, max), expected, 'one byte at a time');
}

test('CRLF lines come out without their terminator, at every cut', { timeout: 30000 }, () => {
  sameAtEveryCut(Buffer.from('USER a\r\nPASS b c\r\n\r\nQUIT\r\n'), ['line:USER a', 'line:PASS b c', 'line:', 'line:QUIT']);
});

test('a bare LF ends a line too; a lone CR inside stays in the line', { timeout: 30000 }, () => {
  sameAtEveryCut(Buffer.from('STAT\nNO\rOP\r\n'), ['line:STAT', 'line:NO\rOP']);
});

test('an incomplete line waits for its end', () => {
  const r = new LineReader();
  r.push(Buffer.from('STA'));
  assert.equal(r.next(), null);
  assert.equal(r.buffered, 3);
  r.push(Buffer.from('T\r\n'));
  assert.deepEqual(drain(r), ['line:STAT']);
  assert.equal(r.buffered, 0);
});

test('RFC 2449 4: 255 octets with CRLF pass, 256 do not', { timeout: 60000 }, () => {
  const ok = 'A'.repeat(MAX_COMMAND_LINE - 2);
  const long = 'B'.repeat(MAX_COMMAND_LINE - 1);
  sameAtEveryCut(Buffer.from(`${ok}\r\nNOOP\r\n`), [`line:${ok}`, 'line:NOOP']);
  sameAtEveryCut(Buffer.from(`${long}\r\nNOOP\r\n`), ['too-long', 'line:NOOP']);
  // With a bare LF the limit counts the same octets: 254 + LF passes, 255 + LF does not.
  sameAtEveryCut(Buffer.from(`${'C'.repeat(254)}\n`), [`line:${'C'.repeat(254)}`]);
  sameAtEveryCut(Buffer.from(`${'C'.repeat(255)}\n`), ['too-long']);
});

test('an overlong line is reported once, then once per further max octets, whatever the cuts', { timeout: 60000 }, () => {
  const max = 16;
  // 40 octets before LF: floor(40/16) = 2 frames.
  sameAtEveryCut(Buffer.from('x'.repeat(40) + '\r\nQUIT\r\n'), ['too-long', 'too-long-more', 'line:QUIT'], max);
  // A flood with no LF at all keeps being reported and is not buffered.
  const r = new LineReader(max);
  r.push(Buffer.alloc(16 * 5, 0x41));
  assert.deepEqual(drain(r), ['too-long', 'too-long-more', 'too-long-more', 'too-long-more', 'too-long-more']);
  assert.equal(r.buffered, 0, 'the discarded bytes are not kept');
  r.push(Buffer.from('\nNOOP\n'));
  assert.deepEqual(drain(r), ['line:NOOP']);
});

test('binary noise with NUL and high octets frames like anything else', { timeout: 60000 }, () => {
  const noise = Buffer.from([0, 1, 2, 0xff, 0xfe, 13, 10, 0x80, 0x00, 10]);
  sameAtEveryCut(noise, [`line:${Buffer.from([0, 1, 2, 0xff, 0xfe]).toString('latin1')}`, `line:${Buffer.from([0x80, 0]).toString('latin1')}`]);
});

test('discard() drops what was pipelined (RFC 2595 4, STLS)', () => {
  const r = new LineReader();
  r.push(Buffer.from('STLS\r\nSTAT\r\nRETR 1\r\n'));
  assert.deepEqual(show(r.next()!), 'line:STLS');
  r.discard();
  assert.equal(r.next(), null);
  r.push(Buffer.from('CAPA\r\n'));
  assert.deepEqual(drain(r), ['line:CAPA']);
});

test('raising max lets a long SASL response through', () => {
  const r = new LineReader();
  const resp = 'QUFB'.repeat(200);
  r.max = 8192;
  r.push(Buffer.from(resp + '\r\n'));
  assert.deepEqual(drain(r), [`line:${resp}`]);
});
