import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { text } from 'node:stream/consumers';
import { backends, blobId, withStore } from './backends.js';

/**
 * Store conformance: what sessions share beyond rows. SASL secrets tied to the password they
 * came from, the user directory, the POP3 maildrop lock (RFC 1939 4), change notifications
 * for IDLE/NOOP, the queue's wake-up signal, and body files (write, read a range, delete).
 */
for (const backend of backends) {
  describe(`store conformance (${backend.name}): secrets, locks, notifications, bodies`, { timeout: 30_000, skip: backend.skip ?? false }, () => {
    test('SASL secrets: kept per scheme, replaced or added, stale (never used) once the password changes', () => withStore(backend, async (h) => {
      const { secrets, users } = h.stores;
      await h.store.createUser('usr1@example.test', 'hash-1');
      assert.equal(users.has('USR1@example.test'), true);
      assert.equal(users.has('nobody@example.test'), false);
      assert.deepEqual(await secrets.get('usr1@example.test', 'SCRAM-SHA-256'), { user: 'usr1@example.test', secret: null });
      assert.deepEqual(await secrets.get('nobody@example.test', 'SCRAM-SHA-256'), { user: null, secret: null });

      await secrets.replace('usr1@example.test', 'hash-1', { 'SCRAM-SHA-256': 's256', 'CRAM-MD5': 'cram' });
      await secrets.add('usr1@example.test', 'hash-1', { 'SCRAM-SHA-1': 's1' });
      assert.equal((await secrets.get('Usr1@example.test', 'SCRAM-SHA-256')).secret, 's256');
      assert.equal((await secrets.get('usr1@example.test', 'SCRAM-SHA-1')).secret, 's1');
      await secrets.replace('usr1@example.test', 'hash-1', { 'SCRAM-SHA-256': 'new' });
      assert.equal((await secrets.get('usr1@example.test', 'CRAM-MD5')).secret, null, 'replace drops the others');
      await secrets.add('usr1@example.test', 'an-old-hash', { 'CRAM-MD5': 'raced' });
      assert.equal((await secrets.get('usr1@example.test', 'CRAM-MD5')).secret, null, 'not written for a password that is no longer the user\'s');

      await h.reopen();
      assert.equal((await h.stores.secrets.get('usr1@example.test', 'SCRAM-SHA-256')).secret, 'new');
      await h.store.setPasswordHash('usr1@example.test', 'hash-2');
      assert.equal((await h.stores.secrets.get('usr1@example.test', 'SCRAM-SHA-256')).secret, null, 'stale after a password change');
      await h.store.deleteUser('usr1@example.test');
      assert.equal(h.stores.users.has('usr1@example.test'), false);
      assert.deepEqual(await h.stores.secrets.get('usr1@example.test', 'SCRAM-SHA-256'), { user: null, secret: null });
    }));

    test('the maildrop lock: one holder at a time, re-entrant for its holder, released only by it', () => withStore(backend, async (h) => {
      const { locks } = h.stores;
      assert.equal(await locks.acquire('maildrop:1', 'session-a'), true);
      assert.equal(await locks.acquire('maildrop:1', 'session-b'), false, 'RFC 1939 4: [IN-USE]');
      assert.equal(await locks.acquire('maildrop:1', 'session-a'), true);
      assert.equal(await locks.acquire('maildrop:2', 'session-b'), true, 'another maildrop');
      await locks.release('maildrop:1', 'session-b');
      assert.equal(await locks.acquire('maildrop:1', 'session-b'), false, 'a non-holder cannot release');
      await locks.release('maildrop:1', 'session-a');
      assert.equal(await locks.acquire('maildrop:1', 'session-b'), true);
      const both = await Promise.all([locks.acquire('maildrop:3', 'x'), locks.acquire('maildrop:3', 'y')]);
      assert.deepEqual(both.sort(), [false, true], 'two at once: exactly one gets it');
    }));

    test('change notifications reach every subscriber until it unsubscribes', () => withStore(backend, async (h) => {
      const { changes } = h.stores;
      const a: number[] = [];
      const b: number[] = [];
      const stopA = changes.subscribe((id) => a.push(id));
      const stopB = changes.subscribe((id) => b.push(id));
      changes.publish(7);
      await waitUntil(() => a.length === 1 && b.length === 1);
      stopA();
      changes.publish(8);
      await waitUntil(() => b.length === 2);
      assert.deepEqual(a, [7]);
      assert.deepEqual(b, [7, 8]);
      stopB();

      const woken: string[] = [];
      const stop = h.stores.queueSignal.onWake('remote', () => woken.push('remote'));
      h.stores.queueSignal.wake('local');
      h.stores.queueSignal.wake('remote');
      await waitUntil(() => woken.length >= 1);
      stop();
      h.stores.queueSignal.wake('remote');
      await new Promise((r) => setImmediate(r));
      assert.deepEqual(woken, ['remote'], 'only its own queue, and not after stop');
    }));

    test('bodies: written in chunks, read whole, by range and as a stream, an insert at commit, removed', () => withStore(backend, async (h) => {
      const { blobs } = h.stores;
      const id = blobId();
      const w = await blobs.create(id);
      assert.equal(w.id, id);
      await w.write([Buffer.from('Subject: x\r\n'), Buffer.from('\r\n')]);
      await w.write([Buffer.from('0123456789'.repeat(1000))]);
      // Trace fields known only at the end of DATA go in front of what was written.
      await w.commit({ at: 0, bytes: [Buffer.from('Received: by test\r\n')] });
      const whole = await blobs.read(id);
      assert.equal(whole.length, 19 + 14 + 10_000);
      assert.ok(whole.toString().startsWith('Received: by test\r\nSubject: x\r\n\r\n0123'));
      assert.equal((await blobs.read(id, whole.length)).toString(), whole.toString(), 'the size hint changes nothing');
      assert.equal((await blobs.slice(id, 19, 29)).toString(), 'Subject: x');
      assert.equal((await blobs.slice(id, whole.length - 3, whole.length + 50)).toString(), '789', 'a range past the end is cut');
      assert.equal(await text(blobs.stream(id, 33, 43)), '0123456789');
      assert.equal((await text(blobs.stream(id))).length, whole.length);
      await assert.rejects(blobs.create(id), 'an id is written once');
      await blobs.remove(id);
      await blobs.remove(id);
      await assert.rejects(blobs.read(id));
      await assert.rejects(blobs.slice(id, 0, 1));
      const free = blobs.freeBytes();
      assert.ok(free === null || free > 0);
    }));
  });
}

async function waitUntil(cond: () => boolean, timeoutMs = 2000): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > timeoutMs) throw new Error('timed out waiting for a notification');
    await new Promise((r) => setTimeout(r, 5));
  }
}
