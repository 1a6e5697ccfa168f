import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { imapServer, loggedIn, msg, PASS } from './client.js';
import type { TestServer } from '../helpers/server.js';
import { needs } from '../helpers/peers.js';

let srv: TestServer;
before(async () => {
  srv = await imapServer(['usr1@example.test', 'usr2@example.test', 'admin@example.test']);
});
after(async () => {
  await srv?.stop();
});

test('ACL: a shared folder appears under Other Users and allows exactly its rights', { timeout: 30000 }, async () => {
  const owner = await loggedIn(srv, 'usr1@example.test');
  const guest = await loggedIn(srv, 'usr2@example.test');
  try {
    await owner.cmd('CREATE Team');
    await owner.cmdLiteral('APPEND Team', msg('team note'));
    // Before sharing, the guest cannot even learn it exists.
    let r = await guest.cmd('SELECT "Other Users/usr1@example.test/Team"');
    assert.match(r.tagged, /NO \[NONEXISTENT\]/);
    r = await owner.cmd('SETACL Team usr2 lr');
    assert.match(r.tagged, /OK/);
    r = await owner.cmd('GETACL Team');
    assert.equal(r.untagged[0], '* ACL Team usr1@example.test lrswipkxtecda usr2@example.test lr');
    r = await guest.cmd('LIST "" "Other Users/*"');
    assert.ok(r.untagged.includes('* LIST (\\HasNoChildren) "/" "Other Users/usr1@example.test/Team"'), r.untagged.join('\n'));
    r = await guest.cmd('MYRIGHTS "Other Users/usr1@example.test/Team"');
    assert.equal(r.untagged[0], '* MYRIGHTS "Other Users/usr1@example.test/Team" lr');
    r = await guest.cmd('SELECT "Other Users/usr1@example.test/Team"');
    assert.match(r.tagged, /OK \[READ-ONLY\]/);
    r = await guest.cmd('FETCH 1 BODY.PEEK[HEADER.FIELDS (SUBJECT)]');
    assert.match(r.untagged[0], /Subject: team note/);
    r = await guest.cmd('STORE 1 +FLAGS (\\Seen)');
    assert.match(r.tagged, /NO/);
    assert.match((await guest.cmdLiteral('APPEND "Other Users/usr1@example.test/Team"', msg('x'))).tagged, /NO \[NOPERM\]/);
    r = await guest.cmd('GETACL "Other Users/usr1@example.test/Team"');
    assert.match(r.tagged, /NO \[NOPERM\]/);
    r = await guest.cmd('DELETE "Other Users/usr1@example.test/Team"');
    assert.match(r.tagged, /NO \[NOPERM\]/);
    // Other mailboxes of the owner stay invisible.
    r = await guest.cmd('STATUS "Other Users/usr1@example.test/INBOX" (MESSAGES)');
    assert.match(r.tagged, /NO \[NONEXISTENT\]/);
    // Granting "i" allows APPEND; the owner sees it.
    await owner.cmd('SETACL Team usr2@example.test +i');
    assert.match((await guest.cmdLiteral('APPEND "Other Users/usr1@example.test/Team"', msg('from guest'))).tagged, /OK \[APPENDUID/);
    r = await owner.cmd('STATUS Team (MESSAGES)');
    assert.equal(r.untagged[0], '* STATUS Team (MESSAGES 2)');
    r = await owner.cmd('LISTRIGHTS Team usr2');
    assert.match(r.untagged[0], /^\* LISTRIGHTS Team usr2 "" l r s w i p k x t e c d a$/);
    await owner.cmd('DELETEACL Team usr2');
    r = await guest.cmd('LIST "" "Other Users/*"');
    assert.deepEqual(r.untagged, []);
  } finally {
    owner.close();
    guest.close();
  }
});

test('QUOTA: admin sets it, the user reads it, APPEND and SMTP delivery over it fail without loss', { timeout: 60000, ...needs('swaks') }, async () => {
  const admin = await loggedIn(srv, 'admin@example.test');
  const u = await loggedIn(srv, 'usr2@example.test');
  try {
    let r = await u.cmd('SETQUOTA user.usr2@example.test (MESSAGE 2)');
    assert.match(r.tagged, /NO \[NOPERM\]/);
    r = await admin.cmd('SETQUOTA user.usr2@example.test (MESSAGE 2 STORAGE 100)');
    assert.match(r.tagged, /OK/);
    r = await u.cmd('GETQUOTAROOT INBOX');
    assert.deepEqual(r.untagged, ['* QUOTAROOT INBOX user.usr2@example.test', '* QUOTA user.usr2@example.test (STORAGE 0 100 MESSAGE 0 2)']);
    assert.match((await u.cmdLiteral('APPEND INBOX', msg('q1'))).tagged, /OK/);
    assert.match((await u.cmdLiteral('APPEND Sent', msg('q2'))).tagged, /OK/);
    assert.match((await u.cmdLiteral('APPEND INBOX', msg('q3'))).tagged, /NO \[OVERQUOTA\]/);
    r = await u.cmd('GETQUOTA user.usr2@example.test');
    assert.match(r.untagged[0], /MESSAGE 2 2\)$/);
    // SMTP delivery to the full mailbox: refused or bounced to the sender, never dropped.
    const sw = spawnSync('swaks', ['--server', `127.0.0.1:${srv.ports.smtp}`, '--to', 'usr2@example.test', '--from', 'usr1@example.test',
      '--header', 'Subject: over-quota', '--body', 'x'], { encoding: 'utf8', timeout: 20000 });
    const refused = /\n<~?\*{2} 5\d\d/.test(sw.stdout);
    if (!refused) {
      assert.equal(sw.status, 0, sw.stdout);
      const s1 = await loggedIn(srv, 'usr1@example.test');
      let bounced = false;
      for (let i = 0; i < 50 && !bounced; i++) {
        await s1.cmd('SELECT INBOX');
        const f = await s1.cmd('SEARCH TEXT "over-quota"');
        bounced = /^\* SEARCH \d/.test(f.untagged.find((l) => l.startsWith('* SEARCH')) ?? '');
        if (!bounced) await new Promise((res) => setTimeout(res, 100));
      }
      s1.close();
      assert.ok(bounced, 'the sender got a DSN');
    }
    r = await u.cmd('STATUS INBOX (MESSAGES)');
    assert.equal(r.untagged[0], '* STATUS INBOX (MESSAGES 1)');
    // Removing the limits lets mail in again.
    await admin.cmd('SETQUOTA user.usr2@example.test ()');
    assert.match((await u.cmdLiteral('APPEND INBOX', msg('q4'))).tagged, /OK/);
  } finally {
    admin.close();
    u.close();
  }
});

test('admins reach any user with Cyrus names: user.NAME and user.NAME/sub', { timeout: 30000 }, async () => {
  const admin = await loggedIn(srv, 'admin@example.test');
  const plain = await loggedIn(srv, 'usr2@example.test');
  try {
    let r = await admin.cmd('CREATE user.usr1/Reports');
    assert.match(r.tagged, /OK/);
    const u1 = await loggedIn(srv, 'usr1@example.test');
    r = await u1.cmd('LIST "" Reports');
    assert.deepEqual(r.untagged, ['* LIST (\\HasNoChildren) "/" Reports']);
    u1.close();
    r = await admin.cmd('GETACL user.usr1');
    assert.equal(r.untagged[0], '* ACL user.usr1 usr1@example.test lrswipkxtecda');
    r = await admin.cmd('LIST "" "user.usr1*"');
    assert.ok(r.untagged.some((l) => l.endsWith('"/" user.usr1@example.test')), r.untagged.join('\n'));
    assert.ok(r.untagged.some((l) => l.endsWith('"/" user.usr1@example.test/Reports')));
    // Not for ordinary users: "user.usr1" is just a name in their own tree.
    r = await plain.cmd('GETACL user.usr1');
    assert.match(r.tagged, /NO \[NONEXISTENT\]/);
    r = await plain.cmd('DELETE user.usr1');
    assert.match(r.tagged, /NO/);
  } finally {
    admin.close();
    plain.close();
  }
});

/** Runs cyradm with the admin password then `commands`, one per line; resolves with its output. */
function cyradm(commands: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn('cyradm', ['--user', 'admin@example.test', '--auth', 'PLAIN', '--port', String(srv.ports.imap), '127.0.0.1'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let sent = false;
    const onOutput = (d: Buffer) => {
      out += d;
      // cyradm reads the password before its command loop: the commands go once it prompts
      // ("127.0.0.1> "); written earlier, a slow start (a busy machine) would lose them.
      if (!sent && /> $/.test(out)) {
        sent = true;
        p.stdin.end(commands.join('\n') + '\n');
      }
    };
    p.stdout.on('data', onOutput);
    p.stderr.on('data', onOutput);
    const t = setTimeout(() => {
      p.kill('SIGKILL');
      reject(new Error(`cyradm timed out:\n${out}`));
    }, 45000);
    p.on('exit', () => {
      clearTimeout(t);
      resolve(out);
    });
    p.stdin.on('error', () => undefined); // cyradm may exit before reading everything
    p.stdin.write(`${PASS}\n`);
  });
}

test('cyradm: cm user.usr3, lam user.usr1, sam, sq, lq, dm', { timeout: 60000, ...needs('cyradm') }, async () => {
  const out = await cyradm(['cm user.usr3', 'lam user.usr1', 'sam user.usr1 usr3 lrs', 'lam user.usr1', 'sq user.usr1 STORAGE 1000', 'lq user.usr1', 'lm user.usr3*', 'dm user.usr3', 'lm user.usr3*']);
  assert.doesNotMatch(out, /cannot|error|failed/i, out);
  assert.match(out, /^usr1@example\.test lrswipkxtecda\s*$/m, out);
  assert.match(out, /^usr3@example\.test lrs\s*$/m, out);
  assert.match(out, /STORAGE \d+\/1000/, out);
  // usr3 existed between cm and dm (listed once), and not after.
  assert.equal((out.match(/user\.usr3@example\.test \(/g) ?? []).length, 1, out);
  const list = await srv.cli(['user', 'list']);
  assert.doesNotMatch(list.stdout, /usr3/);
  const q = await loggedIn(srv, 'admin@example.test');
  const r = await q.cmd('GETQUOTA user.usr1');
  assert.match(r.untagged[0], /^\* QUOTA user\.usr1 \(STORAGE \d+ 1000\)$/);
  q.close();
});
