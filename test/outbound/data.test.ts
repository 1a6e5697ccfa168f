import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DotStuffer, dotStuff, toCrlf } from '../../src/outbound/data.js';

/** The rule, byte by byte: every bare CR/LF becomes CRLF, a "." at a line start doubles. */
function reference(input: Buffer): Buffer {
  const s = input.toString('latin1').replace(/\r\n|\r|\n/g, '\r\n');
  if (!s) return Buffer.from('.\r\n');
  const lines = s.split('\r\n');
  const endsWithCrlf = s.endsWith('\r\n');
  if (endsWithCrlf) lines.pop();
  const body = lines.map((l) => (l.startsWith('.') ? '.' + l : l)).join('\r\n');
  return Buffer.from((lines.length ? body + '\r\n' : '') + '.\r\n', 'latin1');
}

function encodeInPieces(input: Buffer, cuts: number[]): Buffer {
  const s = new DotStuffer();
  const out: Buffer[] = [];
  let at = 0;
  for (const c of [...cuts, input.length]) {
    out.push(...s.push(input.subarray(at, c)));
    at = c;
  }
  out.push(...s.end());
  return Buffer.concat(out);
}

const CASES = [
  '',
  'a',
  'Subject: x\r\n\r\nbody\r\n',
  '.starts with a dot\r\n..two\r\n.\r\n',
  'no final newline',
  'bare\nlf\n.\nsmuggle\r\n',
  'bare\rcr\r.\rhere',
  '\r\n.\n\r\n.\r',
  'crlf at end of chunk\r',
  '.\r\n',
  '..',
  'x\r\n\r\n.\r\n.\r\n',
];

test('dot-stuffing and line ends are right whatever the chunk boundaries (cut at every byte, and at every pair)', () => {
  for (const text of CASES) {
    const input = Buffer.from(text, 'latin1');
    const want = reference(input);
    assert.deepEqual(dotStuff(input).toString('latin1'), want.toString('latin1'), JSON.stringify(text));
    for (let i = 0; i <= input.length; i++) {
      assert.equal(encodeInPieces(input, [i]).toString('latin1'), want.toString('latin1'), `${JSON.stringify(text)} cut at ${i}`);
      for (let j = i; j <= input.length; j++) {
        assert.equal(encodeInPieces(input, [i, j]).toString('latin1'), want.toString('latin1'), `${JSON.stringify(text)} cut at ${i},${j}`);
      }
    }
  }
});

test('smuggling: no bare-LF "." sequence reaches the wire as anything but an escaped CRLF line', () => {
  const out = dotStuff(Buffer.from('Subject: a\r\n\r\nhello\n.\nMAIL FROM:<evil@x>\r\n')).toString('latin1');
  assert.equal(out, 'Subject: a\r\n\r\nhello\r\n..\r\nMAIL FROM:<evil@x>\r\n.\r\n');
  // Exactly one end-of-data marker, at the very end.
  assert.equal(out.indexOf('\r\n.\r\n'), out.length - 5);
  assert.ok(!/[^\r]\n/.test(out) && !/\r[^\n]/.test(out), 'every line end is CRLF');
});

test('a clean message passes through without copying lines', () => {
  const input = Buffer.from('Subject: clean\r\n\r\n' + 'line of text\r\n'.repeat(1000));
  const parts = new DotStuffer().push(input);
  assert.equal(parts.length, 1);
  assert.equal(parts[0].buffer, input.buffer, 'a view of the input, not a copy');
});

test('toCrlf leaves CRLF text alone and fixes bare CR and LF', () => {
  const clean = Buffer.from('a\r\nb\r\n');
  assert.equal(toCrlf(clean), clean);
  assert.equal(toCrlf(Buffer.from('a\nb\rc\r\n')).toString(), 'a\r\nb\r\nc\r\n');
});
