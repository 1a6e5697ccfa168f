import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../helpers/server.js';
import { storedMessages } from '../smtp/client.js';
import { imapServer, PASS } from '../imap/client.js';
import { Probe } from './probe.js';

/**
 * Issue 9 item 11: slow clients. An idle timer alone lets a client that sends one byte per
 * interval hold its slot forever; total-time limits for DATA (RFC 5321 4.5.3.2), IMAP
 * literals, one command line, and the time before login end it. The limits are set to 3 s
 * here; the idle timers stay long, so only the total times can end these sessions.
 */

/** Sends `text` one octet at a time every `ms` until the server hangs up or the text runs out. */
function drip(p: Probe, text: string, ms: number): () => void {
  let i = 0;
  const t = setInterval(() => {
    if (p.closed || i >= text.length) return clearInterval(t);
    p.send(text[i++]);
  }, ms);
  return () => clearInterval(t);
}

/** Sends `line` every `ms` (a busy client that never logs in). */
function repeat(p: Probe, line: string, ms: number): () => void {
  const t = setInterval(() => (p.closed ? clearInterval(t) : p.send(line)), ms);
  return () => clearInterval(t);
}

async function closedAfter(p: Probe, atLeastMs: number, t0: number): Promise<string> {
  const text = await p.closedBy(15_000);
  const took = Date.now() - t0;
  assert.ok(took >= atLeastMs, `closed after ${took} ms, before the configured limit`);
  return text;
}

test('SMTP: slow DATA, a slow command line and a submission client that never authenticates are cut after their total time', { timeout: 90_000 }, async () => {
  const server = await startServer({ toml: '[smtp]\nidle_timeout = 60\ndata_timeout = 3\ncommand_timeout = 3\n[submission]\nlogin_timeout = 3\n' });
  const stops: (() => void)[] = [];
  const open: Probe[] = [];
  try {
    await server.addUser('usr@example.test', 'pw-slow-1');
    const before = storedMessages(server.dir).length;
    const d = await Probe.connect(server.ports.smtp);
    open.push(d);
    await d.firstLine();
    d.send('EHLO client.example.test\r\nMAIL FROM:<slow@remote.test>\r\nRCPT TO:<usr@example.test>\r\nDATA\r\n');
    await d.until((t) => /\r\n354 /.test(t));
    const t0 = Date.now();
    stops.push(drip(d, 'Subject: slow\r\n\r\n' + 'x'.repeat(200) + '\r\n.\r\n', 200));
    const text = await closedAfter(d, 2500, t0);
    assert.match(text, /\r\n421 4\.4\.2 mail\.example\.test Error: DATA not completed within 3 seconds; message not accepted\r\n$/);
    // The abort of the spool file runs as the connection closes: wait for it, briefly.
    for (let i = 0; i < 50 && storedMessages(server.dir).length !== before; i++) await new Promise((r) => setTimeout(r, 100));
    assert.equal(storedMessages(server.dir).length, before, 'nothing of the cut message is stored');

    const c = await Probe.connect(server.ports.smtp);
    open.push(c);
    await c.firstLine();
    const t1 = Date.now();
    stops.push(drip(c, 'EHLO a-very-slow-client.example.test\r\n', 200));
    assert.match(await closedAfter(c, 2500, t1), /\r\n421 4\.4\.2 mail\.example\.test Error: command line not completed within 3 seconds\r\n$/);

    const m = await Probe.connect(server.ports.submission);
    open.push(m);
    await m.firstLine();
    const t2 = Date.now();
    m.send('EHLO client.example.test\r\n');
    stops.push(repeat(m, 'NOOP\r\n', 300));
    assert.match(await closedAfter(m, 2500, t2), /\r\n421 4\.7\.0 mail\.example\.test Error: authentication not completed within 3 seconds\r\n$/);

    // Port 25 has no login: a client busy with NOOPs for longer is still served.
    const mta = await Probe.connect(server.ports.smtp);
    open.push(mta);
    await mta.firstLine();
    const t3 = Date.now();
    stops.push(repeat(mta, 'NOOP\r\n', 300));
    await mta.until(() => Date.now() - t3 > 4000, 10_000);
    assert.equal(mta.closed, false);
  } finally {
    for (const s of stops) s();
    for (const p of open) p.destroy();
    await server.stop();
  }
});

test('IMAP and POP3: no login within the login time ends the session; a slow literal is cut; bad commands are capped', { timeout: 90_000 }, async () => {
  const server = await imapServer(['usr1@example.test'], '[imap]\nlogin_timeout = 3\nliteral_timeout = 3\nmax_errors = 3\n[pop3]\nlogin_timeout = 3\n');
  const stops: (() => void)[] = [];
  const open: Probe[] = [];
  try {
    const i = await Probe.connect(server.ports.imap);
    open.push(i);
    await i.firstLine();
    const t0 = Date.now();
    stops.push(repeat(i, 'a NOOP\r\n', 300));
    assert.match(await closedAfter(i, 2500, t0), /\* BYE \[UNAVAILABLE\] No login within 3 seconds\r\n$/);

    const p = await Probe.connect(server.ports.pop3);
    open.push(p);
    await p.firstLine();
    const t1 = Date.now();
    stops.push(repeat(p, 'CAPA\r\n', 300));
    assert.match(await closedAfter(p, 2500, t1), /-ERR \[SYS\/TEMP\] No login within 3 seconds, closing connection\r\n$/);

    // Logged in over IMAPS: the login time no longer applies, but a literal sent at a trickle is cut.
    const s = await Probe.connect(server.ports.imaps, { tls: true });
    open.push(s);
    await s.firstLine();
    s.send(`a LOGIN usr1@example.test ${PASS}\r\n`);
    await s.until((t) => /\r\na OK /.test(t));
    const t2 = Date.now();
    stops.push(repeat(s, 'b NOOP\r\n', 300));
    await s.until(() => Date.now() - t2 > 3500, 10_000);
    assert.equal(s.closed, false, 'logged in: the login time is over');
    stops.pop()!();
    s.send('c APPEND INBOX {200}\r\n');
    await s.until((t) => t.includes('\r\n+ '));
    const t3 = Date.now();
    stops.push(drip(s, 'Subject: slow\r\n\r\n' + 'y'.repeat(183), 200));
    assert.match(await closedAfter(s, 2500, t3), /\* BYE \[UNAVAILABLE\] Literal not completed within 3 seconds\r\n$/);

    const b = await Probe.connect(server.ports.imap);
    open.push(b);
    await b.firstLine();
    b.send('a FROB\r\nb FROB\r\nc FROB\r\nd NOOP\r\n');
    const text = await b.closedBy();
    assert.match(text, /c BAD [^\r]*\r\n\* BYE Too many invalid commands\r\n$/);
    assert.doesNotMatch(text, /d OK/);
  } finally {
    for (const s of stops) s();
    for (const p of open) p.destroy();
    await server.stop();
  }
});
