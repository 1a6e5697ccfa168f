import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { imapServer, loggedIn, msg } from './client.js';
import type { TestServer } from '../helpers/server.js';

let srv: TestServer;
before(async () => {
  srv = await imapServer(['usr1@example.test', 'usr2@example.test']);
});
after(async () => {
  await srv?.stop();
});

test('new users have INBOX, Drafts, Sent, Trash, Junk, Archive with SPECIAL-USE', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv, 'usr2@example.test');
  try {
    const r = await c.cmd('LIST "" "*"');
    assert.deepEqual(r.untagged, [
      '* LIST (\\HasNoChildren) "/" INBOX',
      '* LIST (\\HasNoChildren \\Archive) "/" Archive',
      '* LIST (\\HasNoChildren \\Drafts) "/" Drafts',
      '* LIST (\\HasNoChildren \\Junk) "/" Junk',
      '* LIST (\\HasNoChildren \\Sent) "/" Sent',
      '* LIST (\\HasNoChildren \\Trash) "/" Trash',
    ]);
    const d = await c.cmd('LIST "" ""');
    assert.deepEqual(d.untagged, ['* LIST (\\Noselect) "/" ""']);
    const su = await c.cmd('LIST (SPECIAL-USE) "" "*"');
    assert.equal(su.untagged.length, 5);
  } finally {
    c.close();
  }
});

test('CREATE (with superiors and USE), LIST % and *, CHILDREN, DELETE, RENAME with children', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    let r = await c.cmd('CREATE Projects/2026/Q1');
    assert.match(r.tagged, /OK/);
    r = await c.cmd('CREATE Projects/2026/Q1');
    assert.match(r.tagged, /NO \[ALREADYEXISTS\]/);
    r = await c.cmd('CREATE "Important" (USE (\\Flagged))');
    assert.match(r.tagged, /OK/);
    r = await c.cmd('CREATE Weird (USE (\\Nonsense))');
    assert.match(r.tagged, /NO \[USEATTR\]/);
    r = await c.cmd('LIST "" "Projects/%"');
    assert.deepEqual(r.untagged, ['* LIST (\\HasChildren) "/" Projects/2026']);
    r = await c.cmd('LIST "Projects/" "*"');
    assert.deepEqual(r.untagged, ['* LIST (\\HasChildren) "/" Projects/2026', '* LIST (\\HasNoChildren) "/" Projects/2026/Q1']);
    r = await c.cmd('LIST "" Important');
    assert.deepEqual(r.untagged, ['* LIST (\\HasNoChildren \\Flagged) "/" Important']);
    r = await c.cmd('RENAME Projects Work');
    assert.match(r.tagged, /OK/);
    r = await c.cmd('LIST "" "Work*"');
    assert.deepEqual(r.untagged, ['* LIST (\\HasChildren) "/" Work', '* LIST (\\HasChildren) "/" Work/2026', '* LIST (\\HasNoChildren) "/" Work/2026/Q1']);
    r = await c.cmd('RENAME Work Work/inside');
    assert.match(r.tagged, /NO/);
    r = await c.cmd('DELETE Work/2026');
    assert.match(r.tagged, /OK/);
    r = await c.cmd('LIST "" "Work/%"');
    assert.deepEqual(r.untagged, ['* LIST (\\Noselect \\HasChildren) "/" Work/2026']);
    r = await c.cmd('DELETE INBOX');
    assert.match(r.tagged, /NO/);
    r = await c.cmd('DELETE Nothing');
    assert.match(r.tagged, /NO \[NONEXISTENT\]/);
  } finally {
    c.close();
  }
});

test('bad names cannot escape: "..", empty levels, control characters, invalid modified UTF-7', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    for (const name of ['"a/../b"', '".."', '"a//b"', '"/abs"', '{3}\r\na\x01b', '"&Jjo!"', '"x&AGE-"', '"Other Users/usr2@example.test/INBOX/x"', '"caf\xe9"']) {
      const r = name.startsWith('{') ? await c.cmdLiteral('CREATE', 'a\x01b') : await c.cmd(`CREATE ${name}`);
      assert.match(r.tagged, /^A\d+ (NO|BAD)/, name);
    }
    const r = await c.cmd('LIST "" "*"');
    assert.equal(r.untagged.some((l) => /\.\.|\x01|&Jjo|Other Users/.test(l)), false, r.untagged.join('\n'));
    // usr2 sees nothing of it.
    const c2 = await loggedIn(srv, 'usr2@example.test');
    const r2 = await c2.cmd('LIST "" "*"');
    assert.equal(r2.untagged.length, 6);
    c2.close();
  } finally {
    c.close();
  }
});

test('international names: modified UTF-7 by default, UTF-8 after ENABLE UTF8=ACCEPT', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    let r = await c.cmd('CREATE "Entw&APw-rfe"');
    assert.match(r.tagged, /OK/);
    r = await c.cmd('LIST "" "Entw*"');
    assert.deepEqual(r.untagged, ['* LIST (\\HasNoChildren) "/" Entw&APw-rfe']);
    r = await c.cmd('ENABLE UTF8=ACCEPT');
    r = await c.cmd('LIST "" "Entw*"');
    assert.deepEqual(r.untagged, ['* LIST (\\HasNoChildren) "/" "Entwürfe"'.replace('ü', '\xc3\xbc')]);
  } finally {
    c.close();
  }
});

test('RENAME INBOX moves its messages and leaves INBOX empty (RFC 9051 6.3.6)', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv, 'usr2@example.test');
  try {
    await c.cmdLiteral('APPEND INBOX', msg('one'));
    await c.cmdLiteral('APPEND INBOX', msg('two'));
    let r = await c.cmd('RENAME INBOX Old-Inbox');
    assert.match(r.tagged, /OK/);
    r = await c.cmd('STATUS INBOX (MESSAGES)');
    assert.equal(r.untagged[0], '* STATUS INBOX (MESSAGES 0)');
    r = await c.cmd('STATUS Old-Inbox (MESSAGES UIDNEXT)');
    assert.equal(r.untagged[0], '* STATUS Old-Inbox (MESSAGES 2 UIDNEXT 3)');
  } finally {
    c.close();
  }
});

test('SUBSCRIBE, UNSUBSCRIBE, LSUB, LIST (SUBSCRIBED) with RECURSIVEMATCH', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    await c.cmd('CREATE Lists/alpha');
    await c.cmd('UNSUBSCRIBE Lists');
    await c.cmd('UNSUBSCRIBE Lists/alpha');
    let r = await c.cmd('LSUB "" "Lists*"');
    assert.deepEqual(r.untagged, []);
    r = await c.cmd('SUBSCRIBE Lists/alpha');
    assert.match(r.tagged, /OK/);
    r = await c.cmd('LSUB "" "Lists*"');
    assert.deepEqual(r.untagged, ['* LSUB () "/" Lists/alpha']);
    r = await c.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" "Lists%"');
    assert.deepEqual(r.untagged, ['* LIST (\\HasChildren) "/" Lists ("CHILDINFO" ("SUBSCRIBED"))']);
    r = await c.cmd('UNSUBSCRIBE Lists/alpha');
    assert.match(r.tagged, /OK/);
    r = await c.cmd('LSUB "" "Lists*"');
    assert.deepEqual(r.untagged, []);
    // A DELETE takes the subscription along (issue 10.1; \\NonExistent: test/imap/folders.test.ts).
    await c.cmd('SUBSCRIBE Lists/alpha');
    await c.cmd('DELETE Lists/alpha');
    r = await c.cmd('LIST (SUBSCRIBED) "" "Lists/*"');
    assert.deepEqual(r.untagged, []);
  } finally {
    c.close();
  }
});

test('STATUS items and LIST-STATUS', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    await c.cmd('CREATE Stat');
    const m = msg('stat');
    await c.cmdLiteral('APPEND Stat (\\Seen)', m);
    await c.cmdLiteral('APPEND Stat (\\Deleted)', m);
    let r = await c.cmd('STATUS Stat (MESSAGES UIDNEXT UNSEEN DELETED SIZE RECENT APPENDLIMIT)');
    assert.equal(r.untagged[0], `* STATUS Stat (MESSAGES 2 UIDNEXT 3 UNSEEN 1 DELETED 1 SIZE ${2 * Buffer.byteLength(m)} RECENT 0 APPENDLIMIT 52428800)`);
    r = await c.cmd('STATUS Stat (HIGHESTMODSEQ UIDVALIDITY)');
    assert.match(r.untagged[0], /^\* STATUS Stat \(HIGHESTMODSEQ \d+ UIDVALIDITY \d+\)$/);
    r = await c.cmd('LIST "" Stat RETURN (STATUS (MESSAGES UNSEEN))');
    assert.deepEqual(r.untagged, ['* LIST (\\HasNoChildren) "/" Stat', '* STATUS Stat (MESSAGES 2 UNSEEN 1)']);
    r = await c.cmd('STATUS Nope (MESSAGES)');
    assert.match(r.tagged, /NO \[NONEXISTENT\]/);
    r = await c.cmd('STATUS Stat (BOGUS)');
    assert.match(r.tagged, /BAD/);
  } finally {
    c.close();
  }
});

test('SELECT/EXAMINE responses, CLOSE expunges silently, UNSELECT does not', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    await c.cmd('CREATE Sel');
    await c.cmdLiteral('APPEND Sel (\\Deleted)', msg('a'));
    await c.cmdLiteral('APPEND Sel', msg('b'));
    let r = await c.cmd('EXAMINE Sel');
    assert.ok(r.untagged.includes('* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)'));
    assert.ok(r.untagged.includes('* OK [PERMANENTFLAGS ()] read-only'));
    assert.ok(r.untagged.includes('* 2 EXISTS'));
    assert.ok(r.untagged.includes('* OK [UNSEEN 1] first unseen message'));
    assert.match(r.tagged, /OK \[READ-ONLY\]/);
    r = await c.cmd('STORE 1 +FLAGS (\\Seen)');
    assert.match(r.tagged, /NO/);
    r = await c.cmd('UNSELECT');
    assert.match(r.tagged, /OK/);
    r = await c.cmd('STATUS Sel (MESSAGES)');
    assert.equal(r.untagged[0], '* STATUS Sel (MESSAGES 2)');
    r = await c.cmd('SELECT Sel (CONDSTORE)');
    assert.ok(r.untagged.some((l) => /^\* OK \[HIGHESTMODSEQ \d+\]/.test(l)));
    assert.ok(r.untagged.includes('* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] flags and keywords'));
    r = await c.cmd('CLOSE');
    assert.deepEqual(r.untagged, []);
    r = await c.cmd('STATUS Sel (MESSAGES)');
    assert.equal(r.untagged[0], '* STATUS Sel (MESSAGES 1)');
    r = await c.cmd('SELECT NoSuch');
    assert.match(r.tagged, /NO \[NONEXISTENT\]/);
    r = await c.cmd('FETCH 1 FLAGS');
    assert.match(r.tagged, /BAD/);
  } finally {
    c.close();
  }
});
