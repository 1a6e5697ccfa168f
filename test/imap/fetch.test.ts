import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { imapServer, loggedIn } from './client.js';
import type { TestServer } from '../helpers/server.js';

let srv: TestServer;
before(async () => {
  srv = await imapServer(['usr1@example.test']);
});
after(async () => {
  await srv?.stop();
});

const MULTI = [
  'From: "Alice Example" <alice@example.org>',
  'To: usr1@example.test, Bob <bob@example.net>',
  'Subject: =?utf-8?Q?caf=C3=A9?= report',
  'Date: Tue, 03 Mar 2026 08:00:00 +0100',
  'Message-ID: <multi@example.org>',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="b1"',
  '',
  '--b1',
  'Content-Type: text/plain; charset=utf-8',
  '',
  'See attached.',
  '--b1',
  'Content-Type: application/octet-stream; name="data.bin"',
  'Content-Transfer-Encoding: base64',
  'Content-Disposition: attachment; filename="data.bin"',
  '',
  Buffer.from([0, 1, 2, 255, 10, 13]).toString('base64'),
  '--b1--',
  '',
].join('\r\n');

test('ENVELOPE, BODY, BODYSTRUCTURE, BODY[part], BODY[part.MIME], BINARY and BINARY.SIZE', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    await c.cmd('CREATE F');
    await c.cmdLiteral('APPEND F', MULTI);
    await c.cmd('SELECT F');
    let r = await c.cmd('FETCH 1 (ENVELOPE)');
    assert.equal(r.untagged[0], '* 1 FETCH (ENVELOPE ("Tue, 03 Mar 2026 08:00:00 +0100" "=?utf-8?Q?caf=C3=A9?= report" (("Alice Example" NIL "alice" "example.org")) (("Alice Example" NIL "alice" "example.org")) (("Alice Example" NIL "alice" "example.org")) ((NIL NIL "usr1" "example.test")("Bob" NIL "bob" "example.net")) NIL NIL NIL "<multi@example.org>"))');
    r = await c.cmd('FETCH 1 (BODY)');
    assert.equal(r.untagged[0], '* 1 FETCH (BODY (("text" "plain" ("charset" "utf-8") NIL NIL "7bit" 13 0)("application" "octet-stream" ("name" "data.bin") NIL NIL "base64" 8) "mixed"))');
    r = await c.cmd('FETCH 1 (BODYSTRUCTURE)');
    assert.match(r.untagged[0], /^\* 1 FETCH \(BODYSTRUCTURE \(\("text" "plain" \("charset" "utf-8"\) NIL NIL "7bit" 13 0 NIL NIL NIL NIL\)\("application" "octet-stream" \("name" "data\.bin"\) NIL NIL "base64" 8 NIL \("attachment" \("filename" "data\.bin"\)\) NIL NIL\) "mixed" \("boundary" "b1"\) NIL NIL NIL\)\)$/);
    r = await c.cmd('FETCH 1 (BODY.PEEK[1] BODY.PEEK[2.MIME])');
    assert.equal(r.untagged[0], '* 1 FETCH (BODY[1] {13}\r\nSee attached. BODY[2.MIME] {148}\r\nContent-Type: application/octet-stream; name="data.bin"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename="data.bin"\r\n\r\n)');
    r = await c.cmd('FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2])');
    assert.equal(r.untagged[0], '* 1 FETCH (BINARY[2] ~{6}\r\n\x00\x01\x02\xff\n\r BINARY.SIZE[2] 6)');
    r = await c.cmd('FETCH 1 (BODY.PEEK[3])');
    assert.equal(r.untagged[0], '* 1 FETCH (BODY[3] NIL)');
    r = await c.cmd('FETCH 1 (BODY.PEEK[HEADER.FIELDS.NOT (To From Date Message-ID MIME-Version Content-Type)])');
    assert.equal(r.untagged[0], '* 1 FETCH (BODY[HEADER.FIELDS.NOT (TO FROM DATE MESSAGE-ID MIME-VERSION CONTENT-TYPE)] {41}\r\nSubject: =?utf-8?Q?caf=C3=A9?= report\r\n\r\n)');
    r = await c.cmd('FETCH 1 (BODY.PEEK[1.2.3.HEADER)');
    assert.match(r.tagged, /BAD/);
  } finally {
    c.close();
  }
});

test('a large message streams from its file: BODY[], BODY[TEXT]<partial>, BODY[1]', { timeout: 60000 }, async () => {
  const c = await loggedIn(srv);
  try {
    const line = 'x'.repeat(76) + '\r\n';
    const body = line.repeat(40000); // ~3 MB
    const m = `From: a@example.org\r\nSubject: big\r\n\r\n${body}`;
    assert.match((await c.cmdLiteral('APPEND INBOX', m)).tagged, /OK/);
    await c.cmd('SELECT INBOX');
    let r = await c.cmd('UID FETCH 1 (RFC822.SIZE BODY.PEEK[])', 30000);
    const lit = /BODY\[\] \{(\d+)\}\r\n/.exec(r.untagged[0])!;
    assert.equal(Number(lit[1]), Buffer.byteLength(m));
    const got = r.untagged[0].slice(lit.index + lit[0].length, lit.index + lit[0].length + Number(lit[1]));
    assert.equal(createHash('sha256').update(got, 'latin1').digest('hex'), createHash('sha256').update(m).digest('hex'));
    r = await c.cmd('UID FETCH 1 (BODY.PEEK[TEXT]<78.10> BODY.PEEK[1]<0.5> BODY.PEEK[HEADER])');
    assert.equal(r.untagged[0], '* 1 FETCH (UID 1 BODY[TEXT]<78> {10}\r\nxxxxxxxxxx BODY[1]<0> {5}\r\nxxxxx BODY[HEADER] {37}\r\nFrom: a@example.org\r\nSubject: big\r\n\r\n)');
  } finally {
    c.close();
  }
});
