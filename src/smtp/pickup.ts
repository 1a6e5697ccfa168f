import { constants, watch, type FSWatcher, promises as fsp } from 'node:fs';
import { join } from 'node:path';
import type { Context } from '../context.js';
import type { Logger } from '../log/logger.js';
import type { MessageEnvelope } from '../queue/types.js';
import { parsePath } from './address.js';
import { FixupWriter } from './fixup-writer.js';
import { masqueradeAddress, qualifyAddress, type Masquerade } from './fixups.js';
import { DROP_NAME, MAGIC, MAX_ENVELOPE, prepareMaildrop, type DropEnvelope } from './maildrop.js';
import { userByUid } from '../privileges/passwd.js';
import { rfc5322Date } from './received.js';
import { randomBytes } from 'node:crypto';
import { BackgroundWorker } from '../queue/worker.js';

/**
 * The server side of the local `sendmail` command (S31): takes messages from the maildrop
 * (smtp/maildrop.ts) into the queue, with the same MSA fix-ups as submission.
 *
 * The sender is the file's owner (uid from fstat, name from /etc/passwd). S24: a trusted user
 * (`[sendmail] trusted_users`, root by default, and the user the server runs as) may set any
 * envelope sender with -f; anyone else may use their own address and the ones they own (as on
 * submission); otherwise, by `untrusted_sender`, the message goes with an
 * X-Authentication-Warning (sendmail's behaviour, the default) or is refused with a note to
 * the user.
 *
 * Durability: the file is removed only after the queue commit; a crash in between picks the
 * file up again at the next start (a duplicate is possible, a loss is not).
 */

const CHUNK = 256 * 1024;

/** fs.watch can miss events (NFS, overflow): a slow scan as well. */
const RESCAN_MS = 5000;

export class Pickup {
  private watcher: FSWatcher | null = null;
  private stopped = false;
  private readonly busy = new Set<string>();
  private readonly worker: BackgroundWorker;

  constructor(private readonly ctx: Context, private readonly dir: string, private readonly log: Logger) {
    this.worker = new BackgroundWorker('pickup', async () => {
      await this.scan();
      return Date.now() + RESCAN_MS;
    }, log, RESCAN_MS);
  }

  start(): void {
    // Everyone may drop a file; nobody but us may list the directory or read others' files.
    prepareMaildrop(this.dir, null);
    try {
      this.watcher = watch(this.dir, () => this.kick());
      this.watcher.on('error', (e) => this.log.warn(null, `pickup: cannot watch ${this.dir}: ${e.message}`));
    } catch (e) {
      this.log.warn(null, `pickup: cannot watch ${this.dir}: ${(e as Error).message}; scanning every 5 s`);
    }
    this.kick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher?.close();
    await this.worker.stop();
  }

  kick(): void {
    this.worker.kick();
  }

  private async scan(): Promise<void> {
    let names: string[];
    try {
      names = await fsp.readdir(this.dir);
    } catch (e) {
      this.log.error(null, `pickup: cannot read ${this.dir}: ${(e as Error).message}`);
      return;
    }
    for (const name of names.sort()) {
      if (this.stopped) return;
      if (!DROP_NAME.test(name) || this.busy.has(name)) continue;
      this.busy.add(name);
      try {
        await this.take(name);
      } catch (e) {
        // Disk full or the like: the file stays for the next scan.
        this.log.error(null, `pickup: ${name}: ${(e as Error).message}; will retry`);
      } finally {
        this.busy.delete(name);
      }
    }
  }

  private async take(name: string): Promise<void> {
    const path = join(this.dir, name);
    let fh: fsp.FileHandle;
    try {
      fh = await fsp.open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
      this.log.warn(null, `pickup: ${name}: ${(e as Error).message}; removed`);
      await fsp.rm(path, { force: true });
      return;
    }
    try {
      const st = await fh.stat();
      // A hard link to someone else's file would carry their uid: only a file's one name counts.
      if (!st.isFile() || st.nlink !== 1) {
        this.log.warn(null, `pickup: ${name}: not a regular file with one link (uid ${st.uid}); removed`);
        await fsp.rm(path, { force: true });
        return;
      }
      const login = userByUid(st.uid)?.name ?? `uid${st.uid}`;
      const head = Buffer.alloc(Math.min(MAX_ENVELOPE, st.size));
      const { bytesRead } = await fh.read(head, 0, head.length, 0);
      const text = head.subarray(0, bytesRead).toString('utf8');
      const nl1 = text.indexOf('\n');
      const nl2 = text.indexOf('\n', nl1 + 1);
      let env: DropEnvelope | null = null;
      if (nl1 > 0 && nl2 > nl1 && text.slice(0, nl1) === MAGIC) {
        try {
          env = JSON.parse(text.slice(nl1 + 1, nl2)) as DropEnvelope;
        } catch {
          env = null;
        }
      }
      if (!env || !Array.isArray(env.recipients)) {
        this.log.warn(null, `pickup: ${name}: not a maildrop file (from uid ${st.uid} ${login}); removed`);
        await fsp.rm(path, { force: true });
        return;
      }
      const bodyStart = Buffer.byteLength(text.slice(0, nl2 + 1), 'utf8');
      const size = st.size - bodyStart;
      if (size > this.ctx.config.smtp.max_message_size) {
        this.log.warn(null, `pickup: ${name}: message of ${size} octets from ${login} is over max_message_size; removed`);
        await this.notify(login, `Your message of ${size} octets is larger than this server accepts (${this.ctx.config.smtp.max_message_size}); it was not sent.`);
        await fsp.rm(path, { force: true });
        return;
      }
      await this.enqueue(name, fh, bodyStart, st.size, st.uid, login, env);
    } finally {
      await fh.close();
    }
    await fsp.rm(path, { force: true });
  }

  private masquerade(): Masquerade | null {
    const m = this.ctx.config.masquerade;
    return m.as ? { as: m.as, domains: m.domains, exposed: m.exposed_users } : null;
  }

  private trusted(uid: number, login: string): boolean {
    return uid === process.getuid?.() || this.ctx.config.sendmail.trusted_users.includes(login);
  }

  private async enqueue(name: string, fh: fsp.FileHandle, start: number, end: number, uid: number, login: string, env: DropEnvelope): Promise<void> {
    const cfg = this.ctx.config;
    const domain = cfg.submission.qualify_domain;
    const own = `${login.toLowerCase()}@${domain}`;
    const q = (a: string) => qualifyAddress(a, domain);
    let sender = env.sender === null || env.sender === undefined ? own : q(String(env.sender));
    let warning: string | null = null;
    if (sender && sender.toLowerCase() !== own && !this.trusted(uid, login)) {
      const owned = this.ctx.senders?.owns(own, sender);
      if (!owned) {
        if (cfg.sendmail.untrusted_sender === 'refuse') {
          this.log.notice(null, `pickup: ${name}: ${login} (uid ${uid}) may not set sender to <${sender}>; refused`);
          await this.notify(login, `You (${login}) may not send mail as <${sender}> (sendmail -f); your message was not sent. Ask the administrator to add you to trusted_users.`);
          return;
        }
        // S24 / sendmail's authwarnings: the header says who really sent it.
        warning = `X-Authentication-Warning: ${cfg.hostname}: ${login} set sender to ${sender} using -f\r\n`;
      }
    }
    const recipients = [...new Set(env.recipients.map((r) => q(String(r))))].filter((r) => {
      const p = parsePath(`<${r}>`, 0, false);
      if (!p.ok) this.log.notice(null, `pickup: ${name}: recipient <${r}> dropped: ${p.error}`);
      return p.ok;
    });
    if (!recipients.length) {
      this.log.notice(null, `pickup: ${name}: no valid recipients from ${login}; removed`);
      await this.notify(login, 'Your message had no valid recipient address; it was not sent.');
      return;
    }
    const headerSender = sender;
    if (cfg.masquerade.envelope) sender = masqueradeAddress(sender, this.masquerade());
    const envelope: MessageEnvelope = {
      sender,
      recipients: recipients.map((address) => ({ address, ...(env.notify ? { notify: env.notify } : {}) })),
      clientAddress: '127.0.0.1',
      helo: 'localhost',
      via: 'sendmail',
      localUid: uid,
    };
    if (env.ret === 'FULL' || env.ret === 'HDRS') envelope.ret = env.ret;
    if (typeof env.envid === 'string') envelope.envid = env.envid;
    const trace = (id: string) =>
      `Received: (from ${login}@localhost uid ${uid})\r\n\tby ${cfg.hostname} (Correo sendmail) id ${id}${recipients.length === 1 ? `\r\n\tfor <${recipients[0]}>` : ''};\r\n\t${rfc5322Date(new Date())}\r\n`;
    const spool = await this.ctx.intake.begin(envelope, trace);
    if (warning) spool.addTrace?.(warning);
    const writer = new FixupWriter(spool, {
      fix: true,
      hostname: cfg.hostname,
      qualifyDomain: cfg.submission.always_add_domain ? domain : null,
      masquerade: this.masquerade(),
      defaultFrom: headerSender ? { address: headerSender, name: env.fullName ?? undefined } : null,
    }, Number.MAX_SAFE_INTEGER, () => `${spool.id}.${randomBytes(6).toString('hex')}@${cfg.hostname}`);
    try {
      const buf = Buffer.alloc(CHUNK);
      for (let pos = start; pos < end; ) {
        const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, end - pos), pos);
        if (!bytesRead) break;
        await writer.write(Buffer.from(buf.subarray(0, bytesRead)));
        pos += bytesRead;
      }
      await writer.finish();
      await writer.commit();
    } catch (e) {
      await writer.abort();
      throw e;
    }
    this.log.info(spool.id, `pickup: uid=${uid} from=<${login}>${warning ? `, sender set to <${sender}> by an untrusted user` : ''}${writer.result?.changes.length ? `, fix-ups: ${writer.result.changes.join(', ')}` : ''}`);
  }

  /** A short note from MAILER-DAEMON to a local user whose message was not taken. */
  private async notify(login: string, text: string): Promise<void> {
    const cfg = this.ctx.config;
    const to = `${login.toLowerCase()}@${cfg.submission.qualify_domain}`;
    const envelope: MessageEnvelope = { sender: '', recipients: [{ address: to }], clientAddress: '127.0.0.1', helo: 'localhost', via: 'sendmail' };
    const w = await this.ctx.intake.begin(envelope, `Received: by ${cfg.hostname} (Correo sendmail);\r\n\t${rfc5322Date(new Date())}\r\n`);
    await w.write(Buffer.from(
      `From: Mail Delivery System <MAILER-DAEMON@${cfg.hostname}>\r\nTo: <${to}>\r\nSubject: Your message was not sent\r\n` +
      `Date: ${rfc5322Date(new Date())}\r\nMessage-ID: <${w.id}.notice@${cfg.hostname}>\r\nAuto-Submitted: auto-replied\r\n\r\n${text}\r\n`));
    await w.commit();
  }
}
