import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { imapServer, loggedIn, msg, PASS } from './client.js';
import type { TestServer } from '../helpers/server.js';

// Issue 10 items 3, 6 and 9: what a session is told about its own mailbox (MOVE into it,
// CONDSTORE's first HIGHESTMODSEQ, ESEARCH MIN/MAX MODSEQ, keywords new to the mailbox).

let srv: TestServer;
before(async () => {
  srv = await imapServer(['usr1@example.test']);
});
after(async () => {
  await srv?.stop();
});

test('issue 10.3: MOVE into the selected mailbox moves (new UID, original expunged), it does not copy', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    await c.cmd('CREATE Self');
    await c.cmdLiteral('APPEND Self', msg('one'));
    await c.cmd('SELECT Self');
    for (let round = 0; round < 2; round++) {
      const r = await c.cmd('MOVE 1 Self');
      assert.match(r.tagged, /^A\d+ OK/);
      assert.ok(r.untagged.includes('* 1 EXPUNGE'), r.untagged.join('\n'));
      assert.ok(r.untagged.some((l) => /^\* OK \[COPYUID \d+ \d+ \d+\]/.test(l)), r.untagged.join('\n'));
      const f = await c.cmd('FETCH 1:* (UID)');
      assert.deepEqual(f.untagged, [`* 1 FETCH (UID ${round + 2})`], 'one message, with a new UID');
    }
    const st = await c.cmd('STATUS Self (MESSAGES)');
    assert.deepEqual(st.untagged, ['* STATUS Self (MESSAGES 1)']);
  } finally {
    c.close();
  }
});

test('issue 10.6: the first CONDSTORE-enabling command in a selected mailbox sends OK [HIGHESTMODSEQ]', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    await c.cmd('CREATE Cond');
    await c.cmdLiteral('APPEND Cond', msg('c1'));
    const other = await loggedIn(srv);
    const st = await other.cmd('STATUS Cond (HIGHESTMODSEQ)');
    other.close();
    const hms = /HIGHESTMODSEQ (\d+)/.exec(st.untagged.join(' '))![1];
    await c.cmd('SELECT Cond');
    let r = await c.cmd('FETCH 1 (MODSEQ)');
    assert.equal(r.untagged[0], `* OK [HIGHESTMODSEQ ${hms}] highest`, r.untagged.join('\n'));
    r = await c.cmd('FETCH 1 (MODSEQ)');
    assert.equal(r.untagged.some((l) => l.includes('HIGHESTMODSEQ')), false, 'only the first time');
    // The same through SEARCH MODSEQ in a fresh session.
    const d = await loggedIn(srv);
    await d.cmd('SELECT Cond');
    r = await d.cmd('SEARCH MODSEQ 1');
    assert.equal(r.untagged[0], `* OK [HIGHESTMODSEQ ${hms}] highest`, r.untagged.join('\n'));
    d.close();
  } finally {
    c.close();
  }
});

test('issue 10.6: ESEARCH RETURN (MIN) / (MAX) with MODSEQ gives the returned message\'s mod-sequence', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    await c.cmd('CREATE Es');
    for (const n of ['a', 'b', 'c']) await c.cmdLiteral('APPEND Es', msg(n));
    await c.cmd('SELECT Es');
    await c.cmd('STORE 2 +FLAGS (\\Flagged)'); // message 2 now has the highest modseq
    const ms = async (n: number) => Number(/MODSEQ \((\d+)\)/.exec((await c.cmd(`FETCH ${n} (MODSEQ)`)).untagged.join(' '))![1]);
    const [m1, m2, m3] = [await ms(1), await ms(2), await ms(3)];
    assert.ok(m2 > m1 && m2 > m3);
    let r = await c.cmd('SEARCH RETURN (MIN) MODSEQ 1');
    assert.match(r.untagged.find((l) => l.startsWith('* ESEARCH'))!, new RegExp(`MIN 1 MODSEQ ${m1}$`));
    r = await c.cmd('SEARCH RETURN (MAX) MODSEQ 1');
    assert.match(r.untagged.find((l) => l.startsWith('* ESEARCH'))!, new RegExp(`MAX 3 MODSEQ ${m3}$`));
    r = await c.cmd('SEARCH RETURN (MIN MAX) MODSEQ 1');
    assert.match(r.untagged.find((l) => l.startsWith('* ESEARCH'))!, new RegExp(`MIN 1 MAX 3 MODSEQ ${Math.max(m1, m3)}$`));
    r = await c.cmd('SEARCH RETURN (MIN COUNT) MODSEQ 1');
    assert.match(r.untagged.find((l) => l.startsWith('* ESEARCH'))!, new RegExp(`MODSEQ ${m2}$`), 'COUNT covers every match');
  } finally {
    c.close();
  }
});

test('issue 10.9: a keyword new to the mailbox is announced with FLAGS, in this session and in others', { timeout: 30000 }, async () => {
  const a = await loggedIn(srv);
  const b = await loggedIn(srv);
  try {
    await a.cmd('CREATE Kw');
    await a.cmdLiteral('APPEND Kw', msg('k'));
    await a.cmd('SELECT Kw');
    await b.cmd('SELECT Kw');
    let r = await a.cmd('STORE 1 +FLAGS ($Work)');
    assert.ok(r.untagged.includes('* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)'), r.untagged.join('\n'));
    assert.ok(r.untagged.includes('* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] flags and keywords'), r.untagged.join('\n'));
    r = await a.cmd('STORE 1 -FLAGS ($Work)');
    r = await a.cmd('STORE 1 +FLAGS ($Work)');
    assert.equal(r.untagged.some((l) => l.startsWith('* FLAGS')), false, 'a keyword is announced once');
    r = await b.cmd('NOOP');
    assert.ok(r.untagged.includes('* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)'), r.untagged.join('\n'));
    // A message appended with a new keyword, seen by a session with the mailbox selected.
    await a.cmdLiteral('APPEND Kw ($Later)', msg('k2'));
    r = await b.cmd('NOOP');
    assert.ok(r.untagged.includes('* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work $Later)'), r.untagged.join('\n'));
  } finally {
    a.close();
    b.close();
  }
});

/** A POP3 exchange over loopback: each command after the previous reply, the replies back. */
async function pop3(port: number, commands: string[]): Promise<string[]> {
  const sock = connect({ host: '127.0.0.1', port });
  let buf = '';
  const replies: string[] = [];
  const next = () => new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`POP3 timed out: ${buf}`)), 10_000);
    const check = () => {
      const i = buf.indexOf('\r\n');
      if (i < 0) return;
      clearTimeout(t);
      sock.off('data', onData);
      const l = buf.slice(0, i);
      buf = buf.slice(i + 2);
      resolve(l);
    };
    const onData = (d: Buffer) => {
      buf += d.toString('latin1');
      check();
    };
    sock.on('data', onData);
    check();
  });
  try {
    replies.push(await next());
    for (const c of commands) {
      sock.write(c + '\r\n');
      replies.push(await next());
    }
  } finally {
    sock.destroy();
  }
  return replies;
}

test('issue 10.12: a POP3 deletion wakes the IDLE sessions of that INBOX', { timeout: 30000 }, async () => {
  const a = await loggedIn(srv);
  const b = await loggedIn(srv);
  try {
    await a.cmd('SELECT INBOX');
    await a.cmd('STORE 1:* +FLAGS.SILENT (\\Deleted)').catch(() => undefined);
    await a.cmd('EXPUNGE');
    await a.cmdLiteral('APPEND INBOX', msg('pop-one'));
    await a.cmdLiteral('APPEND INBOX', msg('pop-two'));
    await b.cmd('SELECT INBOX');
    b.write('i1 IDLE\r\n');
    assert.equal(await b.line(), '+ idling');
    const r = await pop3(srv.ports.pop3, ['USER usr1@example.test', `PASS ${PASS}`, 'DELE 1', 'QUIT']);
    assert.match(r[4], /^\+OK/, r.join('\n'));
    assert.equal(await b.line(3000), '* 1 EXPUNGE');
    b.write('DONE\r\n');
    assert.match(await b.line(), /^i1 OK/);
  } finally {
    a.close();
    b.close();
  }
});

test('issue 10.5: SEARCH FROM/TO/CC/BCC match the addresses, not only the raw header text (RFC 9051 6.4.4)', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    await c.cmd('CREATE Addr');
    const m = 'From: <user-from (comment)@ (comment) domain.org>\r\nTo: "Juan Perez" <juan . perez @ example.test>\r\n' +
      'Cc: =?utf-8?Q?Jos=C3=A9?= <jose@example.test>\r\nBcc: hidden@example.test\r\nSubject: addresses\r\n\r\nbody\r\n';
    await c.cmdLiteral('APPEND Addr', m);
    await c.cmdLiteral('APPEND Addr', msg('other'));
    await c.cmd('SELECT Addr');
    const hits = async (k: string) => (await c.cmd(`SEARCH ${k}`)).untagged.find((l) => l.startsWith('* SEARCH'));
    assert.equal(await hits('FROM user-from@domain.org'), '* SEARCH 1');
    assert.equal(await hits('FROM "user-from@domain.org"'), '* SEARCH 1');
    assert.equal(await hits('TO juan.perez@example.test'), '* SEARCH 1');
    assert.equal(await hits('TO "Juan Perez"'), '* SEARCH 1');
    assert.equal(await hits('CC jose'), '* SEARCH 1');
    assert.equal(await hits('BCC hidden@example.test'), '* SEARCH 1');
    assert.equal(await hits('FROM comment'), '* SEARCH 1', 'the raw text still matches');
    assert.equal(await hits('FROM nobody@domain.org'), '* SEARCH');
    assert.equal(await hits('FROM alice@example.org'), '* SEARCH 2');
  } finally {
    c.close();
  }
});
