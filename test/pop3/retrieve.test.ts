/**
 * Must show (issue 2): a message delivered with swaks comes back through Python's poplib
 * byte for byte (plus our Return-Path and Received), over STLS on the plain port and over
 * implicit TLS; STAT, LIST, UIDL, TOP agree with it.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { startServer, type TestServer } from '../helpers/server.js';
import { deliver, python, simpleMessage } from './helpers.js';
import { needs } from '../helpers/peers.js';

let server: TestServer;

before(async () => {
  server = await startServer();
  await server.addUser('usr1@example.test', 'secret1');
  await server.addUser('usr2@example.test', 'secret2');
  await server.addUser('usr3@example.test', 'secret3');
});

after(async () => {
  await server?.stop();
});

/** A multipart message with an 8-bit UTF-8 body (dot lines included) and a binary attachment in base64. */
function richMessage(): { data: Buffer; attachment: Buffer } {
  const attachment = Buffer.concat([Buffer.from(Array.from({ length: 256 }, (_, i) => i)), randomBytes(5000)]);
  const b64 = attachment.toString('base64').replace(/.{76}/g, '$&\r\n').replace(/\r\n$/, '');
  const lines = [
    'From: Sender <sender@remote.example.net>',
    'To: usr1@example.test',
    'Subject: =?UTF-8?B?' + Buffer.from('Grüße 🎉').toString('base64') + '?=',
    `Message-ID: <${randomBytes(8).toString('hex')}@remote.example.net>`,
    'MIME-Version: 1.0',
    'Content-Type: multipart/mixed; boundary="=-b1"',
    '',
    '--=-b1',
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: 8bit',
    '',
    'Grüße aus Zürich — 日本語のテキスト 🎉 ñandú',
    '.a line that starts with a dot',
    '..two dots',
    '.',
    'the line above was a lone dot',
    '',
    '--=-b1',
    'Content-Type: application/octet-stream; name="blob.bin"',
    'Content-Transfer-Encoding: base64',
    'Content-Disposition: attachment; filename="blob.bin"',
    '',
    b64,
    '--=-b1--',
    '',
  ];
  return { data: Buffer.from(lines.join('\r\n'), 'utf8'), attachment };
}

/** Removes the trace headers Correo adds at the top (Return-Path, Received, SPF and Authentication-Results, with their continuation lines). */
function stripTrace(msg: Buffer): { rest: Buffer; trace: string[] } {
  const trace: string[] = [];
  let pos = 0;
  for (;;) {
    const eol = msg.indexOf('\r\n', pos);
    const line = msg.subarray(pos, eol).toString('latin1');
    if (/^(Return-Path|Received|Received-SPF|Authentication-Results):/i.test(line)) trace.push(line);
    else if (/^[ \t]/.test(line) && trace.length) trace[trace.length - 1] += '\r\n' + line;
    else break;
    pos = eol + 2;
  }
  return { rest: msg.subarray(pos), trace };
}

const RETRIEVE = `
mode = sys.argv[1] if len(sys.argv) > 1 else MODE
p = login(mode)
stat = p.stat()
listing = p.list()
uidl = p.uidl()
resp, lines, octets = p.retr(1)
top0 = p.top(1, 0)[1]
top3 = p.top(1, 3)[1]
p.quit()
out({
  'stat': list(stat),
  'list': [l.decode() for l in listing[1]],
  'uidl': [l.decode() for l in uidl[1]],
  'retrResp': resp.decode(),
  'message': b64(b'\\r\\n'.join(lines) + b'\\r\\n'),
  'top0': b64(b'\\r\\n'.join(top0) + b'\\r\\n'),
  'top3': b64(b'\\r\\n'.join(top3) + b'\\r\\n'),
})
`;

let delivered: Buffer;

test('RETR returns the delivered bytes exactly, over STLS on the plain port', { timeout: 90000, ...needs('swaks', 'python3') }, async () => {
  const { data, attachment } = richMessage();
  delivered = data;
  await deliver(server, 'usr1@example.test', data, 'swaks');
  const r = await python(server, `MODE = 'stls'\n` + RETRIEVE);
  const got = Buffer.from(r.message, 'base64');
  const { rest, trace } = stripTrace(got);
  assert.equal(trace.length >= 2, true, `Return-Path and Received added: ${trace}`);
  assert.match(trace[0], /^Return-Path: <sender@remote\.example\.net>$/);
  assert.ok(trace.some((t) => /^Received: from client\.example\.net/.test(t)), trace.join('\n'));
  assert.ok(rest.equals(data), `the message differs from what was sent:\n${rest.toString('utf8').slice(0, 600)}`);
  // The attachment decodes to the same bytes (a second look at the same property, from the MIME side).
  const b64 = rest.toString('latin1').split('filename="blob.bin"\r\n\r\n')[1].split('\r\n--=-b1--')[0];
  assert.ok(Buffer.from(b64.replace(/\r\n/g, ''), 'base64').equals(attachment));

  // RFC 1939 5: STAT/LIST give the exact size; RETR's +OK names it too.
  assert.deepEqual(r.stat, [1, got.length]);
  assert.deepEqual(r.list, [`1 ${got.length}`]);
  assert.equal(r.retrResp, `+OK ${got.length} octets`);
  assert.match(r.uidl[0], /^1 \d+\.\d+$/);

  // RFC 1939 7 TOP: TOP n 0 is the header and the blank line; TOP n 3 adds three body lines.
  const headerEnd = got.indexOf('\r\n\r\n') + 4;
  assert.ok(Buffer.from(r.top0, 'base64').equals(got.subarray(0, headerEnd)));
  let end = headerEnd;
  for (let i = 0; i < 3; i++) end = got.indexOf('\r\n', end) + 2;
  assert.ok(Buffer.from(r.top3, 'base64').equals(got.subarray(0, end)));
});

test('the same message over implicit TLS (995) with POP3_SSL; UIDL is stable across a restart', { timeout: 90000, ...needs('python3') }, async () => {
  assert.ok(delivered, 'runs after the STLS test');
  const r = await python(server, `MODE = 'tls'\n` + RETRIEVE);
  const { rest } = stripTrace(Buffer.from(r.message, 'base64'));
  assert.ok(rest.equals(delivered));
  await server.restart();
  const again = await python(server, `MODE = 'tls'\n` + RETRIEVE);
  assert.deepEqual(again.uidl, r.uidl, 'UIDL after restart');
});

test('message numbers are the snapshot taken at login: new mail shows at the next login', { timeout: 90000, ...needs('python3') }, async () => {
  await deliver(server, 'usr2@example.test', simpleMessage('first'));
  // The Python session stays open while a second message arrives; files in the test dir say when.
  const script = `
p = login('stls', 'usr2@example.test', 'secret2')
before = p.stat()[0]
fh = open(${JSON.stringify(server.dir + '/deliver-now')}, 'w'); fh.close()
import os
for _ in range(400):
    if os.path.exists(${JSON.stringify(server.dir + '/delivered')}): break
    time.sleep(0.05)
during = p.stat()[0]
listing = len(p.list()[1])
try:
    p.retr(2); retr2 = 'ok'
except poplib.error_proto as e:
    retr2 = err(e)
p.quit()
after = login('stls', 'usr2@example.test', 'secret2')
after_n = after.stat()[0]
after.quit()
out({'before': before, 'during': during, 'listing': listing, 'retr2': retr2, 'after': after_n})
`;
  const pending = python(server, script, 60000);
  const t0 = Date.now();
  while (!existsSync(server.dir + '/deliver-now')) {
    if (Date.now() - t0 > 20000) throw new Error('python never logged in');
    await new Promise((res) => setTimeout(res, 50));
  }
  await deliver(server, 'usr2@example.test', simpleMessage('second'));
  writeFileSync(server.dir + '/delivered', '');
  const out = await pending;
  assert.deepEqual(out, { before: 1, during: 1, listing: 1, retr2: '-ERR No such message', after: 2 });
});

test('a message whose body file is gone: RETR and TOP answer -ERR and the session goes on', { timeout: 90000, ...needs('python3') }, async () => {
  const blobs = join(server.dir, 'blobs');
  const listBlobs = () => new Set(readdirSync(blobs, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name)));
  const before = listBlobs();
  await deliver(server, 'usr3@example.test', simpleMessage('will vanish'));
  await deliver(server, 'usr3@example.test', simpleMessage('stays'));
  const fresh = [...listBlobs()].filter((f) => !before.has(f)).sort((a, b) => basename(a).localeCompare(basename(b)));
  assert.equal(fresh.length, 2, `two new body files: ${fresh}`);
  // Queue ids grow with time: the first one is the first message.
  rmSync(fresh[0]);
  const r = await python(server, `
p = login('stls', 'usr3@example.test', 'secret3')
out_ = {}
for cmd, f in (('retr', lambda: p.retr(1)), ('top', lambda: p.top(1, 0))):
    try:
        f(); out_[cmd] = 'ok'
    except poplib.error_proto as e:
        out_[cmd] = err(e)
out_['second'] = [l.decode() for l in p.retr(2)[1] if l.startswith(b'Subject:')]
out_['stat'] = p.stat()[0]
p.quit()
out(out_)
`);
  assert.match(r.retr, /^-ERR /);
  assert.match(r.top, /^-ERR /);
  assert.deepEqual(r.second, ['Subject: stays']);
  assert.equal(r.stat, 2);
});
