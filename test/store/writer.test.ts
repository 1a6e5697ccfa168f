import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openStore } from '../../src/store/open.js';
import { ThreadWriter } from '../../src/store/sqlite/writer-thread.js';
import { QuotaExceededError } from '../../src/store/types.js';
import type { WriteBatch } from '../../src/store/batch.js';

/**
 * The SQLite writer thread (store/sqlite/writer-thread.ts): batches cross the thread as data
 * and come back with their results and errors (typed), parts fail alone, batches submitted
 * together share commits, and the thread dying is reported, never a silent stall.
 */

function fresh(): string {
  return mkdtempSync(join(tmpdir(), 'correo-writer-'));
}

test('a batch on the writer thread: results come back, a mayFail part fails alone with its typed error', { timeout: 30_000 }, async () => {
  const dir = fresh();
  const stores = openStore({ dataDir: dir, writer: 'thread' });
  try {
    const u = await stores.mailboxes.createUser('usr@example.test', 'x');
    await stores.mailboxes.setQuota(u.id, null, 1);
    const inbox = (await stores.mailboxes.getMailbox(u.id, 'INBOX'))!;
    const append = (blobId: string) => ({ op: 'message.append' as const, req: { mailboxId: inbox.id, blobId, size: 10, internalDate: 0, newBlob: { mime: null } } });
    const batch: WriteBatch = { durability: 'full', parts: [
      { ops: [{ op: 'stats.add', counts: [['received.test.msgs', 1]] }] },
      { ops: [append('B1')], mayFail: true },
      { ops: [append('B2')], mayFail: true },
    ] };
    const r = await stores.queue.commit(batch);
    assert.equal(r.parts[0].ok, true);
    assert.equal(r.parts[1].ok, true, 'the first append fits the quota');
    assert.equal(r.parts[2].ok, false, 'the second is over it');
    assert.ok(!r.parts[2].ok && r.parts[2].error instanceof QuotaExceededError, 'the error keeps its class across the thread');
    assert.equal((await stores.queue.stats()).get('received.test.msgs'), 1, 'the other parts committed');
    assert.equal((await stores.mailboxes.listMessages(inbox.id)).length, 1);
    // A part without mayFail fails the whole batch, and nothing of it stays.
    await assert.rejects(stores.queue.commit({ durability: 'full', parts: [
      { ops: [{ op: 'stats.add', counts: [['received.test.msgs', 5]] }] },
      { ops: [append('B3')] },
    ] }), QuotaExceededError);
    assert.equal((await stores.queue.stats()).get('received.test.msgs'), 1, 'rolled back');
  } finally {
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('batches submitted at once share commits (group commit on the writer thread) and each settles with its own result', { timeout: 30_000 }, async () => {
  const dir = fresh();
  const stores = openStore({ dataDir: dir, writer: 'thread' });
  try {
    const n = 300;
    await Promise.all(Array.from({ length: n }, (_, i) => stores.queue.commit({ durability: 'full', parts: [{ ops: [{ op: 'stats.add', counts: [[`k${i % 3}`, 1]] }] }] })));
    const s = await stores.queue.stats();
    assert.equal((s.get('k0') ?? 0) + (s.get('k1') ?? 0) + (s.get('k2') ?? 0), n);
  } finally {
    await stores.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the writer thread dying is reported (onFatal) and every later write fails at once, never a stall', { timeout: 30_000 }, async () => {
  const dir = fresh();
  openStore({ dataDir: dir, writer: 'inline' }).close();
  let fatal: Error | null = null;
  const w = new ThreadWriter(dir, (e) => (fatal = e));
  try {
    await w.submit({ durability: 'full', parts: [{ ops: [{ op: 'stats.add', counts: [['x', 1]] }] }] });
    // What an uncaught error in the thread ends in: the thread gone while the store is open.
    await (w as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    for (let i = 0; i < 100 && !fatal; i++) await new Promise((r) => setTimeout(r, 20));
    assert.ok(fatal, 'onFatal was called');
    assert.match((fatal as Error).message, /writer thread exited/);
    await assert.rejects(w.submit({ durability: 'full', parts: [] }), /writer thread exited/);
  } finally {
    await w.close();
    const db = new Database(join(dir, 'correo.db'), { readonly: true });
    assert.equal((db.prepare(`SELECT value FROM stats WHERE key = 'x'`).get() as { value: number }).value, 1, 'what was committed before stays');
    db.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a newer schema is refused before anything is written (test/store/upgrade.test.ts: an old one migrates)', { timeout: 30_000 }, async () => {
  const dir = fresh();
  try {
    const old = new Database(join(dir, 'correo.db'));
    old.exec('CREATE TABLE users (id INTEGER PRIMARY KEY, address TEXT NOT NULL UNIQUE)');
    old.pragma('user_version = 999');
    old.close();
    assert.throws(() => openStore({ dataDir: dir }), /schema version 999 is newer than this Correo knows \(version \d+\)/);
    const db = new Database(join(dir, 'correo.db'), { readonly: true });
    assert.equal(db.pragma('user_version', { simple: true }), 999, 'untouched');
    assert.equal(db.pragma('journal_mode', { simple: true }), 'delete', 'not even switched to WAL');
    db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
