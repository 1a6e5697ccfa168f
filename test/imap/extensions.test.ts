import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { imapServer, loggedIn, msg, type Imap } from './client.js';
import type { TestServer } from '../helpers/server.js';

/**
 * Issue 10, "Extensions the anchors have": each one in CAPABILITY and answering as its RFC says.
 * Sessions against a real server on loopback (the in-process transcript harness was not in main
 * yet when these were written).
 */

let srv: TestServer;
before(async () => {
  srv = await imapServer(['usr1@example.test', 'usr2@example.test']);
});
after(async () => {
  await srv?.stop();
});

const ok = (r: { tagged: string }) => assert.match(r.tagged, /^A\d+ OK/, r.tagged);

test('CAPABILITY after login names LIST-MYRIGHTS and OBJECTID', { timeout: 30_000 }, async () => {
  const c = await loggedIn(srv);
  try {
    const caps = (await c.cmd('CAPABILITY')).untagged.join(' ').split(' ');
    for (const x of ['LIST-MYRIGHTS', 'OBJECTID']) assert.ok(caps.includes(x), `${x} in ${caps.join(' ')}`);
  } finally {
    c.close();
  }
});

test('LIST-MYRIGHTS (RFC 8440): RETURN (MYRIGHTS) gives each listed mailbox its MYRIGHTS, own and shared', { timeout: 30_000 }, async () => {
  const owner = await loggedIn(srv, 'usr2@example.test');
  const c = await loggedIn(srv);
  try {
    ok(await owner.cmd('CREATE Team'));
    ok(await owner.cmd('SETACL Team usr1@example.test lrs'));
    const r = await c.cmd('LIST "" "*" RETURN (MYRIGHTS)');
    ok(r);
    const i = r.untagged.findIndex((l) => /^\* LIST .* INBOX$/.test(l));
    assert.equal(r.untagged[i + 1], '* MYRIGHTS INBOX lrswipkxtecda', 'right after its LIST line (RFC 8440 2)');
    const j = r.untagged.findIndex((l) => l.startsWith('* LIST') && l.endsWith('"Other Users/usr2@example.test/Team"'));
    assert.ok(j >= 0, r.untagged.join('\n'));
    assert.equal(r.untagged[j + 1], '* MYRIGHTS "Other Users/usr2@example.test/Team" lrs', 'the rights the owner granted');
    assert.equal(r.untagged.filter((l) => l.startsWith('* MYRIGHTS')).length, r.untagged.filter((l) => l.startsWith('* LIST') && !l.includes('\\Noselect')).length, 'one per selectable mailbox');
    const plain = await c.cmd('LIST "" "*"');
    assert.equal(plain.untagged.some((l) => l.startsWith('* MYRIGHTS')), false, 'only when asked');
    ok(await owner.cmd('DELETE Team'));
  } finally {
    c.close();
    owner.close();
  }
});

const objectId = (l: string | undefined, what: string) => new RegExp(`${what} \\(([A-Za-z0-9_-]{1,255})\\)`).exec(l ?? '')?.[1];

test('OBJECTID (RFC 8474): MAILBOXID kept by RENAME and new for a new mailbox; EMAILID kept by COPY and MOVE; THREADID NIL; SEARCH EMAILID', { timeout: 30_000 }, async () => {
  const c: Imap = await loggedIn(srv);
  try {
    const created = await c.cmd('CREATE Proj');
    ok(created);
    const id = objectId(created.tagged, 'MAILBOXID');
    assert.ok(id, `CREATE's OK carries [MAILBOXID (...)]: ${created.tagged}`);
    assert.equal(objectId((await c.cmd('STATUS Proj (MAILBOXID MESSAGES)')).untagged[0], 'MAILBOXID'), id, 'STATUS MAILBOXID');
    ok(await c.cmd('RENAME Proj Done'));
    assert.equal(objectId((await c.cmd('STATUS Done (MAILBOXID)')).untagged[0], 'MAILBOXID'), id, 'RENAME keeps it (4.1)');
    ok(await c.cmd('DELETE Done'));
    const again = await c.cmd('CREATE Done');
    assert.notEqual(objectId(again.tagged, 'MAILBOXID'), id, 'a new mailbox of the same name: a new id');

    ok(await c.cmdLiteral('APPEND INBOX', msg('objectid one')));
    ok(await c.cmdLiteral('APPEND INBOX', msg('objectid two')));
    const sel = await c.cmd('SELECT INBOX');
    const inboxId = objectId(sel.untagged.find((l) => l.includes('[MAILBOXID')), 'MAILBOXID');
    assert.ok(inboxId, sel.untagged.join('\n'));
    assert.equal(objectId((await c.cmd('STATUS INBOX (MAILBOXID)')).untagged[0], 'MAILBOXID'), inboxId);
    const f = await c.cmd('UID FETCH 1:* (EMAILID THREADID)');
    assert.match(f.untagged[0], /^\* 1 FETCH \(UID 1 EMAILID \([A-Za-z0-9_-]+\) THREADID NIL\)$/, f.untagged[0]);
    const [e1, e2] = f.untagged.map((l) => objectId(l, 'EMAILID'));
    assert.notEqual(e1, e2);
    ok(await c.cmd('UID COPY 1 Done'));
    ok(await c.cmd('UID MOVE 2 Done'));
    assert.deepEqual((await c.cmd(`UID SEARCH EMAILID ${e1}`)).untagged, ['* SEARCH 1']);
    assert.deepEqual((await c.cmd('UID SEARCH THREADID T1')).untagged, ['* SEARCH']);
    ok(await c.cmd('SELECT Done'));
    const moved = await c.cmd('FETCH 1:* (EMAILID)');
    assert.deepEqual(moved.untagged.map((l) => objectId(l, 'EMAILID')), [e1, e2], 'the copy and the moved message keep their EMAILID (5.1)');
    assert.match((await c.cmd('UID SEARCH EMAILID "not-ours"')).untagged[0], /^\* SEARCH$/);
  } finally {
    c.close();
  }
});
