import type { Config } from '../config/types.js';
import { Logger } from '../log/logger.js';
import type { Wire } from '../net/connection.js';
import type { EnvelopeRecipient, SpoolWriter } from '../queue/types.js';
import { Codes, reply, type Reply } from '../smtp/codes.js';
import { parseMail, parseRcpt, splitCommand } from '../smtp/command.js';
import { SmtpConnection, type SmtpDialogue } from '../smtp/connection.js';
import type { Frame } from '../smtp/lines.js';
import { writeDrop } from '../smtp/maildrop.js';
import { Incoming, type Action } from '../smtp/session.js';
import type { SendmailArgs } from './sendmail-args.js';

/**
 * `sendmail -bs`: an SMTP session (RFC 5321) on standard input and output, as programs that
 * speak SMTP to a local sendmail use it. The framing, PIPELINING and the DATA stream are the
 * server's SMTP connection code (src/smtp/connection.ts) over stdio; the commands are a
 * small dialogue of their own, because this runs as the calling user without the server's
 * store, queue or policy. Each accepted message goes to the maildrop, and the 250 comes once
 * it is on disk. The MAIL FROM address is treated like -f: the server decides whether this
 * user may use it (S24). No AUTH, no STARTTLS: the local user is the identity.
 */

type State = { kind: 'fresh' } | { kind: 'ready' } | { kind: 'mail'; sender: string; rcpts: EnvelopeRecipient[] };

const ok = (r: Reply): Action => ({ kind: 'reply', reply: r });

/** The message held in memory until the final "."; the maildrop file is written in one go. */
class MemoryWriter implements SpoolWriter {
  readonly id = 'sendmail-bs';
  private parts: Buffer[] = [];
  size = 0;

  async write(chunk: Buffer): Promise<void> {
    this.parts.push(chunk);
    this.size += chunk.length;
  }

  async commit(): Promise<void> {}

  async abort(): Promise<void> {
    this.parts = [];
  }

  message(): Buffer {
    return Buffer.concat(this.parts);
  }
}

class LocalSubmission implements SmtpDialogue {
  private state: State = { kind: 'fresh' };

  constructor(private readonly cfg: Config, private readonly args: SendmailArgs, private readonly dir: string, private readonly login: string) {}

  greeting(): Reply {
    return { code: 220, text: `${this.cfg.hostname} ESMTP Correo sendmail (local submission by ${this.login})` };
  }

  async frame(f: Frame): Promise<Action> {
    if (f.kind === 'bare-lf') return ok(reply(Codes.SyntaxError, 'Error: bare <LF> received; SMTP lines end with <CR><LF>'));
    if (f.kind === 'too-long') return ok(reply(Codes.LineTooLong, 'Error: line too long'));
    if (f.kind === 'too-long-more') return { kind: 'none' };
    return this.command(f.line);
  }

  private command(line: Buffer): Action {
    const p = splitCommand(line);
    if (!p.ok) return ok(p.reply);
    const { verb, arg } = p.value;
    const cfg = this.cfg;
    const st = this.state;
    switch (verb) {
      case 'EHLO':
      case 'HELO':
        this.state = { kind: 'ready' };
        return ok(verb === 'EHLO'
          ? { code: 250, text: [cfg.hostname, 'PIPELINING', '8BITMIME', 'SMTPUTF8', 'ENHANCEDSTATUSCODES', `SIZE ${cfg.smtp.max_message_size}`] }
          : { code: 250, text: cfg.hostname });
      case 'MAIL': {
        if (st.kind === 'fresh') return ok(reply(Codes.BadSequence, 'Error: send HELO/EHLO first'));
        if (st.kind === 'mail') return ok(reply(Codes.BadSequence, 'Error: nested MAIL command'));
        const m = parseMail(arg);
        if (!m.ok) return ok(m.reply);
        this.state = { kind: 'mail', sender: m.value.sender, rcpts: [] };
        return ok(reply(Codes.SenderOk, 'Ok'));
      }
      case 'RCPT': {
        if (st.kind !== 'mail') return ok(reply(Codes.BadSequence, 'Error: need MAIL command'));
        const r = parseRcpt(arg, { smtputf8: true, postmasterDomain: cfg.submission.qualify_domain });
        if (!r.ok) return ok(r.reply);
        if (st.rcpts.length >= cfg.smtp.max_recipients) return ok(reply(Codes.TooManyRecipients, 'Error: too many recipients'));
        st.rcpts.push({ address: r.value.address, ...(r.value.notify ? { notify: r.value.notify } : {}) });
        return ok(reply(Codes.RecipientOk, 'Ok'));
      }
      case 'DATA': {
        if (st.kind !== 'mail' || !st.rcpts.length) return ok(reply(Codes.BadSequence, 'Error: need RCPT command'));
        const incoming = new Incoming(new MemoryWriter(), cfg.smtp.max_message_size, { sender: st.sender, params: { smtputf8: true }, recipients: st.rcpts });
        return { kind: 'data', reply: reply(Codes.StartInput, 'End data with <CR><LF>.<CR><LF>'), incoming };
      }
      case 'RSET':
        if (st.kind !== 'fresh') this.state = { kind: 'ready' };
        return ok(reply(Codes.Ok, 'Ok'));
      case 'NOOP':
        return ok(reply(Codes.Ok, 'Ok'));
      case 'VRFY':
        return ok(reply(Codes.CannotVerify, 'Cannot VRFY user; try RCPT to attempt delivery'));
      case 'QUIT':
        return { kind: 'close', replies: [reply(Codes.Bye, 'Bye')] };
      default:
        return ok(reply(Codes.NotImplemented, `Error: ${verb} not available in sendmail -bs`));
    }
  }

  async endData(incoming: Incoming): Promise<Reply[]> {
    this.state = { kind: 'ready' };
    if (incoming.oversize) return [reply(Codes.MessageTooBig, 'Message size exceeds fixed maximum message size')];
    const { tx } = incoming;
    const notify = tx.recipients.find((r) => r.notify)?.notify;
    try {
      const message = (incoming.writer as MemoryWriter).message();
      const envelope = { sender: tx.sender, recipients: tx.recipients.map((r) => r.address), fullName: this.args.fullName, ...(notify ? { notify } : {}) };
      const name = await writeDrop(this.dir, envelope, message);
      return [reply(Codes.Ok, `Ok: queued as ${name.replace(/\.msg$/, '')}`)];
    } catch (e) {
      return [reply(Codes.LocalError, `Error: cannot queue the message: ${(e as Error).message}`)];
    }
  }

  tlsStarted(): void {}

  clientText(): string {
    return `${this.login}@localhost`;
  }

  summary(): string {
    return '';
  }

  loggedIn(): boolean {
    return true;
  }
}

/** Standard input and output as the SMTP connection's carrier. */
class StdioWire implements Wire {
  readonly ip = '127.0.0.1';
  readonly port = 0;
  readonly secure = false;
  private finish!: () => void;
  readonly finished = new Promise<void>((resolve) => (this.finish = resolve));
  /** Set once the session exists: asked how much input waits. */
  pending: () => number = () => 0;

  tlsInfo(): null {
    return null;
  }

  write(data: string | Buffer): boolean {
    return process.stdout.write(data);
  }

  get writeBacklog(): number {
    return process.stdout.writableLength;
  }

  drained(): Promise<void> {
    return new Promise((resolve) => (process.stdout.writableNeedDrain ? process.stdout.once('drain', resolve) : resolve()));
  }

  /** Stop reading standard input while a megabyte waits unprocessed. */
  progress(): void {
    if (this.pending() > 1024 * 1024) process.stdin.pause();
    else process.stdin.resume();
  }

  loggedIn(): void {}

  /** Never offered on -bs. */
  async startTls(): Promise<boolean> {
    return false;
  }

  close(): void {
    process.stdin.pause();
    this.finish();
  }
}

export async function smtpOnStdio(cfg: Config, args: SendmailArgs, dir: string, login: string): Promise<number> {
  const wire = new StdioWire();
  // The session logs nothing here: standard output is the SMTP stream.
  const quiet = new Logger(cfg.hostname, -1, null);
  const smtp = new SmtpConnection(wire, new LocalSubmission(cfg, args, dir, login), quiet, {
    hostname: cfg.hostname,
    maxLineLength: cfg.smtp.max_line_length,
    seconds: { login: 0, line: 0, data: 0, literal: 0 },
  });
  wire.pending = () => smtp.pending();
  smtp.open();
  process.stdin.on('data', (chunk: Buffer) => smtp.input(chunk));
  process.stdin.once('end', () => void untilIdle(smtp).then(() => wire.close()));
  await wire.finished;
  smtp.ended();
  return 0;
}

/** Standard input ended: the commands already read are answered first (a partial last line is not a command). */
async function untilIdle(smtp: SmtpConnection): Promise<void> {
  while (smtp.working()) await new Promise((r) => setTimeout(r, 5));
}
