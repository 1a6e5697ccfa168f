import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Imap, imapServer, loggedIn, msg } from './client.js';
import type { TestServer } from '../helpers/server.js';

let srv: TestServer;
before(async () => {
  srv = await imapServer(['usr1@example.test']);
});
after(async () => {
  await srv?.stop();
});

async function fresh(c: Imap, box: string, n: number): Promise<void> {
  await c.cmd(`CREATE ${box}`);
  for (let i = 1; i <= n; i++) assert.match((await c.cmdLiteral(`APPEND ${box}`, msg(`${box} ${i}`))).tagged, /OK/);
}

test('MULTIAPPEND with LITERAL+, flags and dates; APPENDUID covers all', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    await c.cmd('CREATE Multi');
    const a = msg('m1'), b = msg('m2');
    c.write(`t1 APPEND Multi (\\Seen) "01-Jan-2026 00:01:00 +0000" {${a.length}+}\r\n${a} (\\Draft) {${b.length}+}\r\n${b}\r\n`);
    const r = await c.until('t1');
    assert.match(r.tagged, /^t1 OK \[APPENDUID \d+ 1:2\]/);
    const s = await c.cmd('SELECT Multi');
    assert.ok(s.untagged.includes('* 2 EXISTS'));
    const f = await c.cmd('FETCH 1:2 (FLAGS INTERNALDATE)');
    assert.deepEqual(f.untagged, ['* 1 FETCH (FLAGS (\\Seen) INTERNALDATE "01-Jan-2026 00:01:00 +0000")', `* 2 FETCH (FLAGS (\\Draft) INTERNALDATE ${/INTERNALDATE ("[^"]+")/.exec(f.untagged[1])![1]})`]);
    // APPEND to a mailbox that does not exist: TRYCREATE.
    assert.match((await c.cmdLiteral('APPEND Nowhere', a)).tagged, /NO \[TRYCREATE\]/);
    // A bare-LF message is stored with CRLF.
    assert.match((await c.cmdLiteral('APPEND Multi', 'Subject: lf\n\nbody\n')).tagged, /OK/);
    const lf = await c.cmd('FETCH 3 (RFC822.SIZE BODY.PEEK[])');
    assert.equal(lf.untagged[0], '* 3 FETCH (RFC822.SIZE 21 BODY[] {21}\r\nSubject: lf\r\n\r\nbody\r\n)');
  } finally {
    c.close();
  }
});

test('COPY and MOVE answer COPYUID; MOVE expunges from the source', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    await fresh(c, 'Src', 4);
    await c.cmd('CREATE Dst');
    await c.cmd('SELECT Src');
    let r = await c.cmd('COPY 2:3 Dst');
    assert.match(r.tagged, /OK \[COPYUID \d+ 2:3 1:2\]/);
    r = await c.cmd('UID MOVE 1,4 Dst');
    const ok = r.untagged.find((l) => l.startsWith('* OK [COPYUID'));
    assert.match(ok!, /^\* OK \[COPYUID \d+ 1,4 3:4\]/);
    assert.deepEqual(r.untagged.filter((l) => /EXPUNGE/.test(l)), ['* 1 EXPUNGE', '* 3 EXPUNGE']);
    r = await c.cmd('FETCH 1:* UID');
    assert.deepEqual(r.untagged, ['* 1 FETCH (UID 2)', '* 2 FETCH (UID 3)']);
    r = await c.cmd('COPY 1 Missing');
    assert.match(r.tagged, /NO \[TRYCREATE\]/);
    r = await c.cmd('STATUS Dst (MESSAGES)');
    assert.equal(r.untagged[0], '* STATUS Dst (MESSAGES 4)');
    const f = await c.cmd('EXAMINE Dst');
    assert.ok(f.untagged.includes('* 4 EXISTS'));
    r = await c.cmd('UID FETCH 3 BODY.PEEK[HEADER.FIELDS (SUBJECT)]');
    assert.match(r.untagged[0], /Subject: Src 1/);
  } finally {
    c.close();
  }
});

test('UID FETCH, UID STORE, UID EXPUNGE only touch the UIDs named', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    await fresh(c, 'U', 3);
    await c.cmd('SELECT U');
    let r = await c.cmd('UID STORE 1:3 +FLAGS.SILENT (\\Deleted)');
    assert.deepEqual(r.untagged, []);
    r = await c.cmd('UID EXPUNGE 2');
    assert.deepEqual(r.untagged, ['* 2 EXPUNGE']);
    r = await c.cmd('UID FETCH 1:* (UID FLAGS)');
    assert.deepEqual(r.untagged, ['* 1 FETCH (UID 1 FLAGS (\\Deleted))', '* 2 FETCH (UID 3 FLAGS (\\Deleted))']);
    r = await c.cmd('UID FETCH 99 FLAGS');
    assert.deepEqual(r.untagged, []);
    assert.match(r.tagged, /OK/);
    // "*" in a UID set is the highest UID even when the range starts above it.
    r = await c.cmd('UID FETCH 10:* UID');
    assert.deepEqual(r.untagged, ['* 2 FETCH (UID 3)']);
  } finally {
    c.close();
  }
});

test('CONDSTORE: MODSEQ, CHANGEDSINCE, STORE UNCHANGEDSINCE answers MODIFIED', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    await fresh(c, 'Cs', 3);
    let r = await c.cmd('SELECT Cs (CONDSTORE)');
    const hms = Number(/HIGHESTMODSEQ (\d+)/.exec(r.all.join('\n'))![1]);
    r = await c.cmd('FETCH 1:3 (MODSEQ)');
    const ms = r.untagged.map((l) => Number(/MODSEQ \((\d+)\)/.exec(l)![1]));
    assert.equal(Math.max(...ms), hms);
    r = await c.cmd('STORE 2 +FLAGS (\\Flagged)');
    const m2 = Number(/MODSEQ \((\d+)\)/.exec(r.untagged[0])![1]);
    assert.ok(m2 > hms);
    r = await c.cmd(`FETCH 1:* (FLAGS) (CHANGEDSINCE ${hms})`);
    assert.deepEqual(r.untagged, [`* 2 FETCH (FLAGS (\\Flagged) MODSEQ (${m2}))`]);
    r = await c.cmd(`STORE 1:3 (UNCHANGEDSINCE ${hms}) +FLAGS.SILENT (\\Seen)`);
    assert.match(r.tagged, /OK \[MODIFIED 2\]/);
    r = await c.cmd('FETCH 1:3 FLAGS');
    assert.deepEqual(r.untagged.map((l) => /FLAGS \(([^)]*)\)/.exec(l)![1]), ['\\Seen', '\\Flagged', '\\Seen']);
    r = await c.cmd('SEARCH MODSEQ 1');
    assert.match(r.untagged[0], /^\* SEARCH 1 2 3 \(MODSEQ \d+\)$/);
  } finally {
    c.close();
  }
});

test('BODY[] sets \\Seen, BODY.PEEK does not; RFC822 forms; partial past the end is empty', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    await fresh(c, 'Seen', 2);
    await c.cmd('SELECT Seen');
    let r = await c.cmd('FETCH 1 (BODY.PEEK[HEADER] FLAGS)');
    assert.match(r.untagged[0], / FLAGS \(\)\)$/);
    r = await c.cmd('FETCH 1 RFC822.HEADER');
    assert.doesNotMatch(r.untagged[0], /\\Seen/);
    r = await c.cmd('FETCH 1 RFC822.TEXT');
    assert.match(r.untagged[0], /^\* 1 FETCH \(RFC822\.TEXT \{8\}\r\nHello\.\r\n FLAGS \(\\Seen\)\)$/);
    r = await c.cmd('FETCH 2 (BODY[]<10000.5>)');
    assert.match(r.untagged[0], /^\* 2 FETCH \(BODY\[\]<10000> \{0\}\r\n FLAGS \(\\Seen\)\)$/);
  } finally {
    c.close();
  }
});

test('pipelined commands are answered in order', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    await fresh(c, 'Pipe', 2);
    c.write('p1 SELECT Pipe\r\np2 FETCH 1 UID\r\np3 FETCH 2 UID\r\np4 NOOP\r\n');
    const r = await c.until('p4');
    const tagged = r.all.filter((l) => /^p\d /.test(l)).map((l) => l.slice(0, 5));
    assert.deepEqual(tagged, ['p1 OK', 'p2 OK', 'p3 OK', 'p4 OK']);
    assert.ok(r.all.includes('* 1 FETCH (UID 1)') && r.all.includes('* 2 FETCH (UID 2)'));
  } finally {
    c.close();
  }
});
