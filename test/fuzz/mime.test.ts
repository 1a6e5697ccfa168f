import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { parseMessage, storedTree } from '../../src/mime/parse.js';
import { bodyStructure, envelope } from '../../src/mime/imap.js';
import { binary, findPart, section, sectionBytes } from '../../src/mime/section.js';
import { parseAddressList } from '../../src/mime/address.js';
import { parseContentType, parseDisposition } from '../../src/mime/params.js';
import { decodeEncodedWords, headerText, baseSubject, bodyText } from '../../src/mime/text.js';
import { parseMessageDate } from '../../src/mime/date.js';
import { decodeBase64, decodeQuotedPrintable, decodeTransfer, TransferDecodeError } from '../../src/mime/transfer.js';
import type { MimePart } from '../../src/mime/types.js';
import { check, byteSoup, soup, TEST_TIMEOUT } from './runner.js';

/** MIME as hostile mail writes it (RFC 2045, 2046, 2047, 2231, 5322), parsed at delivery and by FETCH. */

const HEADER_PIECES = [
  'Content-Type: multipart/mixed; boundary=b\r\n', 'Content-Type: multipart/digest; boundary="b2"\r\n',
  'Content-Type: message/rfc822\r\n', 'Content-Type: text/plain; charset=utf-8\r\n', 'Content-Type: multipart/alternative; boundary*0=b; boundary*1=3\r\n',
  'Content-Transfer-Encoding: base64\r\n', 'Content-Transfer-Encoding: quoted-printable\r\n', 'Content-Disposition: attachment; filename*=utf-8\'\'%C3%A9\r\n',
  'From: "A" <a@b.test>, (c) d@e.test\r\n', 'To: group: x@y.test;\r\n', 'Subject: =?utf-8?B?w6k=?= Re: [x]\r\n', 'Date: Mon, 1 Jan 2024 00:00:00 +0000\r\n',
  ' folded\r\n', '\r\n', '\n', '--b\r\n', '--b--\r\n', '--b2\r\n', '--b3\r\n', '--b2--\r\n', 'body\r\n', '=C3=A9=\r\n', 'aGVsbG8=\r\n', 'X: y\r\n',
];

function walk(p: MimePart, size: number, visit: (p: MimePart) => void): void {
  visit(p);
  assert.ok(0 <= p.hs && p.hs <= p.bs && p.bs <= p.be && p.be <= size, `offsets ${p.hs} ${p.bs} ${p.be} in ${size}`);
  for (const c of p.parts ?? []) walk(c, size, visit);
  if (p.message) walk(p.message, size, visit);
}

test('fuzz: any bytes are a MIME tree with offsets inside the message; IMAP views and sections never throw', { timeout: TEST_TIMEOUT }, () => {
  check([byteSoup(HEADER_PIECES, 30), fc.record({ maxDepth: fc.integer({ min: 1, max: 6 }), maxParts: fc.integer({ min: 1, max: 20 }) })], (buf, limits) => {
    const tree = parseMessage(buf, limits);
    let parts = 0;
    walk(tree.root, buf.length, () => parts++);
    // Bounded memory: parts can only come from delimiter lines (or the limits).
    assert.ok(parts <= 2 * (limits.maxParts + 1) + (limits.maxDepth + 1) * 2, `${parts} parts`);
    assert.deepEqual(storedTree(JSON.stringify(tree)), tree);
    const bs = bodyStructure(tree, true, true);
    const env = envelope(tree);
    assert.ok(bs.length < 200 + 40 * buf.length, 'BODYSTRUCTURE bounded by the input');
    assert.ok(env.length < 200 + 40 * buf.length, 'ENVELOPE bounded by the input');
    for (const spec of ['', 'HEADER', 'TEXT', '1', '1.MIME', '1.2', '2.HEADER.FIELDS (From)', '1.1.TEXT']) {
      const r = section(tree, spec);
      if (r) assert.ok(sectionBytes(buf, r).length <= buf.length);
    }
    for (const path of [[1], [1, 1], [2], [1, 2, 1]]) {
      if (findPart(tree, path)) {
        const b = binary(tree, buf, path);
        if (b && b.ok) assert.ok(b.data.length <= buf.length);
      }
    }
  });
});

const FIELD_PIECES = ['"', '\\', '(', ')', '<', '>', '@', ',', ';', ':', '.', ' ', '\t', '\r\n ', 'a', 'b.test', '=?', '?=', '=?utf-8?Q?a_b?=', '=?iso-8859-1?B?6Q==?=', '=?x?', '*0=', '*1*=', "utf-8''%e9", '%', '\xe9', '\x00', 'boundary=', 'charset='];

test('fuzz: header field values (addresses, Content-Type, encoded words, dates) parse without throwing, output bounded', { timeout: TEST_TIMEOUT }, () => {
  check([soup(FIELD_PIECES, 40)], (raw) => {
    const addrs = parseAddressList(raw);
    assert.ok(addrs.length <= raw.length + 1);
    const ct = parseContentType(raw);
    if (ct) assert.ok(ct.params.length <= raw.length);
    parseDisposition(raw);
    // Decoding may grow octets into UTF-16 code units, never without bound.
    assert.ok(decodeEncodedWords(raw).length <= 4 * raw.length + 4);
    assert.ok(headerText(raw).length <= 4 * raw.length + 4);
    assert.ok(baseSubject(raw).length <= 4 * raw.length + 4);
    parseMessageDate(raw);
    bodyText(Buffer.from(raw, 'latin1'), 'utf-8');
  });
});

test('fuzz: transfer decoding: base64 and quoted-printable round-trip; strict mode only throws TransferDecodeError', { timeout: TEST_TIMEOUT }, () => {
  check([fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 76 })], (bytes, width) => {
    const data = Buffer.from(bytes);
    const b64 = data.toString('base64').replace(new RegExp(`(.{${width}})`, 'g'), '$1\r\n');
    assert.deepEqual(decodeBase64(Buffer.from(b64), true), data);
    // RFC 2045 6.7: every octet as =XX, soft line breaks inside.
    const qp = [...data].map((b) => `=${b.toString(16).toUpperCase().padStart(2, '0')}`).join('').replace(/((?:=[0-9A-F]{2}){20})/g, '$1=\r\n');
    assert.deepEqual(decodeQuotedPrintable(Buffer.from(qp), true), data);
  });
  check([byteSoup(['=', '==', '=\r\n', '=A', '=4', '=41', '\r\n', 'QUJD', ' ', '\t', '-', '\x00'], 30), fc.constantFrom('base64', 'quoted-printable', 'BASE64', '7bit', 'x-uuencode')], (buf, enc) => {
    const lenient = decodeTransfer(buf, enc, false);
    if (lenient) assert.ok(lenient.length <= buf.length);
    try {
      decodeTransfer(buf, enc, true);
    } catch (e) {
      if (!(e instanceof TransferDecodeError)) throw e;
    }
  });
});
