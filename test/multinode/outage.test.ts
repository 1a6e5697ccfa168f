import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import pg from 'pg';
import { startServer, type TestServer } from '../helpers/server.js';
import { startPrivatePg, privatePgSkip, type PrivatePg } from '../helpers/pg-private.js';

/**
 * PostgreSQL goes away under a running node (issue 13): a private server of the test's own
 * is stopped and started again. Meanwhile SMTP answers 451 4.3.0 at DATA (never a 250 for
 * mail not on the database's disk), IMAP NO [UNAVAILABLE], POP3 -ERR [SYS/TEMP]; when the
 * database is back the node serves again by itself, sessions opened before the outage included.
 */

/** A line-oriented client: send a line, wait for a line that matches. */
class Lines {
  private buf = '';
  private readonly lines: string[] = [];
  private waiter: (() => void) | null = null;
  private constructor(private readonly s: Socket) {
    s.setEncoding('latin1');
    s.on('data', (d: string) => {
      this.buf += d;
      let i;
      while ((i = this.buf.indexOf('\r\n')) >= 0) {
        this.lines.push(this.buf.slice(0, i));
        this.buf = this.buf.slice(i + 2);
      }
      this.waiter?.();
    });
    s.on('error', () => undefined);
  }

  static open(port: number): Promise<Lines> {
    return new Promise((resolve, reject) => {
      const s = connect(port, '127.0.0.1', () => resolve(new Lines(s)));
      s.once('error', reject);
    });
  }

  async expect(re: RegExp, ms = 10_000): Promise<string> {
    const start = Date.now();
    for (;;) {
      const i = this.lines.findIndex((l) => re.test(l));
      if (i >= 0) return this.lines.splice(0, i + 1)[i];
      if (Date.now() - start > ms) throw new Error(`no line matching ${re} within ${ms} ms; got: ${this.lines.join(' | ')}`);
      await new Promise<void>((r) => {
        this.waiter = r;
        setTimeout(r, 50);
      });
    }
  }

  send(line: string): void {
    this.s.write(line + '\r\n');
  }

  async cmd(line: string, re: RegExp, ms?: number): Promise<string> {
    this.send(line);
    return this.expect(re, ms);
  }

  close(): void {
    this.s.destroy();
  }
}

/** One SMTP transaction to usr1; the reply to DATA's end (or to DATA itself, when refused there). */
async function smtpSend(port: number, subject: string): Promise<string> {
  const c = await Lines.open(port);
  try {
    await c.expect(/^220 /);
    await c.cmd('EHLO client.example.org', /^250 /);
    await c.cmd('MAIL FROM:<a@example.org>', /^250 /);
    const rcpt = await c.cmd('RCPT TO:<usr1@example.test>', /^\d{3} /);
    if (!rcpt.startsWith('250')) return rcpt;
    const data = await c.cmd('DATA', /^\d{3} /);
    if (!data.startsWith('354')) return data;
    c.send(`From: a@example.org\r\nTo: usr1@example.test\r\nSubject: ${subject}\r\n\r\nbody\r\n.`);
    return await c.expect(/^\d{3} /, 20_000);
  } finally {
    c.close();
  }
}

test('PostgreSQL stopped and started under a running node: temporary errors meanwhile, service again after', { timeout: 180_000, skip: privatePgSkip ?? false }, async () => {
  let db: PrivatePg | null = null;
  let server: TestServer | null = null;
  const clients: Lines[] = [];
  try {
    db = await startPrivatePg();
    const admin = new pg.Client({ connectionString: db.url('postgres') });
    await admin.connect();
    await admin.query('CREATE DATABASE correo');
    await admin.end();
    server = await startServer({ toml: `[store]\nbackend = "postgresql"\nurl = "${db.url('correo')}"\nnode_id = "outage"\n[auth]\nplaintext_without_tls = true\n` });
    await server.addUser('usr1@example.test', 'pw1');
    assert.match(await smtpSend(server.ports.smtp, 'before'), /^250 /);

    const imap = await Lines.open(server.ports.imap);
    clients.push(imap);
    await imap.expect(/^\* OK/);
    await imap.cmd('a LOGIN usr1@example.test pw1', /^a OK/);
    await imap.cmd('b SELECT INBOX', /^b OK/);

    await db.stop();

    const smtp = await smtpSend(server.ports.smtp, 'during');
    assert.match(smtp, /^451 4\.3\.0 /, 'a temporary failure, never a 250 for mail not stored');
    assert.match(await imap.cmd('c STATUS INBOX (MESSAGES)', /^c /), /^c NO \[UNAVAILABLE\] /);
    const pop = await Lines.open(server.ports.pop3);
    clients.push(pop);
    await pop.expect(/^\+OK/);
    await pop.cmd('USER usr1@example.test', /^\+OK/);
    assert.match(await pop.cmd('PASS pw1', /^[-+]/), /^-ERR \[SYS\/TEMP\] /);

    await db.start();
    // The node reconnects by itself: the next tries succeed, with no restart of Correo.
    const start = Date.now();
    let reply = '';
    while (Date.now() - start < 30_000 && !/^250 /.test(reply)) {
      reply = await smtpSend(server.ports.smtp, 'after');
      if (!/^250 /.test(reply)) await new Promise((r) => setTimeout(r, 250));
    }
    assert.match(reply, /^250 /, 'mail accepted again once the database is back');
    assert.match(await imap.cmd('d STATUS INBOX (MESSAGES)', /^d /, 20_000), /^d OK/);
    const pop2 = await Lines.open(server.ports.pop3);
    clients.push(pop2);
    await pop2.expect(/^\+OK/);
    await pop2.cmd('USER usr1@example.test', /^\+OK/);
    await pop2.cmd('PASS pw1', /^\+OK/);
    const stat = await pop2.cmd('STAT', /^[-+]/);
    assert.match(stat, /^\+OK 2 /, 'the message before and the one after; none of the refused one');
  } finally {
    for (const c of clients) c.close();
    await server?.stop();
    await db?.destroy();
  }
});
