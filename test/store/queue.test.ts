import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { WriteOp } from '../../src/store/batch.js';
import { backends, blobGone, blobId, message, userWithInbox, withStore, type Harness } from './backends.js';

/**
 * Store conformance: the mail queue. Entries and recipients, due recipients (oldest first,
 * held ones never, a per-domain share for remote ones), status changes guarded by the status
 * they come from (how a runner claims a recipient: only one claim wins), retries, the one
 * "delayed" DSN mark, finishing an entry (its body goes unless a mailbox holds it) and stats.
 */

/** One op in a batch of its own; its result, or its error thrown. */
async function one<T = unknown>(h: Harness, op: WriteOp): Promise<T> {
  const r = (await h.stores.queue.commit({ durability: 'full', parts: [{ ops: [op] }] })).parts[0];
  if (!r.ok) throw r.error;
  return r.results[0] as T;
}

/** A queued message (body written first, as the spool does) with these recipients. */
async function enqueue(h: Harness, rcpts: string[], o: { created?: number; sender?: string } = {}): Promise<string> {
  const id = blobId();
  const body = message(`queued ${id}`);
  await h.writeBlob(id, body);
  await one(h, {
    op: 'queue.insert', id, sender: o.sender ?? 'a@example.org', envelope: JSON.stringify({ id }), via: 'smtp',
    size: Buffer.byteLength(body), traceSkip: 0, created: o.created ?? Date.now(), recipients: rcpts.map((rcpt) => ({ rcpt, orcpt: null, notify: null })),
  });
  return id;
}

for (const backend of backends) {
  describe(`store conformance (${backend.name}): queue`, { timeout: 30_000, skip: backend.skip ?? false }, () => {
    test('an entry: its fields, its recipients pending, the received counters; listed oldest first', () => withStore(backend, async (h) => {
      const q = h.stores.queue;
      const late = await enqueue(h, ['b@example.test', 'a@example.test'], { created: 2000 });
      const early = await enqueue(h, ['c@example.test'], { created: 1000, sender: '' });
      const e = (await q.entry(late))!;
      assert.deepEqual({ ...e, size: 0 }, { id: late, blobId: late, sender: 'a@example.org', envelope: JSON.stringify({ id: late }), size: 0, traceSkip: 0, created: 2000, held: false });
      assert.equal((await q.entry(early))!.sender, '', 'the null reverse-path');
      assert.equal(await q.entry('NOSUCH'), null);
      assert.deepEqual((await q.entries()).map((x) => x.id), [early, late]);
      const r = await q.recipients(late);
      assert.deepEqual(r.map((x) => [x.rcpt, x.status, x.attempts, x.lastError]), [['a@example.test', 'pending', 0, null], ['b@example.test', 'pending', 0, null]]);
      const stats = await q.stats();
      assert.equal(stats.get('received.smtp.msgs'), 2);
      assert.equal(stats.get('received.smtp.bytes'), e.size + (await q.entry(early))!.size);
      await h.reopen();
      assert.deepEqual((await h.stores.queue.entries()).map((x) => x.id), [early, late], 'durable');
    }));

    test('due pending recipients: oldest first, up to the limit, none of a held entry, none not yet due', () => withStore(backend, async (h) => {
      const q = h.stores.queue;
      const a = await enqueue(h, ['x@example.test', 'y@example.test'], { created: 1000 });
      const b = await enqueue(h, ['z@example.test'], { created: 2000 });
      const c = await enqueue(h, ['w@example.test'], { created: 3000 });
      assert.deepEqual((await q.duePending(Date.now(), 10)).map((d) => [d.queueId, d.rcpt]), [[a, 'x@example.test'], [a, 'y@example.test'], [b, 'z@example.test'], [c, 'w@example.test']]);
      assert.equal((await q.duePending(Date.now(), 2)).length, 2);
      const d = (await q.duePending(Date.now(), 10))[0];
      assert.equal(d.blobId, a);
      assert.equal(d.sender, 'a@example.org');

      assert.equal(await one(h, { op: 'queue.hold', id: b, held: true }), true);
      assert.equal(await one(h, { op: 'queue.hold', id: 'NOSUCH', held: true }), false);
      assert.equal((await q.entry(b))!.held, true);
      const now = Date.now();
      await one(h, { op: 'rcpt.defer', queueId: c, rcpt: 'w@example.test', status: 'pending', next: now + 60_000, lastError: '452 mailbox busy' });
      assert.deepEqual((await q.duePending(now, 10)).map((x) => x.queueId), [a, a], 'held and deferred ones wait');
      assert.equal(await q.nextAttempt('pending', now), now + 60_000, 'the held entry does not count');
      const w = (await q.recipients(c))[0];
      assert.deepEqual([w.attempts, w.nextAttempt, w.lastError], [1, now + 60_000, '452 mailbox busy']);
      await one(h, { op: 'queue.hold', id: b, held: false });
      await one(h, { op: 'rcpt.retryAt', queueId: null, rcpt: null, status: ['pending'], next: 0 });
      assert.equal((await q.duePending(now, 10)).length, 4, 'released, and a flush makes all due now');
    }));

    test('a status change names the status it comes from: of two claims of one recipient, one wins', () => withStore(backend, async (h) => {
      const id = await enqueue(h, ['r@remote.test']);
      const claim = (): WriteOp => ({ op: 'rcpt.status', queueId: id, rcpt: 'r@remote.test', status: 'remote', from: ['pending'] });
      const [x, y] = await Promise.all([one<boolean>(h, claim()), one<boolean>(h, claim())]);
      assert.deepEqual([x, y].sort(), [false, true]);
      assert.equal((await h.stores.queue.duePending(Date.now(), 10)).length, 0);
      const due = await h.stores.queue.dueRemote(Date.now(), 10, 10);
      assert.deepEqual(due.map((d) => d.rcpt), ['r@remote.test']);

      const done: WriteOp = { op: 'rcpt.status', queueId: id, rcpt: 'r@remote.test', status: 'done', from: ['remote'], attempt: true, lastError: null };
      assert.equal(await one(h, done), true);
      assert.equal(await one(h, done), false, 'a second "done" (a duplicate worker) changes nothing');
      assert.deepEqual((await h.stores.queue.recipients(id)).map((r) => [r.status, r.attempts]), [['done', 1]]);
      // A deferral only applies while the recipient is still in the status named.
      await one(h, { op: 'rcpt.defer', queueId: id, rcpt: 'r@remote.test', status: 'remote', next: 5, lastError: 'late' });
      assert.equal((await h.stores.queue.recipients(id))[0].lastError, null);
    }));

    test('due remote recipients: a share per destination domain, so one backlog does not hide the others', () => withStore(backend, async (h) => {
      let t = 1000;
      const toRemote = async (rcpt: string) => {
        const id = await enqueue(h, [rcpt], { created: t++ });
        await one(h, { op: 'rcpt.status', queueId: id, rcpt, status: 'remote', from: ['pending'] });
      };
      for (let i = 0; i < 5; i++) await toRemote(`u${i}@slow.test`);
      await toRemote('v@other.test');
      const due = await h.stores.queue.dueRemote(Date.now(), 2, 10);
      assert.deepEqual(due.map((d) => d.rcpt), ['u0@slow.test', 'u1@slow.test', 'v@other.test']);
      assert.equal((await h.stores.queue.dueRemote(Date.now(), 10, 4)).length, 4);
    }));

    test('retries: a deferral counts an attempt and sets the next; the "delayed" mark is given once', () => withStore(backend, async (h) => {
      const id = await enqueue(h, ['r@remote.test']);
      await one(h, { op: 'rcpt.status', queueId: id, rcpt: 'r@remote.test', status: 'remote', from: ['pending'] });
      const now = Date.now();
      for (let i = 1; i <= 3; i++) {
        await one(h, { op: 'rcpt.defer', queueId: id, rcpt: 'r@remote.test', status: 'remote', next: now + i * 1000, lastError: `try ${i}` });
      }
      const [r] = await h.stores.queue.recipients(id);
      assert.deepEqual([r.attempts, r.nextAttempt, r.lastError], [3, now + 3000, 'try 3']);
      assert.deepEqual(await h.stores.queue.dueRemote(now, 10, 10), []);
      assert.equal(await h.stores.queue.nextAttempt('remote', now), now + 3000);
      assert.equal((await h.stores.queue.dueRemote(now + 3000, 10, 10)).length, 1);
      assert.equal(await one(h, { op: 'rcpt.warned', queueId: id, rcpt: 'r@remote.test' }), true);
      await h.reopen();
      assert.equal(await one(h, { op: 'rcpt.warned', queueId: id, rcpt: 'r@remote.test' }), false, 'once, across restarts');
    }));

    test('recipients added later (alias expansion) and upgraded from one status only', () => withStore(backend, async (h) => {
      const id = await enqueue(h, ['list@example.test']);
      await one(h, { op: 'rcpt.add', queueId: id, rcpt: 'm1@remote.test', orcpt: 'rfc822;list@example.test', notify: 'FAILURE', status: 'remote', upgradeFrom: 'pending' });
      await one(h, { op: 'rcpt.add', queueId: id, rcpt: 'list@example.test', orcpt: null, notify: null, status: 'done', upgradeFrom: 'pending' });
      await one(h, { op: 'rcpt.add', queueId: id, rcpt: 'list@example.test', orcpt: null, notify: null, status: 'remote', upgradeFrom: 'pending' });
      const rs = await h.stores.queue.recipients(id);
      assert.deepEqual(rs.map((r) => [r.rcpt, r.status, r.orcpt, r.notify]), [['list@example.test', 'done', null, null], ['m1@remote.test', 'remote', 'rfc822;list@example.test', 'FAILURE']]);
    }));

    test('finish removes an entry only with nothing left to do; its body goes unless a mailbox holds it', () => withStore(backend, async (h) => {
      const { inbox } = await userWithInbox(h);
      const kept = await enqueue(h, ['usr1@example.test']);
      const dropped = await enqueue(h, ['gone@remote.test', 'other@remote.test']);
      const size = (await h.stores.queue.entry(kept))!.size;
      const [out] = await one<{ ok: boolean }[]>(h, {
        op: 'queue.deliverLocal', queueId: kept, rcpt: 'usr1@example.test', doneAnyway: false,
        appends: [{ user: 'usr1@example.test', mailboxId: inbox.id, blobId: kept, size, internalDate: Date.now(), idempotencyKey: `${kept}:usr1@example.test` }],
      });
      assert.equal(out.ok, true);
      await one(h, { op: 'rcpt.status', queueId: dropped, rcpt: 'gone@remote.test', status: 'failed', from: ['pending'] });
      await one(h, { op: 'queue.finish', queueIds: [kept, dropped] });
      assert.equal(await h.stores.queue.entry(kept), null, 'delivered: gone from the queue');
      assert.ok(await h.stores.queue.entry(dropped), 'one recipient still pending: stays');
      assert.match((await h.readBlob(kept)).toString(), /queued/, 'the mailbox copy keeps the body');

      await one(h, { op: 'rcpt.status', queueId: dropped, rcpt: 'other@remote.test', status: 'done', from: ['pending'] });
      await one(h, { op: 'queue.finish', queueIds: [dropped] });
      assert.equal(await h.stores.queue.entry(dropped), null);
      assert.ok(await blobGone(h, dropped), 'no one holds it: the body goes');

      const del = await enqueue(h, ['x@remote.test']);
      assert.equal(await one(h, { op: 'queue.delete', id: del }), true);
      assert.equal(await one(h, { op: 'queue.delete', id: del }), false);
      assert.ok(await blobGone(h, del), 'correo queue delete takes the body too');
    }));

    test('stats add up, across restarts', () => withStore(backend, async (h) => {
      await one(h, { op: 'stats.add', counts: [['delivered.smtp.msgs', 2], ['delivered.smtp.bytes', 100]] });
      await one(h, { op: 'stats.add', counts: [['delivered.smtp.msgs', 1], ['delivered.smtp.bytes', 0]] });
      await h.reopen();
      const s = await h.stores.queue.stats();
      assert.equal(s.get('delivered.smtp.msgs'), 3);
      assert.equal(s.get('delivered.smtp.bytes'), 100);
    }));
  });
}
