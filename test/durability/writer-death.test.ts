import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { startServer } from '../helpers/server.js';
import { Imap } from '../imap/client.js';

/**
 * The store's writer thread dying is a crash, not a stall (issue 8): the server exits non-zero
 * with the reason in its log, and a restart delivers every message that got its 250 (each
 * once). CORREO_TEST_WRITER_DIE_AFTER (src/store/sqlite/writer-worker.ts, for this test only)
 * makes the thread throw instead of running its Nth group commit, in the middle of a load.
 */

const TOTAL = 150;

test('the writer thread dying under SMTP load stops the server (exit != 0, reason logged); a restart delivers what was accepted', { timeout: 180_000 }, async (t) => {
  const server = await startServer({ toml: '[auth]\nplaintext_without_tls = true\n', env: { CORREO_TEST_WRITER_DIE_AFTER: '30' } });
  try {
    await server.addUser('usr1@example.test', 'pw-usr1');
    const transport = nodemailer.createTransport({
      host: '127.0.0.1', port: server.ports.smtp, secure: false, ignoreTLS: true, pool: true, maxConnections: 6,
      connectionTimeout: 5000, socketTimeout: 10_000,
    });
    const accepted: string[] = [];
    const refused: string[] = [];
    await Promise.all(Array.from({ length: TOTAL }, (_, i) => `death-${i}`).map((subject) =>
      transport.sendMail({ from: 'sender@remote.test', to: 'usr1@example.test', subject, text: `message ${subject}\n`.repeat(20) })
        .then((info) => {
          assert.match(info.response, /^250 /);
          accepted.push(subject);
        }, () => refused.push(subject))));
    transport.close();
    const code = await server.exited(30_000);
    t.diagnostic(`accepted ${accepted.length}, refused or cut ${refused.length}, exit code ${code}`);
    assert.ok(code !== null && code !== 0, `the server exited by itself with a failure code (${code}), not stalled`);
    assert.match(server.readLog(), /stopping: .*writer.*CORREO_TEST_WRITER_DIE_AFTER/, 'the reason is in the log');
    assert.ok(accepted.length > 0 && refused.length > 0, 'the writer died in the middle of the load');

    await server.restart({});
    const imap = await Imap.open(server.ports.imap);
    try {
      await imap.login('usr1@example.test', 'pw-usr1');
      const subjects = async () => {
        const r = await imap.cmd('UID FETCH 1:* (BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
        return r.untagged.map((l) => /Subject: (death-\d+)/.exec(l)?.[1]).filter((s): s is string => !!s);
      };
      assert.match((await imap.cmd('SELECT INBOX')).tagged, /OK/);
      const start = Date.now();
      let stored = await subjects();
      while (accepted.some((s) => !stored.includes(s)) && Date.now() - start < 60_000) {
        await new Promise((r) => setTimeout(r, 200));
        await imap.cmd('NOOP');
        stored = await subjects();
      }
      assert.deepEqual(accepted.filter((s) => !stored.includes(s)), [], 'every message that got a 250 is delivered after the restart');
      assert.deepEqual(stored.filter((s, i) => stored.indexOf(s) !== i), [], 'none twice');
      // Bodies written for messages whose commit the dead writer never made are swept at the restart.
      const files = () => readdirSync(join(server.dir, 'blobs'), { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
      for (let i = 0; i < 100 && files() !== stored.length; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(files(), stored.length, 'one body file per stored message, no orphan left');
    } finally {
      imap.close();
    }
  } finally {
    await server.stop();
  }
});
