import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { openPostgresStore } from '../../src/store/postgres/open.js';
import { PG_SCHEMA_VERSION } from '../../src/store/postgres/schema.js';
import type { Stores } from '../../src/store/open.js';
import type { WriteOp } from '../../src/store/batch.js';
import { QuotaExceededError } from '../../src/store/types.js';
import { createTestDb, dropTestDb, pgSkip } from '../helpers/postgres.js';
import { message } from './backends.js';

/**
 * PostgreSQL beyond the conformance suite: what several nodes on one database need. Two stores
 * opened on one fresh database stand for two nodes (each its own pool, LISTEN connection and
 * lock session); the cases show that each sees the other's changes, that a queue recipient
 * goes to one of them, that a dead node's lease runs out, that quotas and UIDs stay exact
 * when both write at once, and that a node refuses a schema newer than its code.
 */

async function twoNodes<T>(fn: (a: Stores, b: Stores, url: string) => Promise<T>): Promise<T> {
  const db = await createTestDb();
  const open: Stores[] = [];
  try {
    open.push(await openPostgresStore({ url: db.url, nodeId: 'node-a' }));
    open.push(await openPostgresStore({ url: db.url, nodeId: 'node-b' }));
    return await fn(open[0], open[1], db.url);
  } finally {
    for (const s of open) await s.close().catch(() => undefined);
    await dropTestDb(db.name);
  }
}

async function one<T = unknown>(s: Stores, op: WriteOp): Promise<T> {
  const r = (await s.queue.commit({ durability: 'full', parts: [{ ops: [op] }] })).parts[0];
  if (!r.ok) throw r.error;
  return r.results[0] as T;
}

let seq = 0;
async function enqueue(s: Stores, rcpts: string[]): Promise<string> {
  const id = `PG${process.pid}X${++seq}`;
  const body = message(`queued ${id}`);
  const w = await s.blobs.create(id);
  await w.write([Buffer.from(body)]);
  await w.commit();
  await one(s, {
    op: 'queue.insert', id, sender: 'a@example.org', envelope: '{}', via: 'smtp', size: body.length, traceSkip: 0, created: Date.now(),
    recipients: rcpts.map((rcpt) => ({ rcpt, orcpt: null, notify: null })),
  });
  return id;
}

async function waitFor(what: string, cond: () => boolean | Promise<boolean>, ms = 3000): Promise<void> {
  const start = Date.now();
  while (!(await cond())) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('PostgreSQL store: several nodes on one database', { timeout: 60_000, skip: pgSkip ?? false }, () => {
  test('a change published on one node reaches the other; users made on one are known on the other', () => twoNodes(async (a, b) => {
    const seen: number[] = [];
    const stop = b.changes.subscribe((id) => seen.push(id));
    a.changes.publish(42);
    await waitFor('the notification on node b', () => seen.includes(42), 1000);
    stop();
    let woken = 0;
    const off = b.queueSignal.onWake('remote', () => woken++);
    a.queueSignal.wake('remote');
    await waitFor('the queue wake-up on node b', () => woken === 1, 1000);
    off();
    await a.mailboxes.createUser('usr1@example.test', 'h');
    await waitFor('the user in node b\'s directory', () => b.users.has('usr1@example.test'), 1000);
    await a.mailboxes.deleteUser('usr1@example.test');
    await waitFor('the user gone from node b\'s directory', () => !b.users.has('usr1@example.test'), 1000);
  }));

  test('claims: each due recipient goes to one node; a dead node\'s lease runs out, then the other takes it', () => twoNodes(async (a, b) => {
    const rcpts = Array.from({ length: 40 }, (_, i) => `r${i}@remote.test`);
    const id = await enqueue(a, rcpts);
    await one(a, { op: 'rcpt.retryAt', queueId: id, rcpt: null, status: ['pending'], next: 0 });
    for (const r of rcpts) await one(a, { op: 'rcpt.status', queueId: id, rcpt: r, status: 'remote', from: ['pending'] });
    const now = Date.now();
    const [x, y] = await Promise.all([a.queue.claimRemote(now, 100, 25, 60_000), b.queue.claimRemote(now, 100, 25, 60_000)]);
    const rest = await b.queue.claimRemote(now, 100, 100, 60_000);
    const got = [...x, ...y, ...rest].map((r) => r.rcpt);
    assert.equal(new Set(got).size, got.length, 'no recipient claimed twice');
    assert.equal(got.length, 40, 'between them, every due recipient');
    assert.ok(x.length > 0 && x.length <= 25 && y.length <= 25);
    assert.deepEqual(await b.queue.claimRemote(now, 100, 100, 60_000), [], 'all leased');
    // Node a dies holding its claims: after the lease, b gets them.
    const later = now + 61_000;
    const retaken = await b.queue.claimRemote(later, 100, 100, 60_000);
    assert.equal(retaken.length, 40, 'every lease ran out');
    // A finished recipient ends its lease and is never claimed again.
    await one(b, { op: 'rcpt.status', queueId: id, rcpt: retaken[0].rcpt, status: 'done', from: ['remote'] });
    await b.queue.renewLeases(retaken.slice(1, 3), 0);
    assert.deepEqual((await a.queue.claimRemote(later, 100, 100, 60_000)).map((r) => r.rcpt).sort(), retaken.slice(1, 3).map((r) => r.rcpt).sort(), 'released ones only');
    assert.ok((await a.queue.nextAttempt('remote', later))! > later, 'the next attempt waits for the leases');
  }));

  test('UIDs stay unique and ascending, and a quota exact, when two nodes deliver to one mailbox at once', () => twoNodes(async (a, b) => {
    const user = await a.mailboxes.createUser('usr1@example.test', 'h');
    const inbox = (await a.mailboxes.getMailbox(user.id, 'INBOX'))!;
    const bodies: string[] = [];
    for (let i = 0; i < 30; i++) {
      const id = `Q${process.pid}N${++seq}`;
      const w = await a.blobs.create(id);
      await w.write([Buffer.from(message(`m${i}`))]);
      await w.commit();
      bodies.push(id);
    }
    await a.mailboxes.setQuota(user.id, null, 20);
    const results = await Promise.all(bodies.map((id, i) => (i % 2 ? a : b).mailboxes.appendMany([
      { mailboxId: inbox.id, blobId: id, size: 100, internalDate: Date.now(), newBlob: { mime: null } }]).then((r) => r[0])));
    const ok = results.filter((r) => !(r instanceof Error));
    const over = results.filter((r) => r instanceof QuotaExceededError);
    assert.equal(ok.length, 20, 'exactly the quota');
    assert.equal(over.length, 10);
    const uids = (await b.mailboxes.listMessages(inbox.id)).map((m) => m.uid);
    assert.equal(new Set(uids).size, 20);
    assert.deepEqual(uids, [...uids].sort((x, y) => x - y));
    assert.equal((await a.mailboxes.getQuota(user.id)).messages, 20);
  }));

  test('the maildrop lock holds across nodes and goes with a node that dies', () => twoNodes(async (a, b, url) => {
    assert.equal(await a.locks.acquire('maildrop:1', 's1'), true);
    assert.equal(await b.locks.acquire('maildrop:1', 's2'), false, 'RFC 1939 4: [IN-USE] on the other node');
    await a.locks.release('maildrop:1', 's1');
    assert.equal(await b.locks.acquire('maildrop:1', 's2'), true);
    const c = await openPostgresStore({ url, nodeId: 'node-c' });
    assert.equal(await c.locks.acquire('maildrop:2', 's3'), true);
    assert.equal(await a.locks.acquire('maildrop:2', 's4'), false);
    await c.close(); // its session ends, as when the process dies
    await waitFor('the lock of the closed node freed', () => a.locks.acquire('maildrop:2', 's4'));
  }));

  test('a node refuses a database whose schema is newer than its code, saying what to do', async () => {
    const db = await createTestDb();
    try {
      const s = await openPostgresStore({ url: db.url, nodeId: 'n' });
      await s.close();
      const c = new pg.Client({ connectionString: db.url });
      await c.connect();
      await c.query('UPDATE correo_schema SET version = $1', [PG_SCHEMA_VERSION + 1]);
      await c.end();
      await assert.rejects(openPostgresStore({ url: db.url, nodeId: 'n' }),
        (e: Error) => e.message.includes(`schema version ${PG_SCHEMA_VERSION + 1} is newer`) && e.message.includes('same Correo release'));
    } finally {
      await dropTestDb(db.name);
    }
  });
});
