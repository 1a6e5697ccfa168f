import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Imap } from '../imap/client.js';
import { startServer } from '../helpers/server.js';

/**
 * kill -9 while several IMAP clients APPEND (RFC 9051 6.3.12). An APPEND answered OK is on
 * disk: after the restart it is in the mailbox, exactly once, with its whole body (a record
 * never points at a body cut short by the kill). An APPEND not yet answered may or may not be
 * there, but never twice and never truncated.
 */

const CLIENTS = 4;
const PER_CLIENT = 60;
const KILL_AFTER = 100;

const body = (subject: string) =>
  `From: a@example.org\r\nTo: usr1@example.test\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@example.org>\r\n\r\n` +
  `${`line of ${subject} `.repeat(4)}\r\n`.repeat(50) + `end of ${subject}\r\n`;

test('kill -9 during IMAP APPEND from several clients: every OK is stored once and whole', { timeout: 120_000 }, async (t) => {
  const server = await startServer({ toml: '[auth]\nplaintext_without_tls = true\n' });
  try {
    await server.addUser('usr1@example.test', 'pw-usr1');
    const acked: string[] = [];
    let killed = false;
    const client = async (c: number) => {
      const imap = await Imap.open(server.ports.imap);
      try {
        await imap.login('usr1@example.test', 'pw-usr1');
        for (let i = 0; i < PER_CLIENT && !killed; i++) {
          const subject = `append-${c}-${i}`;
          const r = await imap.cmdLiteral('APPEND INBOX (\\Seen)', body(subject));
          if (!/^A\d+ OK/.test(r.tagged)) throw new Error(`APPEND refused: ${r.tagged}`);
          acked.push(subject);
          if (acked.length === KILL_AFTER && !killed) {
            killed = true;
            await server.kill9();
          }
        }
      } catch (e) {
        if (!killed) throw e;
      } finally {
        imap.close();
      }
    };
    await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
    assert.ok(killed, 'the server was killed during the load');

    await server.restart();
    const imap = await Imap.open(server.ports.imap);
    try {
      await imap.login('usr1@example.test', 'pw-usr1');
      assert.match((await imap.cmd('SELECT INBOX')).tagged, /OK/);
      const r = await imap.cmd('UID FETCH 1:* (RFC822.SIZE BODY.PEEK[])', 30_000);
      const stored = r.untagged.filter((l) => l.includes('FETCH')).map((l) => {
        const size = Number(/RFC822\.SIZE (\d+)/.exec(l)![1]);
        const lit = /BODY\[\] \{(\d+)\}\r\n/.exec(l)!;
        const text = l.slice(lit.index + lit[0].length, lit.index + lit[0].length + Number(lit[1]));
        return { size, text, subject: /^Subject: (.*)$/m.exec(text)?.[1].trim() ?? '' };
      });
      t.diagnostic(`acknowledged ${acked.length}, stored ${stored.length}`);
      const subjects = stored.map((s) => s.subject);
      assert.deepEqual(acked.filter((s) => !subjects.includes(s)), [], 'every APPEND answered OK is in the mailbox');
      assert.deepEqual(subjects.filter((s, i) => subjects.indexOf(s) !== i), [], 'none is stored twice');
      for (const s of stored) {
        assert.equal(s.text, body(s.subject), `${s.subject}: the whole body, as sent`);
        assert.equal(s.size, s.text.length);
      }
    } finally {
      imap.close();
    }
  } finally {
    await server.stop();
  }
});
