/**
 * RFC 1939 6: deletions take effect in UPDATE state, entered by QUIT only; a dropped
 * connection or an idle timeout deletes nothing. RFC 1939 4: the maildrop is locked, so a
 * second session gets -ERR [IN-USE] (RFC 2449 8.1.2) until the first one ends, however it ends.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.js';
import { deliver, python, simpleMessage, RawClient } from './helpers.js';
import { needs } from '../helpers/peers.js';

let server: TestServer;

before(async () => {
  // A short idle timer so that the timeout case runs in seconds (the default is RFC 1939's 10 minutes).
  server = await startServer({ toml: '[pop3]\nidle_timeout = 2\n' });
  await server.addUser('usr1@example.test', 'secret1');
  for (const s of ['one', 'two', 'three']) await deliver(server, 'usr1@example.test', simpleMessage(s));
});

after(async () => {
  await server?.stop();
});

const SUBJECTS = `
def subjects(p):
    n = p.stat()[0]
    res = []
    for i in range(1, n + 1):
        hdr = p.top(i, 0)[1]
        res.append([h.decode()[9:] for h in hdr if h.startswith(b'Subject: ')][0])
    return res
`;

test('a dropped connection deletes nothing', { timeout: 60000, ...needs('python3') }, async () => {
  const r = await python(server, SUBJECTS + `
p = login()
p.dele(1)
p.dele(2)
p.close()          # no QUIT: poplib closes its file and socket
for attempt in range(100):
    try:
        q = login(); break
    except poplib.error_proto as e:
        if 'IN-USE' not in err(e): raise
        time.sleep(0.05)     # the server has not seen the close yet
s = subjects(q)
q.quit()
out({'subjects': s})
`);
  assert.deepEqual(r.subjects, ['one', 'two', 'three']);
  assert.match(server.readLog(), /logout: user=usr1@example\.test, retr=0, top=\d+, dele=2, size=0, expunged=0, left=3, reason=disconnected/);
});

test('DELE marks in the session, RSET unmarks, QUIT removes', { timeout: 60000, ...needs('python3') }, async () => {
  const r = await python(server, SUBJECTS + `
p = login()
p.dele(2)
stat_after_dele = list(p.stat())
try:
    p.retr(2); retr = 'ok'
except poplib.error_proto as e:
    retr = err(e)
try:
    p.dele(2); dele_again = 'ok'
except poplib.error_proto as e:
    dele_again = err(e)
listing = [l.decode().split()[0] for l in p.list()[1]]
p.rset()
stat_after_rset = p.stat()[0]
p.dele(2)
bye = p.quit().decode()
q = login()
s = subjects(q)
q.quit()
out({'statAfterDele': stat_after_dele[0], 'retr': retr, 'deleAgain': dele_again, 'listing': listing,
     'statAfterRset': stat_after_rset, 'bye': bye, 'subjects': s})
`);
  assert.equal(r.statAfterDele, 2);
  assert.equal(r.retr, '-ERR Message 2 is deleted');
  assert.equal(r.deleAgain, '-ERR Message 2 is deleted');
  assert.deepEqual(r.listing, ['1', '3'], 'numbers do not shift');
  assert.equal(r.statAfterRset, 3);
  assert.equal(r.bye, '+OK mail.example.test Correo POP3 server signing off (2 messages left)');
  assert.deepEqual(r.subjects, ['one', 'three']);
  assert.match(server.readLog(), /logout: user=usr1@example\.test, .*dele=1, .*expunged=1, left=2, reason=quit/);
});

test('a second session gets [IN-USE] until the first QUITs', { timeout: 60000, ...needs('python3') }, async () => {
  const r = await python(server, `
p = login()
try:
    login('tls'); second = 'ok'
except poplib.error_proto as e:
    second = err(e)
p.quit()
q = login('tls')
n = q.stat()[0]
q.quit()
out({'second': second, 'afterQuit': n})
`);
  assert.equal(r.second, '-ERR [IN-USE] Mailbox locked by another session');
  assert.equal(r.afterQuit, 2);
});

test('an idle timeout closes with -ERR, deletes nothing, and releases the lock', { timeout: 60000, ...needs('python3') }, async () => {
  const c = await RawClient.connect(server.ports.pop3s, { tls: true });
  try {
    assert.match(await c.line(), /^\+OK /);
    assert.match(await c.cmd('USER usr1@example.test'), /^\+OK/);
    assert.match(await c.cmd('PASS secret1'), /^\+OK Maildrop has 2 messages/);
    assert.equal(await c.cmd('DELE 1'), '+OK Message 1 deleted');
    const started = Date.now();
    assert.equal(await c.line(6000), '-ERR Idle timeout, closing connection');
    assert.ok(await c.waitClosed(5000), 'closed after the timeout');
    assert.ok(Date.now() - started >= 1500, 'not before the configured 2 s');
  } finally {
    c.destroy();
  }
  const r = await python(server, `
q = login()
n = q.stat()[0]
q.quit()
out({'n': n})
`);
  assert.equal(r.n, 2, 'nothing deleted, and the lock is free');
});
