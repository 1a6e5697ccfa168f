import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseMessage } from '../../src/mime/parse.js';
import { foldSearch, indexText } from '../../src/mime/search-text.js';
import type { TextQuery } from '../../src/store/search.js';
import { backends, blobGone, blobId, eventually, userWithInbox, withStore, type Harness } from './backends.js';

/**
 * Store conformance: the full-text index (src/store/search.ts). Text goes in with the body
 * (APPEND's newBlob.text, the blob.text write op); textCandidates is a substring test on the
 * folded text that never leaves out a body without a complete entry.
 */

const has = (field: 'header' | 'body' | 'any', text: string): TextQuery => ({ k: 'contains', field, text: foldSearch(text) });

/** Appends `raw` as IMAP APPEND does: the body's MIME tree and text in the append's transaction (or none with `index: false`). */
async function append(h: Harness, mailboxId: number, raw: string, index = true) {
  const id = blobId();
  const bytes = Buffer.from(raw);
  await h.writeBlob(id, bytes);
  const tree = parseMessage(bytes);
  const [r] = await h.store.appendMany([{
    mailboxId, blobId: id, size: bytes.length, internalDate: Date.now(),
    newBlob: index ? { mime: JSON.stringify(tree), text: indexText(tree, bytes) } : { mime: null },
  }]);
  if (r instanceof Error) throw r;
  return r;
}

const MSG = (subject: string, body: string, from = 'Ana <ana@example.org>') =>
  `From: ${from}\r\nTo: usr1@example.test\r\nSubject: ${subject}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n${body}\r\n`;

for (const backend of backends) {
  describe(`store conformance (${backend.name}): full-text index`, { timeout: 30_000, skip: backend.skip ?? false }, () => {
    test('substrings of header and body text, case and accents folded, per field, AND and OR', () => withStore(backend, async (h) => {
      const { inbox } = await userWithInbox(h);
      const a = await append(h, inbox.id, MSG('Reunión de mañana', 'Traeremos los presupuestos.'));
      const b = await append(h, inbox.id, MSG('Lunch', 'See you tomorrow, mañana.', 'Bob <bob@example.net>'));
      const c = await append(h, inbox.id, MSG('Invoice', '=?utf-8?q?nothing?= here'));
      const idx = h.stores.search;
      assert.deepEqual(await idx.textCandidates(inbox.id, has('any', 'manana')), [a.uid, b.uid], '"manana" finds "mañana" in a subject and a body');
      assert.deepEqual(await idx.textCandidates(inbox.id, has('header', 'MAÑANA')), [a.uid], 'header only');
      assert.deepEqual(await idx.textCandidates(inbox.id, has('body', 'mañana')), [b.uid], 'body only');
      assert.deepEqual(await idx.textCandidates(inbox.id, has('body', 'esupuest')), [a.uid], 'a substring inside a word (IMAP SEARCH is substring matching)');
      assert.deepEqual(await idx.textCandidates(inbox.id, has('header', 'bob@example.net')), [b.uid]);
      assert.deepEqual(await idx.textCandidates(inbox.id, { k: 'and', qs: [has('any', 'mañana'), has('header', 'lunch')] }), [b.uid]);
      assert.deepEqual(await idx.textCandidates(inbox.id, { k: 'or', qs: [has('header', 'invoice'), has('body', 'tomorrow')] }), [b.uid, c.uid]);
      assert.deepEqual(await idx.textCandidates(inbox.id, has('any', 'xylophone')), [], 'nothing contains it');
      assert.deepEqual(await idx.textCandidates(inbox.id, has('any', 'a "quoted" (word)')), []);
    }));

    test('a body without an entry is a candidate of every query until blob.text indexes it', () => withStore(backend, async (h) => {
      const { inbox } = await userWithInbox(h);
      const old = await append(h, inbox.id, MSG('Old', 'stored before the index existed'), false);
      const fresh = await append(h, inbox.id, MSG('New', 'indexed at append'));
      const idx = h.stores.search;
      assert.deepEqual(await idx.textCandidates(inbox.id, has('any', 'zebra')), [old.uid], 'unindexed: always a candidate');
      assert.deepEqual((await idx.unindexedBodies(10)).map((b) => b.blobId), [old.blobId]);
      const raw = await h.readBlob(old.blobId);
      await h.stores.queue.commit({ durability: 'relaxed', parts: [{ ops: [{ op: 'blob.text', items: [[old.blobId, indexText(parseMessage(raw), raw)]] }] }] });
      assert.deepEqual(await idx.unindexedBodies(10), []);
      assert.deepEqual(await idx.textCandidates(inbox.id, has('any', 'zebra')), []);
      assert.deepEqual(await idx.textCandidates(inbox.id, has('body', 'before the index')), [old.uid]);
      assert.deepEqual(await idx.textCandidates(inbox.id, has('body', 'at append')), [fresh.uid]);
      await h.reopen();
      assert.deepEqual(await h.stores.search.textCandidates(inbox.id, has('body', 'before the index')), [old.uid], 'kept across a restart');
    }));

    test('an incomplete or failed entry keeps the body a candidate and is not indexed again', () => withStore(backend, async (h) => {
      const { inbox } = await userWithInbox(h);
      const big = await append(h, inbox.id, MSG('Big', 'x'), false);
      const broken = await append(h, inbox.id, MSG('Broken', 'y'), false);
      await h.stores.queue.commit({ durability: 'relaxed', parts: [{ ops: [{ op: 'blob.text', items: [
        [big.blobId, { header: 'SUBJECT: BIG', body: '', complete: false }], [broken.blobId, null],
      ] }] }] });
      assert.deepEqual(await h.stores.search.unindexedBodies(10), []);
      assert.deepEqual(await h.stores.search.textCandidates(inbox.id, has('any', 'anything')), [big.uid, broken.uid]);
    }));

    test('the entry goes with its body; copies share it; other mailboxes are not answered', () => withStore(backend, async (h) => {
      const { user, inbox } = await userWithInbox(h);
      const other = (await h.store.getMailbox(user.id, 'Archive'))!;
      const m = await append(h, inbox.id, MSG('Pangolin facts', 'scales'));
      const copy = await h.store.copyMessages(inbox.id, [m.uid], other.id, false);
      assert.deepEqual(await h.stores.search.textCandidates(other.id, has('any', 'pangolin')), copy.toUids, 'the copy finds the shared body');
      assert.deepEqual(await h.stores.search.textCandidates(inbox.id, has('any', 'pangolin')), [m.uid]);
      await h.store.expunge(inbox.id, [m.id]);
      await h.store.expunge(other.id, copy.records.map((r) => r.id));
      await eventually('the body collected', () => blobGone(h, m.blobId));
      const n = await append(h, inbox.id, MSG('Aardvark', 'digs'));
      assert.deepEqual(await h.stores.search.textCandidates(inbox.id, has('any', 'pangolin')), [], 'no entry outlives its body (rowids may be reused)');
      assert.deepEqual(await h.stores.search.textCandidates(inbox.id, has('any', 'aardvark')), [n.uid]);
    }));
  });
}
