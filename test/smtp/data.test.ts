import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataDecoder, decodeAll } from '../../src/smtp/data.js';

/**
 * A slow, obviously-correct reading of the rules in src/smtp/data.ts, octet by octet:
 * only CRLF "." CRLF ends; a period starting a real (CRLF-started) line is dropped unless a
 * bare CR/LF follows it; bare CR and bare LF become CRLF.
 */
function reference(input: Buffer): { message: Buffer; rest: Buffer } | null {
  const out: number[] = [];
  let lineStart = true;
  let i = 0;
  const n = input.length;
  while (i < n) {
    const b = input[i];
    if (lineStart && b === 0x2e) {
      if (i + 2 < n + 0 && input[i + 1] === 13 && input[i + 2] === 10) {
        return { message: Buffer.from(out), rest: input.subarray(i + 3) };
      }
      if (i + 1 >= n) return null;
      const next = input[i + 1];
      if (next === 13 && i + 2 >= n) return null; // undecided
      if (next === 13 || next === 10) out.push(0x2e); // "." before a bare line end is text
      i++;
      lineStart = false;
      continue;
    }
    if (b === 13) {
      if (i + 1 >= n) return null;
      out.push(13, 10);
      if (input[i + 1] === 10) {
        i += 2;
        lineStart = true;
      } else {
        i++;
        lineStart = false;
      }
      continue;
    }
    if (b === 10) {
      out.push(13, 10);
      i++;
      lineStart = false;
      continue;
    }
    out.push(b);
    i++;
    lineStart = false;
  }
  return null;
}

/** Feeds `input` cut at the given offsets; returns the decoded message and what followed. */
function decodeCut(input: Buffer, cuts: number[]): { message: Buffer; rest: Buffer } | null {
  const d = new DataDecoder();
  const out: Buffer[] = [];
  let prev = 0;
  for (const c of [...cuts, input.length]) {
    const r = d.push(input.subarray(prev, c));
    out.push(...r.out);
    if (r.done) {
      const rest = Buffer.concat([r.rest, input.subarray(c)]);
      assert.equal(d.size, Buffer.concat(out).length, 'size counts decoded octets');
      return { message: Buffer.concat(out), rest };
    }
    prev = c;
  }
  return null;
}

function same(a: { message: Buffer; rest: Buffer } | null, b: { message: Buffer; rest: Buffer } | null, what: string): void {
  if (a === null || b === null) {
    assert.equal(a, b, what);
    return;
  }
  assert.equal(a.message.toString('latin1'), b.message.toString('latin1'), what);
  assert.equal(a.rest.toString('latin1'), b.rest.toString('latin1'), what + ' (rest)');
}

const CASES: [string, string, string | null, string?][] = [
  // name, input, message (null: not finished), rest
  ['plain', 'Subject: x\r\n\r\nhello\r\n.\r\n', 'Subject: x\r\n\r\nhello\r\n', ''],
  ['empty message', '.\r\n', '', ''],
  ['dot stuffing', '..leading\r\n...\r\n.\r\n', '.leading\r\n..\r\n', ''],
  ['rest after end', 'a\r\n.\r\nQUIT\r\n', 'a\r\n', 'QUIT\r\n'],
  ['bare LF dot bare LF is text', 'a\n.\nMAIL FROM:<x@y>\r\n.\r\n', 'a\r\n.\r\nMAIL FROM:<x@y>\r\n', ''],
  ['CRLF dot bare LF is text', 'a\r\n.\nMAIL FROM:<x@y>\r\n.\r\n', 'a\r\n.\r\nMAIL FROM:<x@y>\r\n', ''],
  ['bare LF dot CRLF is text', 'a\n.\r\nMAIL FROM:<x@y>\r\n.\r\n', 'a\r\n.\r\nMAIL FROM:<x@y>\r\n', ''],
  ['bare CR dot bare CR is text', 'a\r.\rMAIL\r\n.\r\n', 'a\r\n.\r\nMAIL\r\n', ''],
  ['CRLF dot bare CR is text', 'a\r\n.\rb\r\n.\r\n', 'a\r\n.\r\nb\r\n', ''],
  ['bare LF alone normalised', 'x\ny\r\n.\r\n', 'x\r\ny\r\n', ''],
  ['bare CR alone normalised', 'x\ry\r\n.\r\n', 'x\r\ny\r\n', ''],
  ['CR CR LF', 'x\r\r\n.\r\n', 'x\r\n\r\n', ''],
  ['dot after bare LF kept', 'x\n..y\r\n.\r\n', 'x\r\n..y\r\n', ''],
  ['unfinished', 'a\r\n.\n', null],
  ['unfinished trailing CR', 'a\r\n.\r', null],
  ['binary 8-bit', 'caf\xe9 \x00\x01\xff\r\n.\r\n', 'caf\xe9 \x00\x01\xff\r\n', ''],
  ['long line kept', 'x'.repeat(5000) + '\r\n.\r\n', 'x'.repeat(5000) + '\r\n', ''],
];

test('DATA decoder: named cases, whole and cut at every byte boundary', { timeout: 60000 }, () => {
  for (const [name, input, message, rest] of CASES) {
    const buf = Buffer.from(input, 'latin1');
    const expect = message === null ? null : { message: Buffer.from(message, 'latin1'), rest: Buffer.from(rest ?? '', 'latin1') };
    same(reference(buf), expect, `${name}: reference`);
    same(decodeCut(buf, []), expect, `${name}: whole`);
    if (buf.length < 300) {
      for (let i = 0; i <= buf.length; i++) same(decodeCut(buf, [i]), expect, `${name}: cut at ${i}`);
      for (let i = 0; i <= buf.length; i++) for (let j = i; j <= buf.length; j++) same(decodeCut(buf, [i, j]), expect, `${name}: cut at ${i},${j}`);
    }
    // one octet at a time
    same(decodeCut(buf, [...Array(buf.length).keys()].slice(1)), expect, `${name}: octet by octet`);
  }
});

test('DATA decoder: fuzz against the reference, random inputs and random cuts', { timeout: 60000 }, () => {
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = [0x2e, 13, 10, 0x61, 0x2e, 13, 10];
  for (let round = 0; round < 20000; round++) {
    const len = 1 + rnd(24);
    const bytes = Buffer.alloc(len);
    for (let i = 0; i < len; i++) bytes[i] = alphabet[rnd(alphabet.length)];
    const input = Buffer.concat([bytes, Buffer.from('\r\n.\r\n')]);
    const expect = reference(input);
    assert.ok(expect, 'every input ends with CRLF.CRLF');
    const cuts: number[] = [];
    for (let i = 1; i < input.length; i++) if (rnd(3) === 0) cuts.push(i);
    same(decodeCut(input, cuts), expect, `fuzz ${JSON.stringify(input.toString('latin1'))} cuts ${cuts}`);
    // The stored message is always CRLF: no bare CR, no bare LF.
    const m = expect.message.toString('latin1');
    assert.ok(!/\r(?!\n)|(?<!\r)\n/.test(m), `stored message is CRLF only: ${JSON.stringify(m)}`);
  }
});

test('DATA decoder: a clean message is passed through without copying', () => {
  const body = Buffer.from('Subject: t\r\n\r\n' + 'line of text\r\n'.repeat(100) + '.\r\n');
  const d = new DataDecoder();
  const r = d.push(body);
  assert.equal(r.done, true);
  assert.equal(r.out.length, 1);
  assert.equal(r.out[0].buffer, body.buffer, 'output is a view of the input');
  assert.equal(decodeAll(body)!.message.length, body.length - 3);
});
