import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { QuotaExceededError } from '../../src/store/types.js';
import { backends, blobGone, blobId, deliver, eventually, message, userWithInbox, withStore } from './backends.js';

/**
 * Store conformance: messages in a mailbox. UIDs (RFC 9051 2.3.1.1), flags and mod-sequences
 * (RFC 7162 3.1), expunges and the data QRESYNC answers from (RFC 7162 3.2.5), COPY/MOVE UIDs
 * (RFC 4315 UIDPLUS, RFC 6851), delivery idempotency (DESIGN.md: queue id + recipient).
 */
for (const backend of backends) {
  describe(`store conformance (${backend.name}): messages`, { timeout: 30_000, skip: backend.skip ?? false }, () => {
    test('append gives ascending UIDs and mod-sequences; list and fetch return what was stored', () => withStore(backend, async (h) => {
      const { inbox } = await userWithInbox(h);
      assert.equal(inbox.uidNext, 1);
      const a = await deliver(h, inbox.id, 'one', { flags: ['\\Seen'], internalDate: 1_700_000_000_000 });
      const b = await deliver(h, inbox.id, 'two');
      const c = await deliver(h, inbox.id, 'three', { flags: ['$Work', '\\Flagged'] });
      assert.deepEqual([a.uid, b.uid, c.uid], [1, 2, 3]);
      assert.ok(a.modSeq < b.modSeq && b.modSeq < c.modSeq, 'each append has a higher mod-sequence');
      assert.equal(a.internalDate, 1_700_000_000_000);
      assert.equal(a.size, Buffer.byteLength(message('one')));
      assert.equal(a.mailboxId, inbox.id);

      const list = await h.store.listMessages(inbox.id);
      assert.deepEqual(list.map((m) => m.uid), [1, 2, 3]);
      assert.deepEqual(list.map((m) => [...m.flags].sort()), [['\\Seen'], [], ['$Work', '\\Flagged']]);
      assert.deepEqual(list[0], a);
      const mb = (await h.store.getMailboxById(inbox.id))!;
      assert.equal(mb.uidNext, 4);
      assert.equal(mb.highestModSeq, c.modSeq);

      assert.match((await h.readBlob(b.blobId)).toString(), /^Subject: two$/m);
      assert.equal((await h.sliceBlob(b.blobId, 0, 5)).toString(), 'From:');
      const st = await h.store.mailboxStatus(inbox.id);
      assert.deepEqual(st, { messages: 3, unseen: 2, deleted: 0, size: a.size + b.size + c.size });
    }));

    test('the same idempotency key twice stores one message (a redelivery after a crash)', () => withStore(backend, async (h) => {
      const { inbox } = await userWithInbox(h);
      const first = await deliver(h, inbox.id, 'once', { key: 'Q1:usr1@example.test' });
      const id = blobId();
      await h.writeBlob(id, message('once'));
      const again = await h.store.appendMany([
        { mailboxId: inbox.id, blobId: id, size: 10, internalDate: Date.now(), idempotencyKey: 'Q1:usr1@example.test' },
        { mailboxId: inbox.id, blobId: id, size: 10, internalDate: Date.now(), idempotencyKey: 'Q1:usr1@example.test' },
      ]);
      assert.deepEqual(again, [first, first], 'the first record, twice');
      await h.reopen();
      const third = await h.store.appendMany([{ mailboxId: inbox.id, blobId: id, size: 10, internalDate: Date.now(), idempotencyKey: 'Q1:usr1@example.test' }]);
      assert.deepEqual(third, [first], 'also after a restart');
      assert.equal((await h.store.listMessages(inbox.id)).length, 1);
    }));

    test('a UID is never given twice, even after the last message is expunged and the store reopens', () => withStore(backend, async (h) => {
      const { inbox } = await userWithInbox(h);
      await deliver(h, inbox.id, 'one');
      const two = await deliver(h, inbox.id, 'two');
      assert.deepEqual(await h.store.expungeUids(inbox.id, [two.uid]), [2]);
      await h.reopen();
      const three = await deliver(h, inbox.id, 'three');
      assert.equal(three.uid, 3);
    }));

    test('flags: add, remove and set bump the mod-sequence of changed messages only; UNCHANGEDSINCE reports the modified', () => withStore(backend, async (h) => {
      const { inbox } = await userWithInbox(h);
      await deliver(h, inbox.id, 'one');
      const m2 = await deliver(h, inbox.id, 'two', { flags: ['\\Seen'] });
      const m3 = await deliver(h, inbox.id, 'three');

      const add = await h.store.updateFlags(inbox.id, [1, 2], 'add', ['\\Seen']);
      assert.deepEqual(add.changed.map((m) => m.uid), [1], 'UID 2 had \\Seen already: no change, no new mod-sequence');
      assert.deepEqual(add.modified, []);
      const ms1 = add.changed[0].modSeq;
      assert.ok(ms1 > m3.modSeq);
      assert.equal((await h.store.getMailboxById(inbox.id))!.highestModSeq, ms1);

      const set = await h.store.updateFlags(inbox.id, [3], 'set', ['$A', '$B', '$A']);
      assert.deepEqual(set.changed[0].flags.slice().sort(), ['$A', '$B'], 'set keeps each flag once');
      const rem = await h.store.updateFlags(inbox.id, [1, 2, 3], 'remove', ['\\Seen', '$A']);
      assert.deepEqual(rem.changed.map((m) => m.uid), [1, 2, 3]);
      assert.ok(rem.changed.every((m) => m.modSeq === rem.changed[0].modSeq && m.modSeq > set.changed[0].modSeq));

      // RFC 7162 3.1.3: both changed after m2's mod-sequence, so they are reported, not changed.
      const cond = await h.store.updateFlags(inbox.id, [1, 2], 'add', ['\\Answered'], m2.modSeq);
      assert.deepEqual(cond, { changed: [], modified: [1, 2] });
      const now = await h.store.listMessages(inbox.id);
      assert.deepEqual(now.map((m) => [...m.flags].sort()), [[], [], ['$B']], 'nothing changed under a failed UNCHANGEDSINCE');

      const fresh = await h.store.updateFlags(inbox.id, [3], 'add', ['\\Deleted'], (await h.store.getMailboxById(inbox.id))!.highestModSeq);
      assert.deepEqual(fresh.changed.map((m) => m.uid), [3], 'UNCHANGEDSINCE = current mod-sequence succeeds');
      assert.equal((await h.store.mailboxStatus(inbox.id)).deleted, 1);
      await h.reopen();
      assert.deepEqual((await h.store.listMessages(inbox.id))[2].flags.slice().sort(), ['$B', '\\Deleted'], 'flags are stored');
    }));

    test('changesSince: flag changes and appends after a mod-sequence, and the UIDs expunged after it (QRESYNC)', () => withStore(backend, async (h) => {
      const { inbox } = await userWithInbox(h);
      for (const s of ['a', 'b', 'c', 'd']) await deliver(h, inbox.id, s);
      const known = (await h.store.getMailboxById(inbox.id))!.highestModSeq;
      await h.store.updateFlags(inbox.id, [2], 'add', ['\\Seen']);
      assert.deepEqual(await h.store.expungeUids(inbox.id, [3, 4, 99]), [3, 4], 'UIDs not there are skipped');
      await deliver(h, inbox.id, 'e');

      const ch = await h.store.changesSince(inbox.id, known);
      assert.deepEqual(ch.messages.map((m) => m.uid), [2, 5]);
      assert.deepEqual(ch.expunged, [3, 4]);
      assert.equal(ch.highestModSeq, (await h.store.getMailboxById(inbox.id))!.highestModSeq);
      assert.ok(ch.highestModSeq > known);
      const none = await h.store.changesSince(inbox.id, ch.highestModSeq);
      assert.deepEqual([none.messages, none.expunged], [[], []]);
      const all = await h.store.changesSince(inbox.id, 0);
      assert.deepEqual(all.messages.map((m) => m.uid), [1, 2, 5]);

      // expunge() by message id records the same data.
      const before = ch.highestModSeq;
      const one = (await h.store.listMessages(inbox.id))[0];
      await h.store.expunge(inbox.id, [one.id]);
      assert.deepEqual((await h.store.changesSince(inbox.id, before)).expunged, [1]);
    }));

    test('copy gives new UIDs in the order asked and keeps flags; move also expunges the source', () => withStore(backend, async (h) => {
      const { user, inbox } = await userWithInbox(h);
      const dest = await h.store.createMailbox(user.id, 'Dest');
      for (const s of ['a', 'b', 'c']) await deliver(h, inbox.id, s, { flags: s === 'b' ? ['\\Flagged'] : [] });
      await deliver(h, dest.id, 'already there');

      const copy = await h.store.copyMessages(inbox.id, [3, 1, 2, 42], dest.id, false);
      assert.equal(copy.uidValidity, dest.uidValidity);
      assert.deepEqual(copy.fromUids, [3, 1, 2]);
      assert.deepEqual(copy.toUids, [2, 3, 4]);
      assert.deepEqual(copy.records.map((r) => r.uid), [2, 3, 4]);
      const d = await h.store.listMessages(dest.id);
      assert.deepEqual(d.map((m) => m.flags), [[], [], [], ['\\Flagged']]);
      assert.equal((await h.store.listMessages(inbox.id)).length, 3, 'COPY leaves the source');

      const known = (await h.store.getMailboxById(inbox.id))!.highestModSeq;
      const move = await h.store.copyMessages(inbox.id, [2], dest.id, true);
      assert.deepEqual([move.fromUids, move.toUids], [[2], [5]]);
      assert.deepEqual((await h.store.listMessages(inbox.id)).map((m) => m.uid), [1, 3]);
      assert.deepEqual((await h.store.changesSince(inbox.id, known)).expunged, [2], 'MOVE is seen as an expunge by QRESYNC clients');
      assert.match((await h.readBlob(move.records[0].blobId)).toString(), /Subject: b/);
    }));

    test('a body shared by several messages stays until the last one goes, then is collected', () => withStore(backend, async (h) => {
      const { user, inbox } = await userWithInbox(h);
      const other = await h.store.createMailbox(user.id, 'Other');
      const m = await deliver(h, inbox.id, 'shared');
      await h.store.copyMessages(inbox.id, [m.uid], other.id, false);
      await h.store.expungeUids(inbox.id, [m.uid]);
      await h.reopen();
      assert.match((await h.readBlob(m.blobId)).toString(), /Subject: shared/, 'the copy still has its body');
      await h.store.expungeUids(other.id, [1]);
      await eventually('the body collected', () => blobGone(h, m.blobId));
    }));

    test('appendMany: one refused message does not stop the others; appendAtomic stores all or none', () => withStore(backend, async (h) => {
      const { user, inbox } = await userWithInbox(h);
      await h.store.setQuota(user.id, null, 2);
      const ids = [blobId(), blobId(), blobId()];
      for (const id of ids) await h.writeBlob(id, message(id));
      const req = (id: string) => ({ mailboxId: inbox.id, blobId: id, size: 20, internalDate: Date.now(), newBlob: { mime: null } });
      const res = await h.store.appendMany(ids.map(req));
      assert.ok(!(res[0] instanceof Error) && !(res[1] instanceof Error));
      assert.ok(res[2] instanceof QuotaExceededError, 'the third is over the MESSAGE limit');
      assert.equal(res[2].resource, 'MESSAGE');
      assert.equal((await h.store.listMessages(inbox.id)).length, 2);

      await h.store.setQuota(user.id, null, 3);
      await assert.rejects(h.store.appendAtomic([req(blobId()), req(blobId())]), QuotaExceededError);
      assert.equal((await h.store.listMessages(inbox.id)).length, 2, 'MULTIAPPEND over quota appends none (RFC 3502)');
      const both = await h.store.appendAtomic([req(ids[2])]);
      assert.equal(both[0].uid, 3);
    }));
  });
}
