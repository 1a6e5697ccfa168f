import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Maildrop } from '../../src/pop3/maildrop.js';
import { InProcessLocks } from '../../src/store/locks.js';
import type { Mailbox, MessageRecord } from '../../src/store/types.js';

const mailbox: Mailbox = { id: 7, userId: 1, name: 'INBOX', uidValidity: 1700000000, uidNext: 13, highestModSeq: 1, specialUse: null, subscribed: true };
const msg = (id: number, uid: number, size: number): MessageRecord => ({ id, mailboxId: 7, uid, size, internalDate: 0, flags: [], modSeq: 1, blobId: `B${id}` });

test('message numbers, STAT, deletion marks and RSET (RFC 1939 5)', () => {
  const d = new Maildrop(mailbox, [msg(100, 10, 300), msg(101, 11, 200), msg(102, 12, 50)]);
  assert.deepEqual(d.stat(), { count: 3, octets: 550 });
  assert.equal(d.get(0), null);
  assert.equal(d.get(4), null);
  assert.equal((d.get(2) as MessageRecord).id, 101);
  assert.equal(d.markDeleted(2), true);
  assert.equal(d.markDeleted(2), false, 'twice');
  assert.equal(d.markDeleted(9), false, 'no such message');
  assert.equal(d.get(2), 'deleted');
  assert.deepEqual(d.stat(), { count: 2, octets: 350 });
  assert.deepEqual([...d.live()].map(([n]) => n), [1, 3], 'numbers do not shift after DELE');
  assert.deepEqual(d.deletedIds(), [101]);
  d.reset();
  assert.deepEqual(d.deletedIds(), []);
  assert.deepEqual(d.stat(), { count: 3, octets: 550 });
});

test('UIDL ids: uidvalidity.uid, printable and at most 70 octets (RFC 1939 7)', () => {
  const d = new Maildrop(mailbox, [msg(1, 12, 1)]);
  const id = d.uniqueId(msg(1, 12, 1));
  assert.equal(id, '1700000000.12');
  assert.match(id, /^[\x21-\x7e]{1,70}$/);
});

test('maildrop locks: one owner at a time, released only by the owner', async () => {
  const l = new InProcessLocks();
  assert.equal(await l.acquire('maildrop:1', 'a'), true);
  assert.equal(await l.acquire('maildrop:1', 'a'), true, 'the owner again');
  assert.equal(await l.acquire('maildrop:1', 'b'), false);
  assert.equal(await l.acquire('maildrop:2', 'b'), true);
  await l.release('maildrop:1', 'b');
  assert.equal(await l.acquire('maildrop:1', 'c'), false, 'b cannot release a');
  await l.release('maildrop:1', 'a');
  assert.equal(await l.acquire('maildrop:1', 'b'), true);
});
