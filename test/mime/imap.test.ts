import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeCharset } from '../../src/mime/charset.js';
import { toCrlf } from '../../src/mime/crlf.js';
import {
  binary, bodyStructure, envelope, parseSectionSpec, partialRange, section, sectionBytes, SectionSyntaxError,
} from '../../src/mime/imap.js';
import { imapHumanString, imapString, literal } from '../../src/mime/imap-string.js';
import { parseContentType, parseDisposition, parseLanguage } from '../../src/mime/params.js';
import { parseMessage } from '../../src/mime/parse.js';
import { decodeBase64, decodeQuotedPrintable, TransferDecodeError } from '../../src/mime/transfer.js';

const crlf = (s: string): Buffer => Buffer.from(s.replace(/\r?\n/g, '\r\n'), 'latin1');
const str = (b: Buffer): string => b.toString('latin1');

test('IMAP strings: quoted when possible, literal for CR/LF/8-bit/NUL or many escapes', { timeout: 30000 }, () => {
  assert.equal(imapString('plain'), '"plain"');
  assert.equal(imapString('a "b" c'), '"a \\"b\\" c"');
  assert.equal(imapString('""""\\'), '{5}\r\n""""\\');
  assert.equal(imapString('caf\xe9'), '{4}\r\ncaf\xe9');
  assert.equal(imapString('a\r\nb'), '{4}\r\na\r\nb');
  assert.equal(literal('a\0b'), '{3}\r\na\x80b', 'NUL cannot travel in a literal (RFC 3501 4.3)');
  assert.equal(imapHumanString('Hello World'), '"Hello World"');
  assert.equal(imapHumanString('folded\r\n  subject\t '), '{14}\r\nfolded subject');
  assert.equal(imapHumanString(''), '""');
  assert.equal(imapHumanString('   '), '""');
});

test('section specs (RFC 3501 6.4.5)', { timeout: 30000 }, () => {
  assert.deepEqual(parseSectionSpec(''), { part: [] });
  assert.deepEqual(parseSectionSpec('1.2.3'), { part: [1, 2, 3] });
  assert.deepEqual(parseSectionSpec('TEXT'), { part: [], text: 'TEXT' });
  assert.deepEqual(parseSectionSpec('2.mime'), { part: [2], text: 'MIME' });
  assert.deepEqual(parseSectionSpec('1.HEADER.FIELDS.NOT (From "X-Odd Name")'), {
    part: [1], text: 'HEADER.FIELDS.NOT', fields: ['From', 'X-Odd Name'],
  });
  for (const bad of ['MIME', '0', '1.', '1..2', 'HEADER.FIELDS', 'HEADER.FIELDS ()', 'BODY', '1.TEXT.x', 'HEADER.FIELDS (a']) {
    assert.throws(() => parseSectionSpec(bad), SectionSyntaxError, bad);
  }
  assert.deepEqual(partialRange(10, 20, 5, 100), [15, 20]);
  assert.deepEqual(partialRange(10, 20, 50), [20, 20]);
});

test('sections of a nested message', { timeout: 30000 }, () => {
  const buf = crlf([
    'Subject: outer', 'Content-Type: multipart/mixed; boundary=o', '',
    '--o', 'Content-Type: text/plain', '', 'first', '--o', 'Content-Type: message/rfc822', 'Content-Description: fwd', '',
    'Subject: inner', 'From: In <in@x.example>', 'Content-Type: multipart/alternative; boundary=i', '',
    '--i', '', 'plain', '--i', 'Content-Type: text/html', '', '<b>html</b>', '--i--', '--o--', '',
  ].join('\n'));
  const tree = parseMessage(buf);
  const get = (spec: string): string | null => {
    const r = section(tree, spec);
    return r === null ? null : str(sectionBytes(buf, r));
  };
  assert.equal(get('1'), 'first');
  assert.equal(get('1.MIME'), 'Content-Type: text/plain\r\n\r\n');
  assert.equal(get('2.MIME'), 'Content-Type: message/rfc822\r\nContent-Description: fwd\r\n\r\n');
  assert.match(get('2.HEADER')!, /^Subject: inner\r\n.*\r\n\r\n$/s);
  assert.equal(get('2.HEADER.FIELDS (FROM)'), 'From: In <in@x.example>\r\n\r\n');
  assert.equal(get('2.HEADER.FIELDS.NOT (from content-type)'), 'Subject: inner\r\n\r\n');
  assert.equal(get('2.1'), 'plain');
  assert.equal(get('2.2'), '<b>html</b>');
  assert.equal(get('2.2.MIME'), 'Content-Type: text/html\r\n\r\n');
  assert.match(get('2.TEXT')!, /^--i\r\n.*--i--$/s);
  assert.equal(get('HEADER.FIELDS (Subject)'), 'Subject: outer\r\n\r\n');
  assert.equal(get('3'), null, 'no such part');
  assert.equal(get('1.HEADER'), null, 'HEADER of a part that is not a message');
  assert.equal(get(''), str(buf));
  assert.match(str(envelope(tree)), /^\(NIL "outer" NIL/);
  assert.match(str(bodyStructure(tree, false)), /\("message" "rfc822" NIL NIL "fwd" "7bit" \d+ \(NIL "inner" \(\("In" NIL "in" "x.example"\)\)/);
});

test('HEADER.FIELDS keeps continuation lines and ignores lines without a colon', { timeout: 30000 }, () => {
  const buf = crlf('From nobody Mon Jan 1\nSubject: a\n  b\nX: y\nsubject : again\n\nbody');
  const tree = parseMessage(buf);
  assert.equal(str(sectionBytes(buf, section(tree, 'HEADER.FIELDS (SUBJECT)')!)), 'Subject: a\r\n  b\r\nsubject : again\r\n\r\n');
});

test('BINARY: decodes base64 and quoted-printable; unknown CTE; invalid content', { timeout: 30000 }, () => {
  const buf = crlf([
    'Content-Type: multipart/mixed; boundary=b', '',
    '--b', 'Content-Transfer-Encoding: base64', '', 'aGVs', 'bG8A', '--b', 'Content-Transfer-Encoding: Quoted-Printable', '',
    'caf=C3=A9 =', 'soft', '--b', 'Content-Transfer-Encoding: x-uuencode', '', 'begin', '--b',
    'Content-Transfer-Encoding: base64', '', 'bad!!', '--b', '', 'plain', '--b--', '',
  ].join('\n'));
  const tree = parseMessage(buf);
  const r1 = binary(tree, buf, [1]);
  assert.deepEqual(r1, { ok: true, data: Buffer.from('hello\0'), binary: true });
  const r2 = binary(tree, buf, [2]);
  assert.ok(r2 !== null && r2.ok);
  assert.equal(r2.data.toString('utf8'), 'café soft');
  assert.deepEqual(binary(tree, buf, [3]), { ok: false, code: 'UNKNOWN-CTE', message: 'unknown Content-Transfer-Encoding "x-uuencode"' });
  assert.equal(binary(tree, buf, [4])?.ok, false);
  assert.equal((binary(tree, buf, [4]) as { code: string }).code, 'PARSE');
  assert.deepEqual(binary(tree, buf, [5]), { ok: true, data: Buffer.from('plain'), binary: false });
  assert.equal(binary(tree, buf, [9]), null);
});

test('transfer decoders: strict and lenient', { timeout: 30000 }, () => {
  assert.equal(decodeBase64(Buffer.from('SGVsbG8=\r\n'), true).toString(), 'Hello');
  assert.equal(decodeBase64(Buffer.from('SGVsbG8'), true).toString(), 'Hello', 'missing padding is tolerated');
  assert.throws(() => decodeBase64(Buffer.from('SGV*sbG8='), true), TransferDecodeError);
  assert.throws(() => decodeBase64(Buffer.from('SGVsbG8===='), true), TransferDecodeError);
  assert.equal(decodeBase64(Buffer.from('SGV*sbG8='), false).toString(), 'Hello', 'RFC 2045 6.8: ignore others');
  assert.equal(decodeQuotedPrintable(Buffer.from('a=3Db=\r\nc  \r\nd=e9'), true).toString('latin1'), 'a=bc\r\nd\xe9');
  assert.throws(() => decodeQuotedPrintable(Buffer.from('=ZZ'), true), TransferDecodeError);
  assert.equal(decodeQuotedPrintable(Buffer.from('=ZZ'), false).toString(), '=ZZ');
});

test('Content-Type, Content-Disposition, Content-Language', { timeout: 30000 }, () => {
  assert.deepEqual(parseContentType('Text / Plain (c) ; charset = "us-ascii" ; format=flowed'), {
    type: 'text', subtype: 'plain', params: [['charset', 'us-ascii'], ['format', 'flowed']],
  });
  assert.equal(parseContentType('text; charset=us-ascii'), null);
  assert.equal(parseContentType('garbage here / x'), null);
  assert.deepEqual(parseContentType('multipart/mixed; boundary=----=_Part_1_2.3')!.params, [['boundary', '----=_Part_1_2.3']]);
  // RFC 2231: continuations, out of order, charsets
  assert.deepEqual(parseContentType('a/b; name*2=c; name*0=a; name*1=b')!.params, [['name', 'abc']]);
  assert.deepEqual(parseContentType("a/b; title*0*=us-ascii'en'This%20is%20; title*1*=%2A%2Afun; title*2=\" end\"")!.params,
    [['title*', 'This is **fun end']]);
  assert.deepEqual(parseContentType("a/b; n*=x-unknown''%41")!.params, [['n*', "x-unknown''%41"]]);
  assert.deepEqual(parseDisposition('; filename=; =novalue'), { type: '', params: [['filename', ''], ['', 'novalue']] });
  assert.deepEqual(parseDisposition('INLINE; FILENAME=UPPER.TXT'), { type: 'INLINE', params: [['FILENAME', 'UPPER.TXT']] });
  assert.deepEqual(parseLanguage('en-US, fr-CA (Canadian French), x-klingon'), ['en-US', 'fr-CA', 'x-klingon']);
});

test('charsets: windows-1252 is not ISO-8859-1 (Node 20 decoder bug worked around)', { timeout: 30000 }, () => {
  assert.equal(decodeCharset(Uint8Array.from([0x93, 0x80, 0x94]), 'windows-1252'), '“€”');
  assert.equal(decodeCharset(Uint8Array.from([0xe9]), 'iso-8859-1'), 'é');
  assert.equal(decodeCharset(Uint8Array.from([0xf0, 0xd2]), 'koi8-r'), 'Пр');
  assert.equal(decodeCharset(Uint8Array.from([0x41]), 'x-no-such'), null);
});

test('bare LF is stored as CRLF; CRLF input is returned as is', { timeout: 30000 }, () => {
  assert.equal(str(toCrlf(Buffer.from('a\nb\r\nc\n'))), 'a\r\nb\r\nc\r\n');
  const same = Buffer.from('a\r\nb\r\n');
  assert.equal(toCrlf(same), same);
  assert.equal(str(toCrlf(Buffer.from('\n\n'))), '\r\n\r\n');
});

test('message/global: encapsulated, shown as a basic part to IMAP4rev1 and as a message to IMAP4rev2', { timeout: 30000 }, () => {
  const buf = crlf('Content-Type: message/global\n\nSubject: gl\n\nbody\n');
  const tree = parseMessage(buf);
  assert.equal(str(bodyStructure(tree, false)), '("message" "global" NIL NIL NIL "7bit" 21)');
  assert.equal(str(bodyStructure(tree, false, true)),
    '("message" "global" NIL NIL NIL "7bit" 21 (NIL "gl" NIL NIL NIL NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1) 3)');
  assert.equal(str(sectionBytes(buf, section(tree, '1.HEADER')!)), 'Subject: gl\r\n\r\n');
});
