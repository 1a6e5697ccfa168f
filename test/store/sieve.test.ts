import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { backends, withStore } from './backends.js';
import { SieveStoreError } from '../../src/store/sieve.js';

const QUOTA = { maxScriptSize: 100, maxScripts: 3 };

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof SieveStoreError, `a SieveStoreError, not ${(e as Error).stack}`);
    return e.code;
  }
  return 'no error';
}

/**
 * Store conformance: users' Sieve scripts as ManageSieve (RFC 5804) manages them (one active
 * script, quotas checked in the writer, the RFC's response codes as error codes), and the
 * durable memory of Sieve at delivery (vacation :days per sender).
 */
for (const backend of backends) {
  describe(`store conformance (${backend.name}): sieve scripts and memory`, { timeout: 30_000, skip: backend.skip ?? false }, () => {
    test('scripts: put, list, get, one active, rename, delete; the RFC 5804 codes', () => withStore(backend, async (h) => {
      const { sieve } = h.stores;
      await h.store.createUser('usr1@example.test', 'hash');
      assert.deepEqual(await sieve.list('usr1@example.test'), []);
      assert.equal(await sieve.active('usr1@example.test'), null);
      await sieve.put('usr1@example.test', 'vacation', 'keep;\r\n', QUOTA);
      await sieve.put('USR1@example.test', 'spam', 'discard;', QUOTA);
      await sieve.setActive('usr1@example.test', 'vacation');
      assert.deepEqual(await sieve.list('usr1@example.test'), [
        { name: 'spam', active: false, size: 8 }, { name: 'vacation', active: true, size: 7 },
      ]);
      assert.deepEqual(await sieve.active('usr1@example.test'), { name: 'vacation', text: 'keep;\r\n' });
      await sieve.setActive('usr1@example.test', 'spam');
      assert.deepEqual((await sieve.list('usr1@example.test')).filter((s) => s.active).map((s) => s.name), ['spam'], 'only one active');
      // Replacing the active script keeps it active (RFC 5804 2.6).
      await sieve.put('usr1@example.test', 'spam', 'stop;', QUOTA);
      assert.deepEqual(await sieve.active('usr1@example.test'), { name: 'spam', text: 'stop;' });
      assert.equal(await code(sieve.delete('usr1@example.test', 'spam')), 'ACTIVE');
      assert.equal(await code(sieve.delete('usr1@example.test', 'nope')), 'NONEXISTENT');
      assert.equal(await code(sieve.setActive('usr1@example.test', 'nope')), 'NONEXISTENT');
      assert.equal(await code(sieve.rename('usr1@example.test', 'spam', 'vacation')), 'ALREADYEXISTS');
      assert.equal(await code(sieve.rename('usr1@example.test', 'nope', 'x')), 'NONEXISTENT');
      await sieve.rename('usr1@example.test', 'spam', 'filters');
      assert.deepEqual(await sieve.active('usr1@example.test'), { name: 'filters', text: 'stop;' }, 'the active mark moves with the name');
      assert.equal(await sieve.get('usr1@example.test', 'spam'), null);
      await sieve.setActive('usr1@example.test', null);
      assert.equal(await sieve.active('usr1@example.test'), null);
      await sieve.delete('usr1@example.test', 'filters');
      assert.deepEqual((await sieve.list('usr1@example.test')).map((s) => s.name), ['vacation']);
      assert.equal(await code(sieve.put('nobody@example.test', 'x', 'keep;', QUOTA)), 'NOUSER');

      await h.reopen();
      assert.equal(await h.stores.sieve.get('usr1@example.test', 'vacation'), 'keep;\r\n', 'durable');
    }));

    test('quotas: script size and number of scripts, at upload and for HAVESPACE', () => withStore(backend, async (h) => {
      const { sieve } = h.stores;
      await h.store.createUser('usr1@example.test', 'hash');
      assert.equal(await sieve.haveSpace('usr1@example.test', 'a', 101, QUOTA), 'QUOTA/MAXSIZE');
      assert.equal(await code(sieve.put('usr1@example.test', 'a', 'x'.repeat(101), QUOTA)), 'QUOTA/MAXSIZE');
      // Octets, not characters: 34 three-octet characters are 102 octets.
      assert.equal(await code(sieve.put('usr1@example.test', 'a', '€'.repeat(34), QUOTA)), 'QUOTA/MAXSIZE');
      for (const n of ['a', 'b', 'c']) await sieve.put('usr1@example.test', n, 'keep;', QUOTA);
      assert.equal(await sieve.haveSpace('usr1@example.test', 'd', 5, QUOTA), 'QUOTA/MAXSCRIPTS');
      assert.equal(await sieve.haveSpace('usr1@example.test', 'a', 100, QUOTA), null, 'replacing a script needs no new slot');
      assert.equal(await code(sieve.put('usr1@example.test', 'd', 'keep;', QUOTA)), 'QUOTA/MAXSCRIPTS');
      await sieve.put('usr1@example.test', 'a', 'x'.repeat(100), QUOTA);
      // Two uploads at once cannot both take the last slot.
      await sieve.delete('usr1@example.test', 'c');
      const both = await Promise.allSettled([sieve.put('usr1@example.test', 'e', 'keep;', QUOTA), sieve.put('usr1@example.test', 'f', 'keep;', QUOTA)]);
      assert.deepEqual(both.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
      assert.equal((await sieve.list('usr1@example.test')).length, 3);
    }));

    test('memory: remembered until it expires, per user, in a delivery batch; gone with the user', () => withStore(backend, async (h) => {
      const { sieve, queue } = h.stores;
      await h.store.createUser('usr1@example.test', 'hash');
      await h.store.createUser('usr2@example.test', 'hash');
      const now = Date.now();
      const r = await queue.commit({ durability: 'full', parts: [{ ops: [{ op: 'sieve.remember', user: 'usr1@example.test', key: 'vacation:h:a@example.org', expires: now + 1000, now }] }] });
      assert.ok(r.parts[0].ok);
      assert.equal(await sieve.remembered('usr1@example.test', 'vacation:h:a@example.org', now), true);
      assert.equal(await sieve.remembered('usr1@example.test', 'vacation:h:a@example.org', now + 1000), false, 'expired');
      assert.equal(await sieve.remembered('usr2@example.test', 'vacation:h:a@example.org', now), false, 'per user');
      // A part that fails rolls its memory back with it: no reply remembered without its delivery.
      const failed = await queue.commit({ durability: 'full', parts: [{ mayFail: true, ops: [
        { op: 'sieve.remember', user: 'usr2@example.test', key: 'k', expires: now + 1000, now },
        { op: 'sieve.activate', user: 'usr2@example.test', name: 'missing' },
      ] }] });
      assert.equal(failed.parts[0].ok, false);
      assert.equal(await sieve.remembered('usr2@example.test', 'k', now), false);
      await h.reopen();
      assert.equal(await h.stores.sieve.remembered('usr1@example.test', 'vacation:h:a@example.org', now), true, 'durable');
      await h.store.deleteUser('usr1@example.test');
      await h.store.createUser('usr1@example.test', 'hash');
      assert.equal(await h.stores.sieve.remembered('usr1@example.test', 'vacation:h:a@example.org', now), false);
      assert.deepEqual(await h.stores.sieve.list('usr1@example.test'), []);
    }));
  });
}
