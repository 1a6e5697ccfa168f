import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Imap, imapServer, loggedIn, msg, PASS } from './client.js';
import { startServer, type TestServer } from '../helpers/server.js';

let srv: TestServer;
before(async () => {
  srv = await imapServer(['usr1@example.test']);
});
after(async () => {
  await srv?.stop();
});

test('greeting carries capabilities; CAPABILITY lists IMAP4rev1 and IMAP4rev2', { timeout: 30000 }, async () => {
  const c = await Imap.open(srv.ports.imap);
  try {
    assert.match(c.greeting, /^\* OK \[CAPABILITY IMAP4rev1 IMAP4rev2 .*STARTTLS.*\] mail\.example\.test/);
    const r = await c.cmd('CAPABILITY');
    assert.match(r.untagged[0], /^\* CAPABILITY IMAP4rev1 IMAP4rev2 /);
    assert.match(r.untagged[0], / AUTH=PLAIN /);
    assert.match(r.untagged[0], / IDLE /);
    assert.match(r.tagged, /^A1 OK/);
  } finally {
    c.close();
  }
});

test('LOGIN: wrong password NO [AUTHENTICATIONFAILED], right one OK with capabilities', { timeout: 30000 }, async () => {
  const c = await Imap.open(srv.ports.imap);
  try {
    let r = await c.cmd('LOGIN usr1@example.test wrong');
    assert.match(r.tagged, /^A1 NO \[AUTHENTICATIONFAILED\]/);
    r = await c.cmd(`LOGIN "usr1@example.test" "${PASS}"`);
    assert.match(r.tagged, /^A2 OK \[CAPABILITY .*\] /);
    assert.doesNotMatch(r.tagged, /STARTTLS|AUTH=/);
    r = await c.cmd('LOGIN usr1@example.test x');
    assert.match(r.tagged, /^A3 BAD/);
  } finally {
    c.close();
  }
});

test('AUTHENTICATE PLAIN with SASL-IR and with a continuation', { timeout: 30000 }, async () => {
  const ir = Buffer.from(`\0usr1@example.test\0${PASS}`).toString('base64');
  let c = await Imap.open(srv.ports.imap);
  let r = await c.cmd(`AUTHENTICATE PLAIN ${ir}`);
  assert.match(r.tagged, /^A1 OK/);
  c.close();
  c = await Imap.open(srv.ports.imap);
  c.write('a AUTHENTICATE PLAIN\r\n');
  assert.equal(await c.line(), '+ ');
  c.write(ir + '\r\n');
  r = await c.until('a');
  assert.match(r.tagged, /^a OK/);
  // Cancel: BAD, the session goes on.
  c.close();
  c = await Imap.open(srv.ports.imap);
  c.write('b AUTHENTICATE PLAIN\r\n');
  await c.line();
  c.write('*\r\n');
  r = await c.until('b');
  assert.match(r.tagged, /^b BAD/);
  r = await c.cmd('NOOP');
  assert.match(r.tagged, /OK/);
  c.close();
});

test('malformed commands get BAD with a reason and the session goes on', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    for (const bad of ['FROB', 'SELECT', 'FETCH 1 (FLAGS', 'SELECT "INBOX', 'LIST "" ((((((((((((((((((((((((((((((((((((x))))))))))))))))))))))))))))))))))))']) {
      const r = await c.cmd(bad);
      assert.match(r.tagged, /^A\d+ BAD /, bad);
    }
    c.write('\x01\x02garbage\r\n');
    assert.match(await c.line(), /^\* BAD/);
    const r = await c.cmd('NOOP');
    assert.match(r.tagged, /OK/);
  } finally {
    c.close();
  }
});

test('a command line over the limit is refused with BAD and the rest of it ignored', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    c.write(`x1 NOOP ${'a'.repeat(70000)}\r\n`);
    assert.match(await c.line(), /^x1 BAD .*too long/);
    const r = await c.cmd('NOOP');
    assert.match(r.tagged, /OK/);
  } finally {
    c.close();
  }
});

test('oversized synchronising literal: NO [TOOBIG] without reading it; non-synchronising: BYE [ALERT]', { timeout: 30000 }, async () => {
  const s2 = await startServer({ toml: '[auth]\nplaintext_without_tls = true\n[imap]\nmax_literal_size = 1000' });
  try {
    await s2.addUser('usr1@example.test', PASS);
    const c = await loggedIn(s2);
    c.write('t1 APPEND INBOX {5000}\r\n');
    assert.match(await c.line(), /^t1 NO \[TOOBIG\]/);
    let r = await c.cmd('NOOP');
    assert.match(r.tagged, /OK/);
    r = await c.cmd('CAPABILITY');
    assert.match(r.untagged[0], /APPENDLIMIT=1000/);
    c.write('t2 APPEND INBOX {5000+}\r\n');
    assert.match(await c.line(), /^\* BYE \[ALERT\]/);
    await new Promise((res) => c.sock.once('close', res));
    c.close();
  } finally {
    await s2.stop();
  }
});

test('LOGINDISABLED before TLS unless allowed; STARTTLS discards pipelined commands', { timeout: 30000 }, async () => {
  const s2 = await startServer();
  try {
    await s2.addUser('usr1@example.test', PASS);
    const c = await Imap.open(s2.ports.imap);
    assert.match(c.greeting, /LOGINDISABLED/);
    assert.doesNotMatch(c.greeting, /AUTH=PLAIN/);
    let r = await c.cmd(`LOGIN usr1@example.test ${PASS}`);
    assert.match(r.tagged, /NO \[PRIVACYREQUIRED\]/);
    // STARTTLS with a LOGIN pipelined in the same packet: the LOGIN must not run.
    c.write(`s1 STARTTLS\r\ns2 LOGIN usr1@example.test ${PASS}\r\n`);
    assert.match(await c.line(), /^s1 OK/);
    const { connect } = await import('node:tls');
    const t = connect({ socket: c.sock, rejectUnauthorized: false });
    await new Promise((res) => t.once('secureConnect', res));
    const tc = new Imap(t);
    r = await tc.cmd('CAPABILITY');
    assert.match(r.untagged[0], /AUTH=PLAIN/);
    assert.doesNotMatch(r.untagged[0], /STARTTLS|LOGINDISABLED/);
    assert.equal(r.all.some((l) => l.startsWith('s2')), false);
    r = await tc.cmd(`LOGIN usr1@example.test ${PASS}`);
    assert.match(r.tagged, /OK/);
    tc.close();
  } finally {
    await s2.stop();
  }
});

test('implicit TLS on the imaps port', { timeout: 30000 }, async () => {
  const c = await Imap.open(srv.ports.imaps, { tls: true });
  try {
    assert.doesNotMatch(c.greeting, /STARTTLS/);
    await c.login('usr1@example.test', PASS);
    const r = await c.cmd('LOGOUT');
    assert.match(r.untagged[0], /^\* BYE/);
    assert.match(r.tagged, /OK/);
  } finally {
    c.close();
  }
});

test('ENABLE, ID, NAMESPACE', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    let r = await c.cmd('ENABLE IMAP4rev2 CONDSTORE X-UNKNOWN');
    assert.equal(r.untagged[0], '* ENABLED IMAP4rev2 CONDSTORE');
    r = await c.cmd('ID ("name" "test" "version" "1")');
    assert.match(r.untagged[0], /^\* ID \("name" "Correo"/);
    r = await c.cmd('NAMESPACE');
    assert.equal(r.untagged[0], '* NAMESPACE (("" "/")) (("Other Users/" "/")) NIL');
  } finally {
    c.close();
  }
});

test('APPEND, SELECT, FETCH body sections, STORE and EXPUNGE basics', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    const m = msg('basics', 'Line one.\r\nLine two.\r\n');
    let r = await c.cmdLiteral('APPEND INBOX (\\Flagged) "02-Mar-2026 10:00:00 +0100"', m);
    assert.match(r.tagged, /OK \[APPENDUID \d+ 1\]/);
    r = await c.cmd('SELECT INBOX');
    assert.ok(r.untagged.includes('* 1 EXISTS'));
    assert.ok(r.untagged.some((l) => /^\* OK \[UIDVALIDITY \d+\]/.test(l)));
    assert.ok(r.untagged.some((l) => l === '* OK [UIDNEXT 2] predicted next UID'));
    assert.match(r.tagged, /OK \[READ-WRITE\]/);
    r = await c.cmd('FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE UID)');
    assert.equal(r.untagged[0], `* 1 FETCH (FLAGS (\\Flagged) INTERNALDATE "02-Mar-2026 09:00:00 +0000" RFC822.SIZE ${Buffer.byteLength(m)} UID 1)`);
    r = await c.cmd('FETCH 1 BODY.PEEK[TEXT]');
    assert.equal(r.untagged[0], '* 1 FETCH (BODY[TEXT] {22}\r\nLine one.\r\nLine two.\r\n)');
    r = await c.cmd('FETCH 1 (BODY.PEEK[HEADER.FIELDS (Subject)] BODY.PEEK[]<0.4>)');
    assert.equal(r.untagged[0], '* 1 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {19}\r\nSubject: basics\r\n\r\n BODY[]<0> {4}\r\nFrom)');
    r = await c.cmd('FETCH 1 BODY[TEXT]<5.3>');
    assert.equal(r.untagged[0], '* 1 FETCH (BODY[TEXT]<5> {3}\r\none FLAGS (\\Flagged \\Seen))');
    r = await c.cmd('FETCH 2 FLAGS');
    assert.match(r.tagged, /BAD/);
    r = await c.cmd('STORE 1 +FLAGS (\\Deleted $Work)');
    // $Work is new to the mailbox: FLAGS and PERMANENTFLAGS come first (issue 10.9).
    assert.equal(r.untagged[0], '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)');
    assert.equal(r.untagged[2], '* 1 FETCH (FLAGS (\\Flagged \\Seen \\Deleted $Work))');
    r = await c.cmd('UID STORE 1 -FLAGS.SILENT ($Work)');
    assert.deepEqual(r.untagged, []);
    r = await c.cmd('EXPUNGE');
    assert.deepEqual(r.untagged, ['* 1 EXPUNGE']);
    r = await c.cmd('FETCH 1:* FLAGS');
    assert.match(r.tagged, /BAD/);
  } finally {
    c.close();
  }
});

test('AUTHENTICATE SCRAM-SHA-256 (shared SASL engine) works without TLS; PLAIN is not offered there', { timeout: 30000 }, async () => {
  const { ScramClient } = await import('../auth/scram-client.js');
  const s2 = await startServer();
  try {
    await s2.addUser('usr1@example.test', PASS);
    const c = await Imap.open(s2.ports.imap);
    assert.match(c.greeting, / AUTH=SCRAM-SHA-256 /);
    assert.doesNotMatch(c.greeting, /AUTH=PLAIN/);
    const sc = new ScramClient('SCRAM-SHA-256', 'usr1@example.test', PASS);
    c.write(`s1 AUTHENTICATE SCRAM-SHA-256 ${Buffer.from(sc.first()).toString('base64')}\r\n`);
    const first = await c.line();
    assert.match(first, /^\+ /);
    c.write(Buffer.from(sc.final(Buffer.from(first.slice(2), 'base64').toString())).toString('base64') + '\r\n');
    const fin = await c.line();
    assert.match(fin, /^\+ /);
    assert.ok(sc.verify(Buffer.from(fin.slice(2), 'base64').toString()), 'server proved it knows the password');
    c.write('\r\n');
    assert.match(await c.line(), /^s1 OK/);
    assert.match((await c.cmd('SELECT INBOX')).tagged, /OK/);
    c.close();
  } finally {
    await s2.stop();
  }
});

test('connection limits come from the config: [LIMIT] past max_sessions_per_user, BYE past max_connections_per_address', { timeout: 60000 }, async () => {
  const limited = await imapServer(['usr1@example.test'], '[imap]\nmax_sessions_per_user = 2\nmax_connections_per_address = 3\n');
  const open: Imap[] = [];
  try {
    open.push(await loggedIn(limited), await loggedIn(limited));
    const third = await Imap.open(limited.ports.imap);
    open.push(third);
    const r = await third.cmd(`LOGIN usr1@example.test ${PASS}`);
    assert.match(r.tagged, /^A1 NO \[LIMIT\]/);
    const fourth = await Imap.open(limited.ports.imap).catch((e: Error) => e);
    if (fourth instanceof Imap) {
      open.push(fourth);
      assert.match(fourth.greeting, /^\* BYE \[UNAVAILABLE\]/);
    } else {
      assert.match(fourth.message, /BYE \[UNAVAILABLE\]/);
    }
  } finally {
    for (const c of open) c.close();
    await limited.stop();
  }
});
