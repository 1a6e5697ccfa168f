import { test } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { startServer } from '../helpers/server.js';
import { startSink } from '../helpers/sink.js';

/**
 * kill -9 while users submit mail for a remote domain and the server relays it to a smart
 * host (the sink, on its own 127.0.x.y). Every message that got its 250 on submission must
 * reach the sink after the restart. Remote delivery is at-least-once (DESIGN.md): a message
 * the sink accepted just before the kill, whose "done" the server had not committed yet, is
 * sent again after the restart. So a duplicate at the sink is allowed only for a message the
 * sink had already accepted from the killed process, and at most one per outbound connection
 * that could have been in flight (max_per_destination); any other is a bug.
 */

const TOTAL = 160;
const KILL_AFTER = 70;
const CONNECTIONS = 3;

const subjectOf = (data: Buffer) => /^Subject: (relay-\d+)\r?$/m.exec(data.toString('latin1'))?.[1] ?? '';

test('kill -9 while relaying: every submitted message reaches the smart host, duplicates only for those in flight', { timeout: 180_000 }, async (t) => {
  const sink = await startSink();
  const server = await startServer({
    toml: `[auth]\nplaintext_without_tls = true\n` +
      `[outbound]\nsmart_host = "[${sink.host}]:${sink.port}"\nsmart_host_tls = "none"\nmax_per_destination = ${CONNECTIONS}\nretry_initial = 1\nretry_max = 2\n`,
  });
  try {
    await server.addUser('usr1@example.test', 'pw-usr1');
    const transport = nodemailer.createTransport({
      host: '127.0.0.1', port: server.ports.submission, secure: false, ignoreTLS: true, pool: true, maxConnections: 6,
      auth: { user: 'usr1@example.test', pass: 'pw-usr1' }, connectionTimeout: 5000, socketTimeout: 5000,
    });
    const accepted: string[] = [];
    let atKill: Set<string> | null = null;
    const sends = Array.from({ length: TOTAL }, (_, i) => `relay-${i}`).map((subject) =>
      transport
        .sendMail({ from: 'usr1@example.test', to: `dest${subject.slice(6) }@remote.test`, subject, text: `body of ${subject}\n`.repeat(30) })
        .then(async (info) => {
          assert.match(info.response, /^250 /);
          accepted.push(subject);
          if (accepted.length === KILL_AFTER && !atKill) {
            atKill = new Set(sink.messages.map((m) => subjectOf(m.data)));
            await server.kill9();
          }
        })
        .catch(() => undefined),
    );
    await Promise.all(sends);
    transport.close();
    const before = atKill as Set<string> | null;
    assert.ok(before, 'the server was killed in the middle of the load');
    assert.ok(accepted.length >= KILL_AFTER && accepted.length < TOTAL, `submitted before the kill: ${accepted.length}`);
    assert.ok(before.size < accepted.length, 'the kill came while relaying was still going on');

    // What the sink accepted from the killed process: its last data may have been read by the
    // sink after the kill signal went, so this is counted once the process is gone, not at the kill.
    const fromKilled = new Set(sink.messages.map((m) => subjectOf(m.data)));
    await server.restart();
    const start = Date.now();
    const got = () => new Set(sink.messages.map((m) => subjectOf(m.data)));
    while (accepted.some((s) => !got().has(s)) && Date.now() - start < 90_000) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(accepted.filter((s) => !got().has(s)), [], 'every message that got a 250 reached the smart host');

    // Let any late duplicate arrive before counting: the queue must empty first.
    for (let i = 0; i < 200; i++) {
      if ((await server.cli(['queue', 'list'])).stdout.includes('Mail queue is empty')) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match((await server.cli(['queue', 'list'])).stdout, /Mail queue is empty/);
    const subjects = sink.messages.map((m) => subjectOf(m.data));
    const dupes = subjects.filter((s, i) => subjects.indexOf(s) !== i);
    t.diagnostic(`submitted ${accepted.length}, at the sink from the killed process ${fromKilled.size}, duplicates ${dupes.length}`);
    const unexplained = dupes.filter((s) => !fromKilled.has(s));
    assert.deepEqual(unexplained, [], 'a duplicate is only ever of a message the sink had accepted before the kill');
    assert.ok(dupes.length <= CONNECTIONS, `at most one duplicate per outbound connection in flight at the kill: ${dupes.join(', ')}`);
    for (const m of sink.messages) {
      const s = subjectOf(m.data);
      assert.deepEqual(m.rcpts.map((r) => r.address), [`dest${s.slice(6)}@remote.test`], 'each message to its own recipient');
    }
  } finally {
    await server.stop();
    await sink.close();
  }
});
