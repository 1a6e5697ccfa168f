import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ImapFlow } from 'imapflow';
import { imapServer, loggedIn, msg, PASS } from './client.js';
import type { TestServer } from '../helpers/server.js';
import { needs } from '../helpers/peers.js';

let srv: TestServer;
let work: string;
before(async () => {
  srv = await imapServer(['usr1@example.test', 'flow@example.test', 'py@example.test', 'sync@example.test', 'mutt@example.test']);
  work = mkdtempSync(join(tmpdir(), 'correo-imap-clients-'));
});
after(async () => {
  await srv?.stop();
  rmSync(work, { recursive: true, force: true });
});

function run(cmd: string, args: string[], opts: { input?: string; timeout?: number; env?: NodeJS.ProcessEnv } = {}) {
  return spawnSync(cmd, args, { encoding: 'utf8', timeout: opts.timeout ?? 30000, input: opts.input, env: opts.env ?? process.env });
}

test('imapflow: STARTTLS, COMPRESS, ENABLE, every command family, IDLE notification', { timeout: 60000 }, async () => {
  const client = new ImapFlow({
    host: '127.0.0.1', port: srv.ports.imap, secure: false, auth: { user: 'flow@example.test', pass: PASS },
    tls: { rejectUnauthorized: false }, logger: false, qresync: true,
  });
  await client.connect();
  try {
    assert.equal(client.secureConnection === true || (client as unknown as { socket: { encrypted?: boolean } }).socket.encrypted === true, true, 'STARTTLS was used');
    assert.ok((client as unknown as { _deflate?: unknown })._deflate, 'COMPRESS=DEFLATE is active');
    assert.ok(client.enabled.has('CONDSTORE') && client.enabled.has('QRESYNC'));
    const boxes = await client.list();
    assert.deepEqual(boxes.map((b) => b.path).sort(), ['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
    assert.equal(boxes.find((b) => b.path === 'Sent')?.specialUse, '\\Sent');
    await client.mailboxCreate('Flow/Sub');
    const ap = (await client.append('Flow/Sub', msg('flow one', 'Body one.\r\n'), ['\\Flagged'])) as { uid: number };
    assert.equal(ap.uid, 1);
    await client.append('Flow/Sub', msg('flow two', 'Body two: quokka.\r\n'));
    const st = (await client.status('Flow/Sub', { messages: true, unseen: true, uidNext: true })) as { messages: number; unseen: number };
    assert.equal(st.messages, 2);
    assert.equal(st.unseen, 2);
    const lock = await client.getMailboxLock('Flow/Sub');
    try {
      const found = await client.search({ body: 'quokka' }, { uid: true });
      assert.deepEqual(found, [2]);
      const m = await client.fetchOne('1', { source: true, flags: true, uid: true, size: true, internalDate: true });
      assert.ok(m);
      assert.match(m.source!.toString(), /Subject: flow one/);
      assert.ok(m.flags!.has('\\Flagged'));
      await client.messageFlagsAdd('2', ['\\Seen', '$Label1']);
      const f = await client.fetchOne('2', { flags: true });
      assert.ok(f && f.flags!.has('$Label1') && f.flags!.has('\\Seen'));
      const cp = await client.messageCopy('1', 'Archive');
      assert.ok(cp && cp.uidMap && cp.uidMap.size === 1);
      const mv = await client.messageMove('2', 'Trash');
      assert.ok(mv && mv.uidMap && mv.uidMap.size === 1);
      await client.messageDelete('1');
      assert.equal((client.mailbox as { exists: number }).exists, 0);
    } finally {
      lock.release();
    }
    assert.equal(((await client.status('Trash', { messages: true })) as { messages: number }).messages, 1);
    const q = await client.getQuota('INBOX');
    assert.ok(q, 'GETQUOTAROOT answered');
    // IDLE: a message appended by another session arrives as an "exists" event.
    await client.mailboxOpen('INBOX');
    const before = (client.mailbox as { exists: number }).exists;
    const seen = new Promise<number>((resolve) => client.on('exists', (d: { count: number }) => resolve(d.count)));
    const idle = client.idle();
    await new Promise((r) => setTimeout(r, 200));
    const other = await loggedIn(srv, 'flow@example.test');
    await other.cmdLiteral('APPEND INBOX', msg('while idle'));
    other.close();
    const count = await Promise.race([seen, new Promise<number>((_, rej) => setTimeout(() => rej(new Error('no EXISTS during IDLE')), 3000))]);
    assert.equal(count, before + 1);
    void idle;
  } finally {
    await client.logout();
  }
});

test("Python's imaplib: LOGIN, LIST, SELECT, APPEND, SEARCH, FETCH, STORE, COPY, EXPUNGE, STATUS, UID, LOGOUT", { timeout: 60000, ...needs('python3') }, async () => {
  const py = `
import imaplib, sys, time
M = imaplib.IMAP4('127.0.0.1', ${srv.ports.imap})
M.starttls(__import__('ssl')._create_unverified_context())
M.login('py@example.test', '${PASS}')
typ, data = M.list()
assert typ == 'OK' and any(b'"Sent"' in d or b' Sent' in d for d in data), data
assert M.create('PyBox')[0] == 'OK'
msg = b'From: a@example.org\\r\\nSubject: from python\\r\\n\\r\\nhello imaplib\\r\\n'
typ, data = M.append('PyBox', '(\\\\Seen)', imaplib.Time2Internaldate(time.time()), msg)
assert typ == 'OK' and b'APPENDUID' in data[0], data
typ, data = M.select('PyBox')
assert typ == 'OK' and data == [b'1'], data
typ, data = M.search(None, 'SUBJECT', '"from python"')
assert data == [b'1'], data
typ, data = M.fetch('1', '(RFC822)')
assert data[0][1] == msg, data
typ, data = M.store('1', '+FLAGS', '\\\\Deleted')
assert b'\\\\Deleted' in data[0], data
typ, data = M.uid('COPY', '1', 'INBOX')
assert typ == 'OK', data
typ, data = M.expunge()
assert data == [b'1'], data
typ, data = M.status('PyBox', '(MESSAGES UIDNEXT)')
assert data == [b'PyBox (MESSAGES 0 UIDNEXT 2)'], data
M.select('INBOX')
typ, data = M.uid('SEARCH', None, 'ALL')
assert len(data[0].split()) == 1, data
typ, data = M.uid('FETCH', data[0].split()[-1], '(BODY.PEEK[TEXT])')
assert data[0][1] == b'hello imaplib\\r\\n', data
M.close()
M.logout()
print('imaplib ok')
`;
  const r = run('python3', ['-c', py]);
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /imaplib ok/);
});

test('curl fetches a message by UID over imaps', { timeout: 60000, ...needs('curl') }, async () => {
  const c = await loggedIn(srv);
  await c.cmdLiteral('APPEND INBOX', msg('for curl', 'fetched by curl\r\n'));
  const uid = /APPENDUID \d+ (\d+)/.exec((await c.cmdLiteral('APPEND INBOX', msg('for curl 2', 'second\r\n'))).tagged)![1];
  c.close();
  const r = run('curl', ['-sS', '-k', `imaps://127.0.0.1:${srv.ports.imaps}/INBOX;UID=${uid}`, '-u', `usr1@example.test:${PASS}`]);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /Subject: for curl 2\r\n/);
  assert.match(r.stdout, /second\r\n$/);
});

test('mbsync (isync) syncs an account both ways', { timeout: 90000, ...needs('mbsync') }, async () => {
  const c = await loggedIn(srv, 'sync@example.test');
  await c.cmdLiteral('APPEND INBOX', msg('server side', 'made on the server\r\n'));
  await c.cmd('CREATE Projects');
  await c.cmdLiteral('APPEND Projects', msg('project mail'));
  const maildir = join(work, 'Mail');
  mkdirSync(maildir, { recursive: true });
  const rc = join(work, 'mbsyncrc');
  writeFileSync(rc, `IMAPAccount correo
Host 127.0.0.1
Port ${srv.ports.imaps}
User sync@example.test
Pass ${PASS}
SSLType IMAPS
CertificateFile ${join(srv.dir, 'tls', 'cert.pem')}
AuthMechs LOGIN PLAIN

IMAPStore remote
Account correo

MaildirStore local
Path ${maildir}/
Inbox ${maildir}/INBOX
SubFolders Verbatim

Channel all
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
`);
  let r = run('mbsync', ['-c', rc, '-a'], { timeout: 60000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const newDir = join(maildir, 'INBOX', 'cur');
  const files = [...readdirSync(join(maildir, 'INBOX', 'new')), ...readdirSync(newDir)];
  assert.equal(files.length, 1, files.join(','));
  const projFiles = [...readdirSync(join(maildir, 'Projects', 'new')), ...readdirSync(join(maildir, 'Projects', 'cur'))];
  assert.equal(projFiles.length, 1);
  // A message made locally goes up; a folder made locally is created on the server.
  writeFileSync(join(maildir, 'INBOX', 'new', `${Date.now()}.local1.host`), msg('local side', 'made in the maildir\r\n').replace(/\r\n/g, '\n'));
  mkdirSync(join(maildir, 'Local', 'cur'), { recursive: true });
  mkdirSync(join(maildir, 'Local', 'new'), { recursive: true });
  mkdirSync(join(maildir, 'Local', 'tmp'), { recursive: true });
  writeFileSync(join(maildir, 'Local', 'new', `${Date.now()}.local2.host`), msg('local folder').replace(/\r\n/g, '\n'));
  r = run('mbsync', ['-c', rc, '-a'], { timeout: 60000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  let s = await c.cmd('STATUS INBOX (MESSAGES)');
  assert.equal(s.untagged[0], '* STATUS INBOX (MESSAGES 2)');
  s = await c.cmd('STATUS Local (MESSAGES)');
  assert.equal(s.untagged[0], '* STATUS Local (MESSAGES 1)');
  await c.cmd('SELECT INBOX');
  const f = await c.cmd('SEARCH SUBJECT "local side"');
  assert.match(f.untagged[0], /^\* SEARCH \d+$/);
  // A flag set on the server reaches the maildir.
  await c.cmd('STORE 1 +FLAGS (\\Flagged)');
  r = run('mbsync', ['-c', rc, '-a'], { timeout: 60000 });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  const flagged = readdirSync(join(maildir, 'INBOX', 'cur')).filter((n) => /:2,[A-Z]*F/.test(n));
  assert.equal(flagged.length, 1);
  const body = readFileSync(join(maildir, 'INBOX', 'cur', flagged[0]), 'utf8');
  assert.match(body, /Subject: server side/);
  c.close();
});

test('mutt reads the INBOX (in tmux)', { timeout: 60000, ...needs('mutt', 'tmux') }, async () => {
  const c = await loggedIn(srv, 'mutt@example.test');
  await c.cmdLiteral('APPEND INBOX', msg('Greetings for mutt'));
  await c.cmdLiteral('APPEND INBOX', msg('Second one for mutt'));
  c.close();
  const rc = join(work, 'muttrc');
  writeFileSync(rc, `set folder="imaps://mutt%40example.test@127.0.0.1:${srv.ports.imaps}/"
set spoolfile="+INBOX"
set imap_pass="${PASS}"
set ssl_verify_host=no
set certificate_file="${join(work, 'mutt-certs')}"
set ssl_starttls=no
set header_cache=""
set message_cachedir=""
set sort=date
set mail_check=5
set imap_keepalive=30
set index_format="%4C %-30.30s"
`);
  const session = `correo-mutt-${process.pid}`;
  const tmux = (...a: string[]) => run('tmux', a, { timeout: 10000 });
  tmux('new-session', '-d', '-s', session, '-x', '120', '-y', '30', `TERM=xterm mutt -n -F ${rc}`);
  try {
    let screen = '';
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 200));
      screen = tmux('capture-pane', '-p', '-t', session).stdout;
      // Self-signed certificate: accept it once.
      if (/\(r\)eject, accept \(o\)nce/.test(screen)) tmux('send-keys', '-t', session, 'o');
      if (/Second one for mutt/.test(screen)) break;
    }
    assert.match(screen, /Greetings for mutt/, screen);
    assert.match(screen, /Second one for mutt/, screen);
    // Open the first message: its body shows.
    tmux('send-keys', '-t', session, 'Enter');
    for (let i = 0; i < 50 && !/Hello\./.test(screen); i++) {
      await new Promise((r) => setTimeout(r, 200));
      screen = tmux('capture-pane', '-p', '-t', session).stdout;
    }
    assert.match(screen, /Hello\./, screen);
    tmux('send-keys', '-t', session, 'q');
    tmux('send-keys', '-t', session, 'q');
  } finally {
    tmux('kill-session', '-t', session);
  }
  void spawn;
});
