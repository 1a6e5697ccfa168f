import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DotStuffer, TopFilter } from '../../src/pop3/transfer.js';

function cuts(len: number): number[][] {
  const out: number[][] = [[]];
  for (let i = 1; i < len; i++) out.push([i]);
  for (let i = 1; i < len; i++) for (let j = i + 1; j < len; j++) out.push([i, j]);
  const each: number[] = [];
  for (let i = 1; i < len; i++) each.push(i);
  out.push(each);
  return out;
}

function pieces(input: Buffer, at: number[]): Buffer[] {
  const out: Buffer[] = [];
  let from = 0;
  for (const c of [...at, input.length]) {
    out.push(input.subarray(from, c));
    from = c;
  }
  return out;
}

function stuff(input: Buffer, at: number[]): string {
  const s = new DotStuffer();
  const out = pieces(input, at).map((p) => s.push(p));
  out.push(s.end());
  return Buffer.concat(out).toString('latin1');
}

function top(input: Buffer, n: number, at: number[]): string {
  const f = new TopFilter(n);
  const out: Buffer[] = [];
  for (const p of pieces(input, at)) {
    out.push(f.push(p));
    if (f.done) break;
  }
  return Buffer.concat(out).toString('latin1');
}

test('RFC 1939 3: lines starting with "." get another one, at every cut', { timeout: 60000 }, () => {
  const msg = Buffer.from('.Subject: x\r\n\r\n.\r\n..two\r\nmid.dle\r\n.\r\nend\r\n');
  const want = '..Subject: x\r\n\r\n..\r\n...two\r\nmid.dle\r\n..\r\nend\r\n.\r\n';
  for (const at of cuts(msg.length)) assert.equal(stuff(msg, at), want, `cuts ${at}`);
});

test('the terminator: CRLF added when the message does not end a line', () => {
  assert.equal(stuff(Buffer.from('a\r\nb'), []), 'a\r\nb\r\n.\r\n');
  assert.equal(stuff(Buffer.from('a\r\nb\r\n'), []), 'a\r\nb\r\n.\r\n');
  assert.equal(stuff(Buffer.alloc(0), []), '.\r\n');
  // A bare-LF line start is a line start for clients that split on LF.
  assert.equal(stuff(Buffer.from('a\n.b\n'), []), 'a\n..b\n.\r\n');
});

test('a message with no "." at a line start passes through unchanged (same buffer)', () => {
  const s = new DotStuffer();
  const chunk = Buffer.from('Subject: a\r\n\r\nbody . text\r\n');
  assert.equal(s.push(chunk), chunk);
});

test('RFC 1939 7 TOP: headers, the blank line, then n body lines, at every cut', { timeout: 60000 }, () => {
  const msg = Buffer.from('A: 1\r\nB: 2\r\n  folded\r\n\r\nl1\r\nl2\r\n\r\nl4\r\n');
  const want = [
    'A: 1\r\nB: 2\r\n  folded\r\n\r\n',
    'A: 1\r\nB: 2\r\n  folded\r\n\r\nl1\r\n',
    'A: 1\r\nB: 2\r\n  folded\r\n\r\nl1\r\nl2\r\n',
    'A: 1\r\nB: 2\r\n  folded\r\n\r\nl1\r\nl2\r\n\r\n',
    msg.toString('latin1'),
    msg.toString('latin1'),
  ];
  for (let n = 0; n < want.length; n++) {
    for (const at of cuts(msg.length)) assert.equal(top(msg, n, at), want[n], `TOP ${n}, cuts ${at}`);
  }
});

test('TOP: a message that is all header, or starts with the blank line', () => {
  assert.equal(top(Buffer.from('A: 1\r\nB: 2\r\n'), 0, []), 'A: 1\r\nB: 2\r\n');
  assert.equal(top(Buffer.from('\r\nbody\r\nmore\r\n'), 1, []), '\r\nbody\r\n');
  assert.equal(top(Buffer.from('\r\nbody\r\n'), 0, []), '\r\n');
});

test('TOP: done is set, so the caller stops reading a big file early', () => {
  const f = new TopFilter(1);
  const out = f.push(Buffer.from('A: 1\r\n\r\nline1\r\nline2\r\n'));
  assert.equal(out.toString(), 'A: 1\r\n\r\nline1\r\n');
  assert.equal(f.done, true);
  assert.equal(f.push(Buffer.from('more\r\n')).length, 0);
});
