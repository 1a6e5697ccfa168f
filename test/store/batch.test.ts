import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { AppendOutcome, WriteBatch } from '../../src/store/batch.js';
import { QuotaExceededError } from '../../src/store/types.js';
import { backends, blobGone, blobId, eventually, message, userWithInbox, withStore, type Harness } from './backends.js';

/**
 * Store conformance: the write batch (DESIGN.md: "append and mark delivered" is one commit on
 * any backend). Parts are all or nothing; a `mayFail` part fails alone; batches committed
 * together never undo each other; and a crash between writing a body and committing its
 * record leaves nothing visible, while a redelivery after a crash stores nothing twice.
 */

async function queued(h: Harness, rcpts: string[]): Promise<{ id: string; size: number }> {
  const id = blobId();
  const body = message(`batch ${id}`);
  await h.writeBlob(id, body);
  const size = Buffer.byteLength(body);
  const r = await h.stores.queue.commit({ durability: 'full', parts: [{ ops: [{
    op: 'queue.insert', id, sender: 'a@example.org', envelope: '{}', via: 'smtp', size, traceSkip: 0, created: Date.now(),
    recipients: rcpts.map((rcpt) => ({ rcpt, orcpt: null, notify: null })),
  }] }] });
  assert.ok(r.parts[0].ok);
  return { id, size };
}

const deliverLocal = (queueId: string, mailboxId: number, size: number, doneAnyway = false): WriteBatch => ({
  durability: 'full',
  parts: [{ ops: [
    { op: 'queue.deliverLocal', queueId, rcpt: 'usr1@example.test', doneAnyway,
      appends: [{ user: 'usr1@example.test', mailboxId, blobId: queueId, size, internalDate: Date.now(), idempotencyKey: `${queueId}:usr1@example.test` }] },
    { op: 'queue.finish', queueIds: [queueId] },
  ] }],
});

for (const backend of backends) {
  describe(`store conformance (${backend.name}): write batches and crashes`, { timeout: 30_000, skip: backend.skip ?? false }, () => {
    test('append and "delivered" commit together: the message is in the mailbox and the entry is gone, in one batch', () => withStore(backend, async (h) => {
      const { inbox } = await userWithInbox(h);
      const { id, size } = await queued(h, ['usr1@example.test']);
      const r = await h.stores.queue.commit(deliverLocal(id, inbox.id, size));
      assert.ok(r.parts[0].ok);
      const [outcome] = (r.parts[0] as { results: unknown[] }).results[0] as AppendOutcome[];
      assert.ok(outcome.ok);
      assert.equal(outcome.record.uid, 1);
      await h.reopen();
      assert.equal(await h.stores.queue.entry(id), null);
      assert.deepEqual((await h.store.listMessages(inbox.id)).map((m) => m.blobId), [id]);
    }));

    test('a redelivery of the same queue entry (after a crash before "finish") stores nothing twice', () => withStore(backend, async (h) => {
      const { inbox } = await userWithInbox(h);
      const { id, size } = await queued(h, ['usr1@example.test']);
      const first: WriteBatch = { durability: 'full', parts: [{ ops: [deliverLocal(id, inbox.id, size).parts[0].ops[0]] }] };
      const a = await h.stores.queue.commit(first);
      await h.reopen();
      // The recipient is done, but a runner that crashed before knowing it would deliver again:
      await h.stores.queue.commit({ durability: 'full', parts: [{ ops: [{ op: 'rcpt.status', queueId: id, rcpt: 'usr1@example.test', status: 'pending', from: null }] }] });
      const b = await h.stores.queue.commit(deliverLocal(id, inbox.id, size));
      const rec = (r: typeof a) => ((r.parts[0] as { results: unknown[] }).results[0] as AppendOutcome[])[0];
      assert.deepEqual(rec(b), rec(a), 'the first record, not a new one');
      assert.equal((await h.store.listMessages(inbox.id)).length, 1);
      assert.equal((await h.store.getQuota((await h.store.getUser('usr1@example.test'))!.id)).messages, 1, 'usage counted once');
      assert.equal(await h.stores.queue.entry(id), null);
    }));

    test('over quota: the delivery part fails alone (mayFail), the rest of the batch commits', () => withStore(backend, async (h) => {
      const { user, inbox } = await userWithInbox(h);
      await h.store.setQuota(user.id, null, 0);
      const { id, size } = await queued(h, ['usr1@example.test']);
      const r = await h.stores.queue.commit({
        durability: 'full',
        parts: [
          { ops: [{ op: 'message.append', req: { mailboxId: inbox.id, blobId: id, size, internalDate: Date.now() } }], mayFail: true },
          { ops: [{ op: 'stats.add', counts: [['test.after', 1]] }] },
        ],
      });
      assert.equal(r.parts[0].ok, false);
      assert.ok(!r.parts[0].ok && r.parts[0].error instanceof QuotaExceededError, 'the error keeps its class across the writer');
      assert.ok(r.parts[1].ok);
      assert.equal((await h.stores.queue.stats()).get('test.after'), 1);
      assert.deepEqual(await h.store.listMessages(inbox.id), []);

      // deliverLocal reports the quota per append and leaves the recipient pending (not done).
      const d = await h.stores.queue.commit(deliverLocal(id, inbox.id, size));
      const [outcome] = (d.parts[0] as { results: unknown[] }).results[0] as AppendOutcome[];
      assert.ok(!outcome.ok && outcome.error instanceof QuotaExceededError);
      assert.equal((await h.stores.queue.recipients(id))[0].status, 'pending');
      assert.ok(await h.stores.queue.entry(id), 'not finished: still queued');
    }));

    test('a failing part without mayFail undoes its whole batch, and only that batch of those committed together', () => withStore(backend, async (h) => {
      const { user, inbox } = await userWithInbox(h);
      await h.store.setQuota(user.id, null, 0);
      const bad: WriteBatch = { durability: 'full', parts: [
        { ops: [{ op: 'stats.add', counts: [['test.bad', 1]] }] },
        { ops: [{ op: 'message.append', req: { mailboxId: inbox.id, blobId: blobId(), size: 1, internalDate: 0 } }] },
      ] };
      const good: WriteBatch = { durability: 'full', parts: [{ ops: [{ op: 'stats.add', counts: [['test.good', 1]] }] }] };
      const [rb, rg] = await Promise.allSettled([h.stores.queue.commit(bad), h.stores.queue.commit(good)]);
      assert.ok(rb.status === 'rejected' || rb.value.parts.some((p) => !p.ok), 'the bad batch fails');
      assert.equal(rg.status, 'fulfilled');
      const s = await h.stores.queue.stats();
      assert.equal(s.get('test.good'), 1);
      assert.equal(s.get('test.bad'), undefined, 'nothing of the failed batch stays');
    }));

    test('a body written without its record (a crash before the commit) is not visible, and a restart collects it', () => withStore(backend, async (h) => {
      const { inbox } = await userWithInbox(h);
      const orphan = blobId();
      await h.writeBlob(orphan, message('never queued'));
      assert.deepEqual(await h.stores.queue.entries(), []);
      assert.deepEqual(await h.store.listMessages(inbox.id), []);
      const { id } = await queued(h, ['usr1@example.test']);
      await h.reopen();
      assert.deepEqual((await h.stores.queue.entries()).map((e) => e.id), [id], 'the orphan body made no entry');
      assert.match((await h.readBlob(id)).toString(), /batch/, 'a queued body stays');
      await eventually('the orphan body collected after the restart', () => blobGone(h, orphan));
      assert.match((await h.readBlob(id)).toString(), /batch/, 'and the queued one is still there');
    }));

    test('an aborted body leaves nothing, and its id can be written again', () => withStore(backend, async (h) => {
      const id = blobId();
      const w = await h.stores.blobs.create(id);
      await w.write([Buffer.from('half a mess')]);
      await w.abort();
      await w.abort();
      assert.ok(await blobGone(h, id));
      const again = await h.stores.blobs.create(id);
      await again.write([Buffer.from('whole')]);
      await again.commit();
      assert.equal((await h.readBlob(id)).toString(), 'whole', 'the id is usable again after an abort');
    }));
  });
}
