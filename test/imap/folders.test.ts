import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { imapServer, loggedIn, msg } from './client.js';
import type { TestServer } from '../helpers/server.js';

// Issue 10 items 1, 2, 4 and 7: what the folder list shows after CREATE, RENAME and DELETE
// (RFC 9051 6.3.4-6.3.9, RFC 5258), and mailbox names holding "[".

let srv: TestServer;
before(async () => {
  srv = await imapServer(['usr1@example.test', 'usr2@example.test']);
});
after(async () => {
  await srv?.stop();
});

test('issue 10.1: CREATE does not subscribe; DELETE and RENAME leave no name behind in LIST or LSUB', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    // The default folders of a new account stay subscribed.
    let r = await c.cmd('LSUB "" "*"');
    assert.deepEqual(r.untagged.map((l) => l.split(' ').pop()), ['INBOX', 'Archive', 'Drafts', 'Junk', 'Sent', 'Trash']);
    assert.match((await c.cmd('CREATE Probe')).tagged, /OK/);
    r = await c.cmd('LSUB "" "Probe*"');
    assert.deepEqual(r.untagged, [], 'CREATE subscribed the new mailbox');
    assert.match((await c.cmd('DELETE Probe')).tagged, /OK/);
    r = await c.cmd('LIST "" "*"');
    assert.equal(r.untagged.some((l) => l.includes('Probe')), false, r.untagged.join('\n'));

    // A subscribed folder deleted: neither LIST nor LSUB name it any more.
    await c.cmd('CREATE Gone');
    await c.cmd('SUBSCRIBE Gone');
    assert.match((await c.cmd('DELETE Gone')).tagged, /OK/);
    r = await c.cmd('LIST "" "*"');
    assert.equal(r.untagged.some((l) => l.includes('Gone')), false, r.untagged.join('\n'));
    r = await c.cmd('LSUB "" "*"');
    assert.equal(r.untagged.some((l) => l.includes('Gone')), false, r.untagged.join('\n'));

    // RENAME moves the subscriptions of the folder and of its children.
    await c.cmd('CREATE Old/Kid');
    await c.cmd('SUBSCRIBE Old');
    await c.cmd('SUBSCRIBE Old/Kid');
    assert.match((await c.cmd('RENAME Old New')).tagged, /OK/);
    r = await c.cmd('LSUB "" "*"');
    const lsub = r.untagged.map((l) => l.split(' ').pop());
    assert.ok(lsub.includes('New') && lsub.includes('New/Kid'), r.untagged.join('\n'));
    assert.equal(lsub.some((n) => n!.startsWith('Old')), false, r.untagged.join('\n'));
    r = await c.cmd('LIST "" "*"');
    assert.equal(r.untagged.some((l) => l.includes('Old') || l.includes('NonExistent')), false, r.untagged.join('\n'));
  } finally {
    c.close();
  }
});

test('issue 10.1: a plain LIST "" "*" never answers \\NonExistent names; LIST (SUBSCRIBED) still may', { timeout: 30000 }, async () => {
  const owner = await loggedIn(srv, 'usr2@example.test');
  const c = await loggedIn(srv);
  try {
    await owner.cmd('CREATE Shared');
    await owner.cmd('SETACL Shared usr1@example.test lr');
    assert.match((await c.cmd('SUBSCRIBE "Other Users/usr2@example.test/Shared"')).tagged, /OK/);
    // The owner deletes it: usr1's subscription is theirs to keep (RFC 9051 6.3.7), but it names nothing.
    assert.match((await owner.cmd('DELETE Shared')).tagged, /OK/);
    let r = await c.cmd('LIST "" "*"');
    assert.equal(r.untagged.some((l) => l.includes('Shared') || l.includes('NonExistent')), false, r.untagged.join('\n'));
    r = await c.cmd('LIST (SUBSCRIBED) "" "Other Users/*"');
    assert.deepEqual(r.untagged, ['* LIST (\\NonExistent \\HasNoChildren \\Subscribed) "/" "Other Users/usr2@example.test/Shared"']);
    await c.cmd('UNSUBSCRIBE "Other Users/usr2@example.test/Shared"');
  } finally {
    c.close();
    owner.close();
  }
});

test('issue 10.2: RENAME carries the inferiors (A/Sub becomes B/Sub, messages and all)', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    await c.cmd('CREATE A/Sub/Deep');
    await c.cmd('SUBSCRIBE A/Sub');
    assert.match((await c.cmd('RENAME A B')).tagged, /OK/);
    const r = await c.cmd('LIST "" "*"');
    const names = r.untagged.map((l) => l.split(' ').pop());
    assert.ok(names.includes('B') && names.includes('B/Sub') && names.includes('B/Sub/Deep'), r.untagged.join('\n'));
    assert.equal(names.some((n) => n === 'A' || n!.startsWith('A/')), false, r.untagged.join('\n'));
    assert.match((await c.cmd('SELECT B/Sub')).tagged, /OK/);
    assert.match((await c.cmd('SELECT A/Sub')).tagged, /NO \[NONEXISTENT\]/);
  } finally {
    c.close();
  }
});

test('issue 10.4: "[" is an atom character outside BODY[...] (CREATE, SELECT, LIST, RENAME, DELETE a[b)', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    assert.match((await c.cmd('CREATE a[b')).tagged, /^A\d+ OK/);
    assert.match((await c.cmd('SELECT a[b')).tagged, /^A\d+ OK/);
    let r = await c.cmd('LIST "" a[b');
    assert.deepEqual(r.untagged, ['* LIST (\\HasNoChildren) "/" "a[b"']);
    r = await c.cmd('LIST "" a[*');
    assert.deepEqual(r.untagged, ['* LIST (\\HasNoChildren) "/" "a[b"']);
    await c.cmd('UNSELECT');
    assert.match((await c.cmd('RENAME a[b x[y]z')).tagged, /^A\d+ OK/);
    assert.match((await c.cmd('DELETE x[y]z')).tagged, /^A\d+ OK/);
    // BODY[...] still takes spaces and parentheses inside its brackets, and "]" alone is refused in an atom.
    await c.cmdLiteral('APPEND INBOX', msg('brackets'));
    await c.cmd('SELECT INBOX');
    r = await c.cmd('FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT FROM)])');
    assert.match(r.tagged, /^A\d+ OK/);
    r = await c.cmd('FETCH 1 (BODY.PEEK[HEADER');
    assert.match(r.tagged, /^A\d+ BAD/);
  } finally {
    c.close();
  }
});

test('issue 10.7: LIST-EXTENDED: RECURSIVEMATCH with only REMOTE is BAD; CHILDINFO also when the parent matches', { timeout: 30000 }, async () => {
  const c = await loggedIn(srv);
  try {
    let r = await c.cmd('LIST (RECURSIVEMATCH REMOTE) "" ""');
    assert.match(r.tagged, /^A\d+ BAD/);
    r = await c.cmd('LIST (RECURSIVEMATCH REMOTE) "" "*"');
    assert.match(r.tagged, /^A\d+ BAD/);
    r = await c.cmd('LIST (RECURSIVEMATCH) "" "*"');
    assert.match(r.tagged, /^A\d+ BAD/);
    await c.cmd('CREATE Tree/Leaf');
    await c.cmd('SUBSCRIBE Tree');
    await c.cmd('SUBSCRIBE Tree/Leaf');
    // RFC 5258 3.5: CHILDINFO whenever a child matches, whether or not the parent itself does.
    r = await c.cmd('LIST (SUBSCRIBED RECURSIVEMATCH) "" "Tree"');
    assert.deepEqual(r.untagged, ['* LIST (\\HasChildren \\Subscribed) "/" Tree ("CHILDINFO" ("SUBSCRIBED"))']);
    r = await c.cmd('LIST (SUBSCRIBED RECURSIVEMATCH REMOTE) "" "Tree"');
    assert.deepEqual(r.untagged, ['* LIST (\\HasChildren \\Subscribed) "/" Tree ("CHILDINFO" ("SUBSCRIBED"))']);
    // Without RECURSIVEMATCH, no CHILDINFO.
    r = await c.cmd('LIST (SUBSCRIBED) "" "Tree"');
    assert.deepEqual(r.untagged, ['* LIST (\\HasChildren \\Subscribed) "/" Tree']);
  } finally {
    c.close();
  }
});
