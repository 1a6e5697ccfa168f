import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createDeflateRaw, createInflateRaw, constants as zc } from 'node:zlib';
import { Imap, imapServer, loggedIn } from './client.js';
import type { TestServer } from '../helpers/server.js';

let srv: TestServer;
let c: Imap;

const mail = (subject: string, from: string, date: string, body: string, extra = '') =>
  `From: ${from}\r\nTo: usr1@example.test\r\nSubject: ${subject}\r\nDate: ${date}\r\n${extra}\r\n${body}\r\n`;

before(async () => {
  srv = await imapServer(['usr1@example.test']);
  c = await loggedIn(srv);
  await c.cmd('CREATE S');
  const msgs: [string, string][] = [
    ['(\\Seen)', mail('Lunch plans', 'Alice <alice@example.org>', 'Mon, 2 Mar 2026 10:00:00 +0000', 'Pizza at noon?', 'Message-ID: <1@x>\r\n')],
    ['(\\Flagged)', mail('Re: Lunch plans', 'Bob <bob@example.net>', 'Mon, 2 Mar 2026 11:00:00 +0000', 'Sure, zebra crossing.', 'Message-ID: <2@x>\r\nIn-Reply-To: <1@x>\r\nReferences: <1@x>\r\n')],
    ['()', mail('=?utf-8?Q?Gr=C3=BC=C3=9Fe?=', 'Carol <carol@example.com>', 'Sun, 1 Mar 2026 09:00:00 +0000', 'Content in quoted-printable: caf=C3=A9', 'Message-ID: <3@x>\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\nX-Tag: special\r\n')],
    ['(\\Deleted $Work)', mail('Re: Re: Lunch plans', 'alice@example.org', 'Tue, 3 Mar 2026 09:00:00 +0000', 'Late reply.', 'Message-ID: <4@x>\r\nReferences: <1@x> <2@x>\r\n')],
  ];
  for (const [flags, m] of msgs) assert.match((await c.cmdLiteral(`APPEND S ${flags}`, m)).tagged, /OK/);
  await c.cmd('SELECT S');
});
after(async () => {
  c?.close();
  await srv?.stop();
});

test('SEARCH keys: flags, headers, body with transfer decoding, dates, sizes, sets, OR/NOT, charset', { timeout: 30000 }, async () => {
  const s = async (q: string) => (await c.cmd(q)).untagged.find((l) => l.startsWith('* SEARCH'));
  assert.equal(await s('SEARCH ALL'), '* SEARCH 1 2 3 4');
  assert.equal(await s('SEARCH SEEN'), '* SEARCH 1');
  assert.equal(await s('SEARCH UNSEEN UNDELETED'), '* SEARCH 2 3');
  assert.equal(await s('SEARCH KEYWORD $Work'), '* SEARCH 4');
  assert.equal(await s('SEARCH FROM alice'), '* SEARCH 1 4');
  assert.equal(await s('SEARCH SUBJECT "lunch plans"'), '* SEARCH 1 2 4');
  const lit = await c.cmdLiteral('SEARCH CHARSET UTF-8 SUBJECT', Buffer.from('grüße'));
  assert.equal(lit.untagged[0], '* SEARCH 3', 'subject');
  const cafe = await c.cmdLiteral('SEARCH CHARSET UTF-8 BODY', Buffer.from('café'));
  assert.equal(cafe.untagged[0], '* SEARCH 3', 'body');
  assert.equal(await s('SEARCH TEXT zebra'), '* SEARCH 2');
  assert.equal(await s('SEARCH HEADER X-Tag special'), '* SEARCH 3');
  assert.equal(await s('SEARCH HEADER X-Tag ""'), '* SEARCH 3');
  assert.equal(await s('SEARCH SENTON 2-Mar-2026'), '* SEARCH 1 2');
  assert.equal(await s('SEARCH SENTBEFORE 2-Mar-2026'), '* SEARCH 3');
  assert.equal(await s('SEARCH SINCE 1-Jan-2020'), '* SEARCH 1 2 3 4');
  assert.equal(await s('SEARCH LARGER 150 SMALLER 100000'), '* SEARCH 1 2 3 4');
  assert.equal(await s('SEARCH 2:3'), '* SEARCH 2 3');
  assert.equal(await s('SEARCH UID 1,4'), '* SEARCH 1 4');
  assert.equal(await s('SEARCH OR SEEN FLAGGED'), '* SEARCH 1 2');
  assert.equal(await s('SEARCH NOT (OR SEEN FLAGGED)'), '* SEARCH 3 4');
  assert.equal(await s('SEARCH NEW'), '* SEARCH');
  assert.match((await c.cmd('SEARCH CHARSET KOI8-U ALL')).tagged, /NO \[BADCHARSET\]/);
  assert.match((await c.cmd('SEARCH FROBNICATE')).tagged, /BAD/);
  assert.match((await c.cmd('SEARCH SINCE 31-Foo-2020')).tagged, /BAD/);
});

test('ESEARCH return options, SAVE and "$" (RFC 4731, RFC 5182)', { timeout: 30000 }, async () => {
  let r = await c.cmd('UID SEARCH RETURN (MIN MAX COUNT ALL) FROM alice');
  assert.equal(r.untagged[0], `* ESEARCH (TAG "${r.tag}") UID MIN 1 MAX 4 ALL 1,4 COUNT 2`);
  r = await c.cmd('SEARCH RETURN () UNDELETED');
  assert.equal(r.untagged[0], `* ESEARCH (TAG "${r.tag}") ALL 1:3`);
  r = await c.cmd('SEARCH RETURN (SAVE) SUBJECT lunch');
  assert.deepEqual(r.untagged, []);
  r = await c.cmd('FETCH $ (UID)');
  assert.deepEqual(r.untagged, ['* 1 FETCH (UID 1)', '* 2 FETCH (UID 2)', '* 4 FETCH (UID 4)']);
  r = await c.cmd('SEARCH RETURN (COUNT) $ UNSEEN');
  assert.equal(r.untagged[0], `* ESEARCH (TAG "${r.tag}") COUNT 2`);
});

test('SORT (RFC 5256) and THREAD REFERENCES / ORDEREDSUBJECT', { timeout: 30000 }, async () => {
  let r = await c.cmd('SORT (DATE) UTF-8 ALL');
  assert.equal(r.untagged[0], '* SORT 3 1 2 4');
  r = await c.cmd('SORT (REVERSE ARRIVAL) UTF-8 ALL');
  assert.equal(r.untagged[0], '* SORT 4 3 2 1');
  r = await c.cmd('SORT (SUBJECT DATE) UTF-8 ALL');
  assert.equal(r.untagged[0], '* SORT 3 1 2 4');
  r = await c.cmd('UID SORT (FROM) UTF-8 UNDELETED');
  assert.equal(r.untagged[0], '* SORT 1 2 3');
  r = await c.cmd('THREAD REFERENCES UTF-8 ALL');
  assert.equal(r.untagged[0], '* THREAD (3)(1 2 4)');
  r = await c.cmd('THREAD ORDEREDSUBJECT UTF-8 ALL');
  assert.equal(r.untagged[0], '* THREAD (3)(1 (2)(4))');
  r = await c.cmd('THREAD REFS UTF-8 ALL');
  assert.match(r.tagged, /BAD/);
});

test('COMPRESS=DEFLATE: both directions deflated after the tagged OK', { timeout: 30000 }, async () => {
  const d = await loggedIn(srv);
  d.write('z1 COMPRESS DEFLATE\r\n');
  assert.match(await d.line(), /^z1 OK/);
  const deflate = createDeflateRaw();
  const inflate = createInflateRaw();
  const raw = d.sock;
  raw.removeAllListeners('data');
  deflate.on('data', (b: Buffer) => raw.write(b));
  raw.on('data', (b: Buffer) => inflate.write(b));
  let text = '';
  inflate.on('data', (b: Buffer) => (text += b.toString('latin1')));
  deflate.write('z2 SELECT S\r\nz3 FETCH 1 (UID FLAGS)\r\n');
  deflate.flush(zc.Z_SYNC_FLUSH);
  for (let i = 0; i < 100 && !/z3 OK/.test(text); i++) await new Promise((res) => setTimeout(res, 20));
  assert.match(text, /\* 4 EXISTS/);
  assert.match(text, /\* 1 FETCH \(UID 1 FLAGS \(\\Seen\)\)/);
  assert.match(text, /z3 OK/);
  deflate.write('z4 COMPRESS DEFLATE\r\n');
  deflate.flush(zc.Z_SYNC_FLUSH);
  for (let i = 0; i < 100 && !/z4 /.test(text); i++) await new Promise((res) => setTimeout(res, 20));
  assert.match(text, /z4 NO \[COMPRESSIONACTIVE\]/);
  d.close();
});
