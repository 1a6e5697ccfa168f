import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressSpans, splitHeader, joinHeader } from '../../src/smtp/header-fields.js';
import { fixupHeader, masqueradeAddress, qualifyAddress, type FixupRules } from '../../src/smtp/fixups.js';
import { FixupWriter } from '../../src/smtp/fixup-writer.js';
import type { SpoolWriter } from '../../src/queue/types.js';

const NOW = new Date(Date.UTC(2026, 10, 27, 19, 0, 0));
const RULES: FixupRules = {
  fix: true,
  hostname: 'mail.example.test',
  qualifyDomain: 'example.test',
  masquerade: { as: 'corp.test', domains: ['example.test', 'mail.example.test'], exposed: ['root'] },
  defaultFrom: { address: 'usr@example.test' },
};

const specs = (v: string) => addressSpans(v).map((s) => v.slice(s.start, s.end));

test('address spans: display names, quoted commas, comments, groups, routes', () => {
  assert.deepEqual(specs(' "Doe, Jane" <jane@x.test>, bob (Bob B.) , <@relay.test:carol@y.test>'), ['jane@x.test', 'bob', 'carol@y.test']);
  assert.deepEqual(specs(' team: a@x.test, b; , (c) d@y.test (e)'), ['a@x.test', 'b', 'd@y.test']);
  assert.deepEqual(specs(' =?UTF-8?B?w6k=?= <e@x.test>'), ['e@x.test']);
  assert.deepEqual(specs(' "a@b"@x.test'), ['"a@b"@x.test']);
  assert.deepEqual(specs(''), []);
});

test('header split/join keeps every octet of a header with folding and a stray line', () => {
  const h = 'Subject: one\r\n two\r\nX-8bit: caf\xe9\r\nnot a field\r\nTo: a@x.test\r\n';
  assert.equal(joinHeader(splitHeader(h)), h);
});

test('fix-ups: Date and Message-ID added, Bcc dropped, unqualified qualified, senders masqueraded except root, the rest untouched', () => {
  const h = 'From: "Usr, The" <usr>\r\nTo: friend@remote.test, colleague\r\nCc: (boss) boss@example.test\r\nBcc: secret@remote.test,\r\n\thidden@remote.test\r\nReply-To: root@mail.example.test\r\nSubject: =?UTF-8?Q?caf=C3=A9?=\r\n';
  const r = fixupHeader(h, RULES, NOW, () => 'ID1@mail.example.test');
  assert.equal(r.header,
    'From: "Usr, The" <usr@corp.test>\r\nTo: friend@remote.test, colleague@example.test\r\nCc: (boss) boss@example.test\r\n' +
    'Reply-To: root@mail.example.test\r\nSubject: =?UTF-8?Q?caf=C3=A9?=\r\nDate: Fri, 27 Nov 2026 19:00:00 +0000\r\nMessage-ID: <ID1@mail.example.test>\r\n');
  assert.deepEqual(r.senders, ['usr@example.test'], 'the sender check sees the address as the user meant it');
  assert.deepEqual(r.changes, ['rewrote From', 'rewrote To', 'removed Bcc', 'added Date', 'added Message-ID']);
});

test('fix-ups: existing Date and Message-ID kept; From added from the envelope when missing; read-only mode changes nothing', () => {
  const h = 'Date: Mon, 1 Jan 2024 00:00:00 +0000\r\nMessage-ID: <keep@x.test>\r\nTo: a@remote.test\r\n';
  const r = fixupHeader(h, { ...RULES, masquerade: null, defaultFrom: { address: 'usr@example.test', name: 'José Ü' } }, NOW, () => 'unused');
  assert.equal(r.header, h + 'From: =?UTF-8?B?Sm9zw6kgw5w=?= <usr@example.test>\r\n');
  const ro = fixupHeader('Bcc: x@y.test\r\nFrom: someone\r\n', { ...RULES, fix: false }, NOW, () => 'x');
  assert.equal(ro.header, 'Bcc: x@y.test\r\nFrom: someone\r\n');
  assert.deepEqual(ro.senders, ['someone']);
});

test('envelope helpers: qualify and masquerade one address', () => {
  assert.equal(qualifyAddress('usr', 'example.test'), 'usr@example.test');
  assert.equal(qualifyAddress('', 'example.test'), '');
  assert.equal(qualifyAddress('a@b.test', 'example.test'), 'a@b.test');
  assert.equal(masqueradeAddress('usr@Mail.Example.Test', RULES.masquerade), 'usr@corp.test');
  assert.equal(masqueradeAddress('root@example.test', RULES.masquerade), 'root@example.test');
  assert.equal(masqueradeAddress('usr@other.test', RULES.masquerade), 'usr@other.test');
});

/** A spool writer that only collects, to see what the fix-up writer passes on. */
function sink(): SpoolWriter & { out: Buffer[] } {
  const out: Buffer[] = [];
  return { id: 'Q1', size: 0, out, write: async (b: Buffer) => void out.push(Buffer.from(b)), commit: async () => undefined, abort: async () => undefined };
}

test('the fix-up writer gives the same result however the message is cut into chunks, and the body is passed through', async () => {
  const body = 'line one\r\n\r\nTo: not-a-header@x\r\nBcc: still body\r\n';
  const message = Buffer.from('Subject: hi\r\nBcc: b@x.test\r\nTo: u\r\n\r\n' + body);
  const expected = 'Subject: hi\r\nTo: u@example.test\r\nFrom: <usr@corp.test>\r\nDate: Fri, 27 Nov 2026 19:00:00 +0000\r\nMessage-ID: <M@h>\r\n\r\n' + body;
  for (let a = 0; a <= message.length; a++) {
    for (const b of [a, Math.min(message.length, a + 1), Math.min(message.length, a + 3), message.length]) {
      const s = sink();
      const w = new FixupWriter(s, RULES, 4096, () => 'M@h', () => NOW);
      for (const part of [message.subarray(0, a), message.subarray(a, b), message.subarray(b)]) if (part.length) await w.write(part);
      await w.finish();
      assert.equal(Buffer.concat(s.out).toString('latin1'), expected, `cut at ${a} and ${b}`);
    }
  }
});

test('the fix-up writer: no empty line means all header; an empty header block; a header over the limit is refused', async () => {
  let s = sink();
  let w = new FixupWriter(s, { ...RULES, defaultFrom: null }, 4096, () => 'M@h', () => NOW);
  await w.write(Buffer.from('Subject: only header\r\n'));
  await w.finish();
  assert.equal(Buffer.concat(s.out).toString(), 'Subject: only header\r\nDate: Fri, 27 Nov 2026 19:00:00 +0000\r\nMessage-ID: <M@h>\r\n');
  s = sink();
  w = new FixupWriter(s, { ...RULES, defaultFrom: null }, 4096, () => 'M@h', () => NOW);
  await w.write(Buffer.from('\r\nbody only\r\n'));
  await w.finish();
  assert.equal(Buffer.concat(s.out).toString(), 'Date: Fri, 27 Nov 2026 19:00:00 +0000\r\nMessage-ID: <M@h>\r\n\r\nbody only\r\n');
  s = sink();
  w = new FixupWriter(s, RULES, 1024, () => 'M@h', () => NOW);
  for (let i = 0; i < 100; i++) await w.write(Buffer.from(`X-Filler-${i}: ${'x'.repeat(20)}\r\n`));
  await w.write(Buffer.from('\r\nbody\r\n'));
  await w.finish();
  assert.deepEqual([w.refusal?.code, w.refusal?.enhanced], [552, '5.3.4']);
  assert.equal(s.out.length, 0, 'nothing of a refused message is written');
});
