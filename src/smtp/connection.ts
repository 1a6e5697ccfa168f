import type { Logger } from '../log/logger.js';
import type { Expiry, Receiving, Session, Wire } from '../net/connection.js';
import { Codes, formatReply, reply, type Reply } from './codes.js';
import { DataDecoder } from './data.js';
import { LineFramer, type Frame } from './lines.js';
import type { Action, Incoming, SmtpSession, TlsInfo } from './session.js';

/**
 * The SMTP family's side of a connection (SMTP, submission, LMTP, `sendmail -bs`): line framing, the DATA
 * stream (RFC 5321 4.1.1.4: only CRLF.CRLF ends it), PIPELINING and STARTTLS, over the
 * connection layer (src/net/). What to answer is decided by the dialogue: an SmtpSession, or
 * an LmtpSession wrapped around one.
 *
 * RFC 2920 (PIPELINING): every complete command already received is processed before the
 * replies are written, in one write; replies go out as soon as the input runs dry.
 */

/** What SMTP and LMTP sessions both offer the connection. */
export interface SmtpDialogue {
  greeting(): Reply;
  frame(f: Frame): Promise<Action>;
  /** The replies after the final "." (one; LMTP: one per recipient, RFC 2033 4.2). */
  endData(incoming: Incoming): Promise<Reply[]>;
  tlsStarted(info: TlsInfo): void;
  clientText(): string;
  summary(): string;
  /** True once a user authenticated (the login time no longer applies). */
  loggedIn(): boolean;
}

/** An SmtpSession as a dialogue. */
export function smtpDialogue(s: SmtpSession): SmtpDialogue {
  return {
    greeting: () => s.greeting(),
    frame: (f) => s.frame(f),
    endData: async (i) => [await s.endData(i)],
    tlsStarted: (t) => s.tlsStarted(t),
    clientText: () => s.clientText(),
    summary: () => s.summary(),
    loggedIn: () => s.authUser !== null,
  };
}

export interface SmtpLimits {
  hostname: string;
  maxLineLength: number;
  /** Seconds, for the messages of the total-time limits. */
  seconds: Record<Exclude<Expiry, 'idle'>, number>;
}

type Mode =
  | { kind: 'command' }
  | { kind: 'data'; decoder: DataDecoder; incoming: Incoming }
  /** STARTTLS accepted: nothing more is read as plaintext. */
  | { kind: 'upgrading' }
  | { kind: 'closed' };

/** Unsent replies beyond this wait for the client to read (a client that pipelines without reading). */
const OUTPUT_HIGH_WATER = 1024 * 1024;
const EMPTY = Buffer.alloc(0);

export class SmtpConnection implements Session {
  private readonly framer: LineFramer;
  private mode: Mode = { kind: 'command' };
  private inbox: Buffer[] = [];
  private inboxBytes = 0;
  private busy = false;
  private out = '';

  constructor(
    private readonly conn: Wire,
    private readonly dialogue: SmtpDialogue,
    private readonly log: Logger,
    private readonly limits: SmtpLimits,
  ) {
    this.framer = new LineFramer(limits.maxLineLength);
  }

  open(): void {
    this.log.debug(null, `connect from [${this.conn.ip}]:${this.conn.port}${this.conn.secure ? ' (TLS)' : ''}`);
    if (this.conn.secure) this.dialogue.tlsStarted(this.conn.tlsInfo()!);
    this.send(this.dialogue.greeting());
  }

  input(chunk: Buffer): void {
    if (this.mode.kind === 'closed' || this.mode.kind === 'upgrading') return;
    this.inbox.push(chunk);
    this.inboxBytes += chunk.length;
    if (!this.busy) void this.pump();
  }

  pending(): number {
    return this.inboxBytes + this.framer.buffered;
  }

  receiving(): Receiving {
    if (this.mode.kind === 'data') return 'data';
    return this.mode.kind === 'command' && this.framer.partial ? 'line' : null;
  }

  working(): boolean {
    return this.busy;
  }

  expired(why: Expiry): void {
    const host = this.limits.hostname;
    const client = this.dialogue.clientText();
    if (why === 'idle') {
      this.log.info(null, `timeout after ${this.mode.kind === 'data' ? 'DATA' : 'command'} from ${client}`);
      // RFC 5321 4.5.3.2.7 and 3.8: 421 and close.
      return this.closeWith([reply(Codes.ClosingTimeout, `${host} Error: timeout exceeded`)]);
    }
    const s = this.limits.seconds[why];
    if (why === 'login') {
      this.log.info(null, `no authentication within ${s} s from ${client}; closing`);
      return this.closeWith([reply(Codes.ClosingTooManyErrors, `${host} Error: authentication not completed within ${s} seconds`)]);
    }
    if (this.mode.kind === 'data') {
      this.log.info(this.mode.incoming.writer.id, `DATA not completed within ${s} s (${this.mode.incoming.size} octets) from ${client}; message discarded`);
      // RFC 5321 4.5.3.2: the data block has a total time; the message is not accepted.
      return this.closeWith([reply(Codes.ClosingTimeout, `${host} Error: DATA not completed within ${s} seconds; message not accepted`)]);
    }
    this.log.info(null, `command line not completed within ${s} s from ${client}; closing`);
    this.closeWith([reply(Codes.ClosingTimeout, `${host} Error: command line not completed within ${s} seconds`)]);
  }

  ended(): void {
    if (this.mode.kind === 'data') {
      this.log.info(this.mode.incoming.writer.id, `lost connection after DATA (${this.mode.incoming.size} octets) from ${this.dialogue.clientText()}; message discarded`);
    }
    this.abortData();
    this.mode = { kind: 'closed' };
    this.inbox = [];
    this.log.debug(null, `disconnect from ${this.dialogue.clientText()} ${this.dialogue.summary()}`);
  }

  /** Processes the inbox in order, one chunk at a time; only one pump runs at a time. */
  private async pump(): Promise<void> {
    this.busy = true;
    try {
      while (this.inbox.length && (this.mode.kind === 'command' || this.mode.kind === 'data')) {
        const chunk = this.inbox.shift()!;
        this.inboxBytes -= chunk.length;
        await this.consume(chunk);
        this.conn.progress();
        if (this.conn.writeBacklog > OUTPUT_HIGH_WATER) await this.conn.drained();
      }
      this.flush();
    } catch (e) {
      this.log.error(null, `session with ${this.dialogue.clientText()} failed: ${(e as Error).stack ?? e}`);
      this.closeWith([reply(Codes.ClosingBusy, `${this.limits.hostname} Error: internal error; closing connection`)]);
    } finally {
      this.busy = false;
      if (this.mode.kind === 'command' || this.mode.kind === 'data') {
        this.conn.progress();
        if (this.inbox.length) void this.pump();
      }
    }
  }

  private async consume(chunk: Buffer): Promise<void> {
    let buf = chunk;
    while (buf.length) {
      const mode = this.mode;
      if (mode.kind === 'data') {
        buf = await this.consumeData(mode, buf);
        continue;
      }
      if (mode.kind !== 'command') return;
      this.framer.push(buf);
      buf = EMPTY;
      for (let f = this.framer.next(); f; f = this.framer.next()) {
        const action = await this.dialogue.frame(f);
        if (this.mode.kind !== 'command') return; // closed while we waited
        if (this.dialogue.loggedIn()) this.conn.loggedIn();
        if (!this.apply(action)) return;
        if (action.kind === 'data') {
          this.mode = { kind: 'data', decoder: new DataDecoder(), incoming: action.incoming };
          // RFC 2920 3.1: DATA ends a pipelined group; the client waits for 354.
          this.flush();
          this.conn.progress();
          buf = this.framer.takeRest();
          break;
        }
      }
    }
  }

  /** Streams message octets; after the final "." the replies are queued. Returns what follows the message. */
  private async consumeData(mode: Extract<Mode, { kind: 'data' }>, buf: Buffer): Promise<Buffer> {
    const r = mode.decoder.push(buf);
    for (const b of r.out) {
      await mode.incoming.write(b);
      if (this.mode.kind !== 'data') return EMPTY; // client went away meanwhile
    }
    if (!r.done) return EMPTY;
    this.mode = { kind: 'command' };
    for (const answer of await this.dialogue.endData(mode.incoming)) this.queue(answer);
    return r.rest;
  }

  /** Carries out an action; false when no more input is to be read as commands. */
  private apply(a: Action): boolean {
    switch (a.kind) {
      case 'none':
        return true;
      case 'reply':
      case 'data':
        this.queue(a.reply);
        return true;
      case 'close':
        this.closeWith(a.replies);
        return false;
      case 'starttls':
        this.startTls(a.reply);
        return false;
    }
  }

  private queue(r: Reply): void {
    this.out += formatReply(r);
  }

  private flush(): void {
    if (!this.out || this.mode.kind === 'closed') return;
    this.conn.write(this.out);
    this.out = '';
  }

  private send(r: Reply): void {
    this.queue(r);
    this.flush();
  }

  private closeWith(replies: Reply[]): void {
    if (this.mode.kind === 'closed') return;
    for (const r of replies) this.queue(r);
    this.flush();
    this.abortData();
    this.mode = { kind: 'closed' };
    this.inbox = [];
    this.conn.close();
  }

  /** Whatever the state, a message not yet committed leaves nothing behind. */
  private abortData(): void {
    if (this.mode.kind === 'data') void this.mode.incoming.abort();
  }

  /**
   * RFC 3207 4.2: after "220 Ready to start TLS" the next bytes must be the TLS handshake.
   * Anything the client pipelined after STARTTLS is thrown away, never executed inside TLS
   * (CVE-2011-0411 and kin): what we read already is dropped here, the rest goes to TLS.
   */
  private startTls(r: Reply): void {
    this.mode = { kind: 'upgrading' };
    this.framer.reset();
    this.inbox = [];
    this.inboxBytes = 0;
    this.send(r);
    void this.conn.startTls().then((ok) => {
      if (!ok || this.mode.kind !== 'upgrading') return;
      this.dialogue.tlsStarted(this.conn.tlsInfo()!);
      this.mode = { kind: 'command' };
    });
  }
}
