import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { ImapFlow } from 'imapflow';
import { startServer, type TestServer } from '../helpers/server.js';
import { startSink, type Sink } from '../helpers/sink.js';
import { createTestDb, dropTestDb, pgSkip } from '../helpers/postgres.js';

/**
 * Two real `correo serve` nodes on one PostgreSQL database (issue 13): each its own data_dir,
 * ports and node_id, the same [store]. Mail through node A is seen in IDLE on node B; the
 * outbound queue is worked by both, each message delivered to the smart host once; kill -9 of
 * one node under load loses nothing, and the other finishes the queue once the dead node's
 * leases run out.
 */

const PW = 'pw-usr1';
const LEASE = 10; // seconds: the smallest [store] lease

async function nodes(db: { url: string }, sink: Sink | null, extra = ''): Promise<[TestServer, TestServer]> {
  const toml = (id: string) => `[store]\nbackend = "postgresql"\nurl = "${db.url}"\nnode_id = "${id}"\nlease = ${LEASE}\n` +
    `[auth]\nplaintext_without_tls = true\n` +
    (sink ? `[outbound]\nsmart_host = "[${sink.host}]:${sink.port}"\nsmart_host_tls = "none"\nmax_per_destination = 3\nretry_initial = 1\nretry_max = 2\n` : '') + extra;
  const a = await startServer({ toml: toml('node-a') });
  try {
    const b = await startServer({ toml: toml('node-b'), dns: a.dns });
    return [a, b];
  } catch (e) {
    await a.stop();
    throw e;
  }
}

function submitter(s: TestServer) {
  return nodemailer.createTransport({
    host: '127.0.0.1', port: s.ports.submission, secure: false, ignoreTLS: true, pool: true, maxConnections: 4,
    auth: { user: 'usr1@example.test', pass: PW }, connectionTimeout: 10_000, socketTimeout: 20_000,
  });
}

const subjectOf = (data: Buffer) => /^Subject: (m-\d+)\r?$/m.exec(data.toString('latin1'))?.[1] ?? '';

async function waitFor(what: string, cond: () => boolean, ms: number): Promise<void> {
  const start = Date.now();
  while (!cond()) {
    if (Date.now() - start > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Sends subjects m-FROM..m-TO-1, alternating the nodes; resolves to those that got a 250. */
async function send(servers: TestServer[], from: number, to: number, onAccepted?: (n: number) => Promise<void> | void): Promise<string[]> {
  const transports = servers.map(submitter);
  const accepted: string[] = [];
  await Promise.all(Array.from({ length: to - from }, (_, k) => from + k).map((i) =>
    transports[i % transports.length]
      .sendMail({ from: 'usr1@example.test', to: `dest${i}@remote.test`, subject: `m-${i}`, text: `body of m-${i}\n` })
      .then(async (info) => {
        assert.match(info.response, /^250 /);
        accepted.push(`m-${i}`);
        await onAccepted?.(accepted.length);
      })
      .catch(() => undefined)));
  for (const t of transports) t.close();
  return accepted;
}

describe('two nodes on one PostgreSQL database', { skip: pgSkip ?? false }, () => {
  test('a message delivered through node A shows up in an IDLE session on node B within a second', { timeout: 90_000 }, async () => {
    const db = await createTestDb();
    let servers: TestServer[] = [];
    try {
      servers = await nodes(db, null);
      const [a, b] = servers;
      await a.addUser('usr1@example.test', PW);
      const client = new ImapFlow({ host: '127.0.0.1', port: b.ports.imap, secure: false, auth: { user: 'usr1@example.test', pass: PW }, tls: { rejectUnauthorized: false }, logger: false });
      await client.connect();
      try {
        await client.mailboxOpen('INBOX');
        const seen = new Promise<number>((resolve) => client.on('exists', (d: { count: number }) => resolve(Date.now())));
        void client.idle();
        await new Promise((r) => setTimeout(r, 200)); // IDLE is on the wire (imapflow gives no event for "+ idling")
        const t = nodemailer.createTransport({ host: '127.0.0.1', port: a.ports.smtp, secure: false, ignoreTLS: true });
        const sentAt = Date.now();
        await t.sendMail({ from: 'x@example.org', to: 'usr1@example.test', subject: 'across nodes', text: 'hi\n' });
        t.close();
        const at = await Promise.race([seen, new Promise<number>((_, rej) => setTimeout(() => rej(new Error('no EXISTS on node B')), 5000))]);
        assert.ok(at - sentAt < 1000, `EXISTS on node B ${at - sentAt} ms after the 250 on node A`);
      } finally {
        await client.logout().catch(() => undefined);
      }
    } finally {
      for (const s of servers) await s.stop();
      await dropTestDb(db.name);
    }
  });

  test('1,000 messages submitted through both nodes reach the smart host exactly once', { timeout: 240_000 }, async () => {
    const db = await createTestDb();
    const sink = await startSink();
    let servers: TestServer[] = [];
    try {
      servers = await nodes(db, sink);
      await servers[0].addUser('usr1@example.test', PW);
      const accepted = await send(servers, 0, 1000);
      assert.equal(accepted.length, 1000, 'every message got its 250');
      await waitFor('1,000 messages at the sink', () => sink.messages.length >= 1000, 180_000);
      await new Promise((r) => setTimeout(r, 500)); // a late duplicate would show now
      const subjects = sink.messages.map((m) => subjectOf(m.data));
      assert.equal(new Set(subjects).size, 1000, 'every message arrived');
      assert.equal(subjects.length, 1000, 'none twice');
      const logs = servers.map((s) => (s.readLog().match(/status=sent/g) ?? []).length);
      assert.ok(logs[0] > 0 && logs[1] > 0, `both nodes delivered (${logs.join(' + ')})`);
    } finally {
      for (const s of servers) await s.stop();
      await sink.close();
      await dropTestDb(db.name);
    }
  });

  test('kill -9 of one node under load: nothing lost, the other node finishes its queue after the lease', { timeout: 240_000 }, async () => {
    const db = await createTestDb();
    const sink = await startSink();
    let servers: TestServer[] = [];
    try {
      servers = await nodes(db, sink);
      const [a, b] = servers;
      await a.addUser('usr1@example.test', PW);
      let killed = false;
      let fromKilled = new Set<string>();
      const accepted = await send(servers, 0, 300, async (n) => {
        if (n === 120 && !killed) {
          killed = true;
          await a.kill9();
          fromKilled = new Set(sink.messages.map((m) => subjectOf(m.data)));
        }
      });
      assert.ok(killed, 'node A was killed during the load');
      // Those sent to node B after the kill still go; node A's unfinished ones wait for its leases.
      const more = await send([b], 300, 320);
      const all = [...accepted, ...more];
      await waitFor('every accepted message at the sink', () => {
        const got = new Set(sink.messages.map((m) => subjectOf(m.data)));
        return all.every((s) => got.has(s));
      }, 150_000);
      const counts = new Map<string, number>();
      for (const m of sink.messages) counts.set(subjectOf(m.data), (counts.get(subjectOf(m.data)) ?? 0) + 1);
      const twice = [...counts].filter(([, n]) => n > 1).map(([s]) => s);
      // At-least-once (DESIGN.md): only a message the sink had taken from the killed node before
      // its "done" was committed may come again, at most one per connection it had open.
      assert.ok(twice.length <= 3, `duplicates: ${twice.join(', ')}`);
      for (const s of twice) assert.ok(fromKilled.has(s), `${s} twice, but node A had not sent it`);
      assert.match(b.readLog(), /status=sent/);
    } finally {
      for (const s of servers) await s.stop();
      await sink.close();
      await dropTestDb(db.name);
    }
  });
});
