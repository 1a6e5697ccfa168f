/**
 * The "remote world" for outbound tests (they declare `needs('dnsmasq')`): a dnsmasq on loopback serving the test's records
 * (unknown *.test names answer NXDOMAIN), a real Correo server whose outbound port is the
 * sinks' port, and helpers to put mail into its queue and read the local INBOX.
 *
 * Until submission lands, mail enters on port 25 addressed to a local alias that points to
 * remote addresses: the queue manager expands it and hands the remote targets to outbound.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { popMessages } from '../pop3/helpers.js';
import nodemailer from 'nodemailer';
import { startDns, type TestDns } from '../helpers/dns.js';
import { startServer, type TestServer } from '../helpers/server.js';

export interface World {
  server: TestServer;
  dns: TestDns;
  /** Sends a message to Correo's port 25 (plain SMTP, as another MTA would). */
  send(opts: { from: string; to: string[]; raw: string | Buffer; dsn?: { ret?: 'FULL' | 'HDRS'; envid?: string; notify?: string[]; orcpt?: string } }): Promise<string>;
  /** The messages in a local user's INBOX, read over POP3. */
  inbox(user: string, password: string): Promise<string[]>;
  waitForLog(re: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(): Promise<void>;
}

export const PASSWORD = 'sender-secret';

export async function startWorld(opts: { dns?: string[]; toml?: string; aliases?: string; users?: string[]; mailertable?: string; files?: Record<string, string> }): Promise<World> {
  const dns = await startDns(['--local=/test/', ...(opts.dns ?? [])]);
  let server: TestServer;
  try {
    const { mkdtempSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(join(tmpdir(), 'correo-out-'));
    writeFileSync(join(dir, 'aliases'), opts.aliases ?? '');
    if (opts.mailertable !== undefined) writeFileSync(join(dir, 'mailertable'), opts.mailertable);
    for (const [name, text] of Object.entries(opts.files ?? {})) writeFileSync(join(dir, name), text);
    server = await startServer({
      dns,
      dir,
      toml: [
        '[maps]',
        `aliases = "${join(dir, 'aliases')}"`,
        ...(opts.mailertable !== undefined ? [`mailertable = "${join(dir, 'mailertable')}"`] : []),
        '[auth]',
        'plaintext_without_tls = true',
        opts.toml ?? '',
      ].join('\n'),
    });
  } catch (e) {
    await dns.stop();
    throw e;
  }
  for (const u of opts.users ?? []) await server.addUser(u, PASSWORD);

  const world: World = {
    server,
    dns,
    async send({ from, to, raw, dsn }) {
      const t = nodemailer.createTransport({ host: '127.0.0.1', port: server.ports.smtp, secure: false, ignoreTLS: true, connectionTimeout: 10_000, greetingTimeout: 10_000, socketTimeout: 20_000 });
      try {
        const info = await t.sendMail({ envelope: { from, to }, raw, ...(dsn ? { dsn } : {}) });
        return info.response;
      } finally {
        t.close();
      }
    },
    inbox: (user, password) => popMessages(server.ports.pop3, user, password),
    async waitForLog(re, timeoutMs = 20_000) {
      const start = Date.now();
      for (;;) {
        const m = server.readLog().match(re);
        if (m) return m;
        if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${re} in the log:\n${server.readLog().split('\n').slice(-30).join('\n')}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      await server.stop();
      await dns.stop();
      const { rmSync } = await import('node:fs');
      rmSync(server.dir, { recursive: true, force: true });
    },
  };
  return world;
}

/** Waits until `cond` holds. */
export async function until<T>(what: string, cond: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A free 127.0.x.y/port pair nobody listens on: a dead MX. */
export function deadAddress(): string {
  return `127.0.${1 + Math.floor(Math.random() * 253)}.${1 + Math.floor(Math.random() * 253)}`;
}
