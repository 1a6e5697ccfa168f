import { StoreUnavailableError } from '../store/types.js';
import type { Readable } from 'node:stream';
import type { Context } from '../context.js';
import type { Logger } from '../log/logger.js';
import type { User, MessageRecord } from '../store/types.js';
import type { AuthOutcome } from '../auth/types.js';
import {
  decodeResponse, offeredMechanisms, PLAINTEXT_MECHANISMS, startExchange,
  type SaslExchange, type SaslStep,
} from '../auth/sasl.js';
import { MAX_COMMAND_LINE, type Frame } from './framing.js';
import { parseCommand, parseLineCount, parseMessageNumber } from './commands.js';
import { DotStuffer, TopFilter } from './transfer.js';
import { Maildrop } from './maildrop.js';
import { Reply } from './replies.js';
import type { Expiry } from '../net/connection.js';

/** What a session needs from its connection; server.ts implements it over a socket. */
export interface Transport {
  readonly secure: boolean;
  readonly clientAddress: string;
  /** Sends bytes; resolves when the socket can take more (back-pressure), rejects once it is gone. */
  write(data: string | Buffer): Promise<void>;
  /** RFC 2595 4: drop every byte received so far, send `okLine`, then run the TLS handshake. */
  startTls(okLine: string): Promise<void>;
  /** The longest line accepted from now on (raised while a SASL response is awaited). */
  setLineLimit(max: number): void;
  /** Flushes what was written, then closes. */
  close(): void;
}

/** RFC 1939 3: the three states of a POP3 session. */
type State =
  | {
      kind: 'authorization';
      /** The name given by USER, waiting for PASS. */
      user: string | null;
      /** A SASL exchange waiting for the client's next response (RFC 5034 4). */
      sasl: SaslExchange | null;
    }
  | { kind: 'transaction'; user: User; drop: Maildrop; method: string }
  | { kind: 'update'; user: User };

type StateKind = State['kind'];

interface Args {
  args: string[];
  rest: string;
}

interface CommandSpec {
  states: StateKind[];
  /** Bounds on the number of space-separated arguments. */
  args: [min: number, max: number];
  run(s: Session, a: Args): Promise<void>;
}

/**
 * RFC 5034 4 limits AUTH with its initial response to the 255-octet command line; a client
 * that needs more sends its response after the "+ " continuation. We accept that much there.
 */
export const MAX_SASL_RESPONSE = 8192;

/** Thrown when the connection is gone, or a multi-line response broke off halfway. */
export class ConnectionLost extends Error {}

/** A Readable from BlobStore.stream (fs.ReadStream): resolves once the file is open. */
/** Messages up to this size are read whole and sent in one write; larger ones are streamed. */
const WHOLE_READ_MAX = 256 * 1024;

function opened(stream: Readable): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    stream.once('error', onError);
    stream.once('open', () => {
      stream.off('error', onError);
      resolve();
    });
  });
}

export class Session {
  private state: State = { kind: 'authorization', user: null, sasl: null };
  private errors = 0;
  private closing = false;
  /** The lock is released and the logout logged. */
  private finished = false;
  private readonly stats = { retr: 0, top: 0, dele: 0, size: 0 };
  private lockedUserId: number | null = null;

  constructor(
    private readonly ctx: Context,
    private readonly t: Transport,
    readonly id: string,
    private readonly log: Logger,
  ) {}

  get closed(): boolean {
    return this.closing;
  }

  private get plaintextAllowed(): boolean {
    return this.t.secure || this.ctx.config.auth.plaintext_without_tls;
  }

  private reply(line: string): Promise<void> {
    return this.t.write(line + '\r\n');
  }

  /** RFC 1939 3: a multi-line response, byte-stuffed, ending with "." CRLF. */
  private replyLines(first: string, lines: string[]): Promise<void> {
    const body = lines.map((l) => (l.startsWith('.') ? '.' + l : l) + '\r\n').join('');
    return this.t.write(`${first}\r\n${body}.\r\n`);
  }

  private close(reason = 'closed'): void {
    this.closing = true;
    this.endSession(reason);
    this.t.close();
  }

  async greet(): Promise<void> {
    await this.reply(Reply.greeting(this.ctx.config.hostname));
  }

  /** One frame from the client, handled to the end before the next one is looked at. */
  async handle(frame: Frame): Promise<void> {
    if (this.closing) return;
    try {
      await this.dispatch(frame);
    } catch (e) {
      if (this.closing || e instanceof ConnectionLost) {
        this.log.debug(this.id, `connection lost: ${(e as Error).message}`);
        this.close('disconnected');
        return;
      }
      if (e instanceof StoreUnavailableError) {
        // RFC 3206 4: SYS/TEMP, the client should try again later.
        this.log.warn(this.id, `closing: ${e.message}`);
        await this.reply(Reply.storeUnavailable).catch(() => {});
        this.close('error');
        return;
      }
      this.log.error(this.id, `session error, closing: ${(e as Error).stack ?? e}`);
      await this.reply(Reply.internal).catch(() => {});
      this.close('error');
    }
  }

  private async dispatch(frame: Frame): Promise<void> {
    const st = this.state;
    const sasl = st.kind === 'authorization' ? st.sasl : null;
    if (frame.kind === 'too-long-more') return this.error(null);
    if (frame.kind === 'too-long') {
      if (sasl) this.endSasl();
      return this.error(Reply.lineTooLong);
    }
    if (sasl) return this.saslResponse(sasl, frame.line);

    const cmd = parseCommand(frame.line);
    if (!cmd.ok) {
      if (cmd.reason === 'bad-characters') return this.error(Reply.badCharacters);
      return this.error(Reply.unknownCommand);
    }
    const spec = COMMANDS[cmd.verb];
    if (!spec) return this.error(Reply.unknownCommand);
    if (!spec.states.includes(st.kind)) return this.error(Reply.wrongState);
    const [min, max] = spec.args;
    if (cmd.args.length < min || cmd.args.length > max) return this.error(Reply.syntax);
    this.log.debug(this.id, `command: ${cmd.verb === 'PASS' ? 'PASS ***' : cmd.verb === 'AUTH' ? 'AUTH ' + (cmd.args[0] ?? '') : frame.line.toString('latin1')}`);
    await spec.run(this, { args: cmd.args, rest: cmd.rest });
  }

  /** Counts an error; past [pop3] max_errors the client is told and the connection closed. */
  private async error(line: string | null): Promise<void> {
    this.errors++;
    if (this.errors >= this.ctx.config.pop3.max_errors) {
      this.log.notice(this.id, `too many errors from ${this.t.clientAddress}, closing`);
      this.endSession('errors');
      await this.reply(Reply.tooManyErrors);
      this.close('errors');
      return;
    }
    if (line) await this.reply(line);
  }

  /**
   * RFC 1939 3: a timer ran out (idle, or a total time: login, one command line); close
   * without entering UPDATE (nothing is deleted).
   */
  async timeout(why: Expiry = 'idle'): Promise<void> {
    if (this.closing) return;
    const c = this.ctx.config.pop3;
    const [line, text] = why === 'idle' ? [Reply.idleTimeout, 'idle timeout']
      : why === 'login' ? [Reply.loginTimeout(c.login_timeout), `no login within ${c.login_timeout} s`]
      : [Reply.commandTimeout(c.command_timeout), `command line not completed within ${c.command_timeout} s`];
    this.log.info(this.id, `${text}, client=${this.t.clientAddress}`);
    this.closing = true;
    this.endSession('timeout');
    await this.reply(line).catch(() => {});
    this.t.close();
  }

  /** Logged in (TRANSACTION state): the login time no longer applies. */
  get loggedIn(): boolean {
    return this.state.kind !== 'authorization';
  }

  /** The server is stopping: tell the client; like a dropped connection, nothing is deleted. */
  async shutdown(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.endSession('shutdown');
    await this.reply(Reply.shuttingDown).catch(() => {});
    this.t.close();
  }

  /** The connection is gone, whatever the way. */
  ended(): void {
    this.closing = true;
    this.endSession('disconnected');
  }

  /**
   * The session is over (the connection may still be flushing): release the lock at once so
   * that the next login need not wait for the socket to close, and log the end of a login.
   * RFC 1939 6: without QUIT there is no UPDATE state; the deletion marks are forgotten.
   */
  private endSession(reason: string): void {
    if (this.finished) return;
    this.finished = true;
    const st = this.state;
    if (st.kind === 'transaction') {
      this.logLogout(st.user.address, reason, 0, st.drop.stat().count + st.drop.deletedIds().length);
    }
    this.releaseLock();
  }

  private releaseLock(): void {
    if (this.lockedUserId === null) return;
    void this.ctx.locks.release(`maildrop:${this.lockedUserId}`, this.id);
    this.lockedUserId = null;
  }

  private logLogout(address: string, reason: string, expunged: number, left: number): void {
    const s = this.stats;
    this.log.info(
      this.id,
      `logout: user=${address}, retr=${s.retr}, top=${s.top}, dele=${s.dele}, size=${s.size}, expunged=${expunged}, left=${left}, reason=${reason}`,
    );
  }

  // ---- AUTHORIZATION state (RFC 1939 4, RFC 1939 7 USER/PASS, RFC 5034 AUTH, RFC 2595 STLS)

  async capa(): Promise<void> {
    // RFC 2449 5 and 6.
    const lines = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING', 'EXPIRE NEVER', 'LOGIN-DELAY 0'];
    if (this.state.kind === 'authorization') {
      if (this.plaintextAllowed) lines.push('USER');
      const mechs = this.mechanisms();
      if (mechs.length) lines.push(`SASL ${mechs.join(' ')}`);
      if (!this.t.secure) lines.push('STLS');
    }
    lines.push('IMPLEMENTATION Correo');
    await this.replyLines(Reply.capaFollows, lines);
  }

  private mechanisms(): string[] {
    return offeredMechanisms(this.t.secure, this.ctx.config.auth.plaintext_without_tls, this.ctx.config.auth.mechanisms);
  }

  async stls(): Promise<void> {
    if (this.t.secure) return this.reply(Reply.tlsActive);
    await this.t.startTls(Reply.stls);
    // RFC 2595 4: whatever was said before TLS is forgotten.
    this.state = { kind: 'authorization', user: null, sasl: null };
    this.log.debug(this.id, `tls started, client=${this.t.clientAddress}`);
  }

  async user({ args }: Args): Promise<void> {
    if (!this.plaintextAllowed) return this.reply(Reply.plaintextDisallowed);
    this.state = { kind: 'authorization', user: args[0], sasl: null };
    await this.reply(Reply.userOk);
  }

  async pass({ rest }: Args): Promise<void> {
    if (!this.plaintextAllowed) return this.reply(Reply.plaintextDisallowed);
    const st = this.state;
    if (st.kind !== 'authorization' || st.user === null) return this.reply(Reply.userFirst);
    const name = st.user;
    // RFC 1939 7: after a failed PASS the client starts over with USER.
    this.state = { kind: 'authorization', user: null, sasl: null };
    const outcome = await this.ctx.auth.verify(name, rest, 'pop3', this.t.clientAddress);
    await this.afterAuth(outcome, 'USER');
  }

  async auth({ args }: Args): Promise<void> {
    const offered = this.mechanisms();
    if (args.length === 0) {
      // Not in RFC 5034; the older RFC 1734 practice of listing mechanisms, which some clients probe.
      return this.replyLines(Reply.mechanismsFollow, offered);
    }
    const mech = args[0].toUpperCase();
    const exchange = startExchange(mech, offered, { auth: this.ctx.auth, service: 'pop3', clientAddress: this.t.clientAddress, hostname: this.ctx.config.hostname });
    if (!exchange) {
      return this.reply(PLAINTEXT_MECHANISMS.includes(mech) && !this.plaintextAllowed ? Reply.plaintextDisallowed : Reply.unknownMechanism);
    }
    let initial: Buffer | null = null;
    if (args.length === 2) {
      // RFC 5034 4: "=" is an empty initial response.
      const d = args[1] === '=' ? Buffer.alloc(0) : decodeResponse(args[1]);
      if (d === 'invalid' || d === 'cancel') return this.reply(Reply.authMalformed('initial response is not base64'));
      initial = d;
    }
    await this.saslStep(exchange, await exchange.start(initial));
  }

  private async saslResponse(exchange: SaslExchange, line: Buffer): Promise<void> {
    const d = decodeResponse(line.toString('latin1'));
    if (d === 'cancel') {
      // RFC 5034 4: "*" cancels; the server answers -ERR.
      this.endSasl();
      return this.reply(Reply.authCancelled);
    }
    if (d === 'invalid') {
      this.endSasl();
      return this.reply(Reply.authMalformed('response is not base64'));
    }
    await this.saslStep(exchange, await exchange.next(d));
  }

  private async saslStep(exchange: SaslExchange, step: SaslStep): Promise<void> {
    switch (step.kind) {
      case 'challenge':
        this.state = { kind: 'authorization', user: null, sasl: exchange };
        this.t.setLineLimit(MAX_SASL_RESPONSE);
        return this.reply(Reply.saslChallenge(step.data.toString('base64')));
      case 'malformed':
        this.endSasl();
        return this.reply(Reply.authMalformed(step.message));
      case 'done':
        this.endSasl();
        return this.afterAuth(step.outcome, exchange.mechanism);
    }
  }

  private endSasl(): void {
    this.state = { kind: 'authorization', user: null, sasl: null };
    this.t.setLineLimit(MAX_COMMAND_LINE);
  }

  private async afterAuth(outcome: AuthOutcome, method: string): Promise<void> {
    if (!outcome.ok) {
      // Throttled: we answer at once (no delay) with SYS/TEMP, without checking the password.
      return this.reply(outcome.reason === 'throttled' ? Reply.throttled : Reply.authFailed);
    }
    await this.openMaildrop(outcome.user, method);
  }

  /** RFC 1939 4: lock the maildrop, take its snapshot, enter TRANSACTION. */
  private async openMaildrop(address: string, method: string): Promise<void> {
    const user = await this.ctx.store.getUser(address);
    if (!user) return this.reply(Reply.noMaildrop);
    if (!(await this.ctx.locks.acquire(`maildrop:${user.id}`, this.id))) {
      this.log.notice(this.id, `maildrop in use: user=${address}, client=${this.t.clientAddress}`);
      return this.reply(Reply.inUse);
    }
    this.lockedUserId = user.id;
    let drop: Maildrop;
    try {
      const inbox = await this.ctx.store.getMailbox(user.id, 'INBOX');
      if (!inbox) {
        this.releaseLock();
        return this.reply(Reply.noMaildrop);
      }
      drop = new Maildrop(inbox, await this.ctx.store.listMessages(inbox.id));
    } catch (e) {
      this.releaseLock();
      this.log.error(this.id, `cannot open maildrop of ${address}: ${(e as Error).message}`);
      return this.reply(Reply.maildropUnavailable);
    }
    if (this.closing) return this.releaseLock(); // the client left while we were looking
    this.state = { kind: 'transaction', user, drop, method };
    const { count, octets } = drop.stat();
    this.log.info(
      this.id,
      `login: user=${address}, client=${this.t.clientAddress}, method=${method}, tls=${this.t.secure ? 'yes' : 'no'}, messages=${count}, size=${octets}`,
    );
    await this.reply(Reply.loggedIn(count, octets));
  }

  // ---- TRANSACTION state (RFC 1939 5 and 7)

  private get drop(): Maildrop {
    if (this.state.kind !== 'transaction') throw new Error('not in TRANSACTION state');
    return this.state.drop;
  }

  /** Message `arg` of the snapshot, or the reply that says why not (already sent). */
  private async message(arg: string): Promise<[number, MessageRecord] | null> {
    const n = parseMessageNumber(arg);
    const m = n === null ? null : this.drop.get(n);
    if (n === null || m === null) {
      await this.reply(Reply.noSuchMessage);
      return null;
    }
    if (m === 'deleted') {
      await this.reply(Reply.alreadyDeleted(n));
      return null;
    }
    return [n, m];
  }

  async stat(): Promise<void> {
    const { count, octets } = this.drop.stat();
    await this.reply(Reply.stat(count, octets));
  }

  async list({ args }: Args): Promise<void> {
    if (args.length) {
      const m = await this.message(args[0]);
      if (m) await this.reply(Reply.scanListing(m[0], m[1].size));
      return;
    }
    const { count, octets } = this.drop.stat();
    const lines = [...this.drop.live()].map(([n, m]) => `${n} ${m.size}`);
    await this.replyLines(Reply.listFollows(count, octets), lines);
  }

  async uidl({ args }: Args): Promise<void> {
    const drop = this.drop;
    if (args.length) {
      const m = await this.message(args[0]);
      if (m) await this.reply(Reply.uidlListing(m[0], drop.uniqueId(m[1])));
      return;
    }
    const lines = [...drop.live()].map(([n, m]) => `${n} ${drop.uniqueId(m)}`);
    await this.replyLines(Reply.uidlFollows, lines);
  }

  async retr({ args }: Args): Promise<void> {
    const m = await this.message(args[0]);
    if (!m) return;
    if (await this.sendMessage(m[0], m[1], Reply.retr(m[1].size), null)) {
      this.stats.retr++;
      this.stats.size += m[1].size;
    }
  }

  async top({ args }: Args): Promise<void> {
    const lines = parseLineCount(args[1]);
    if (lines === null) return this.reply(Reply.syntax);
    const m = await this.message(args[0]);
    if (!m) return;
    if (await this.sendMessage(m[0], m[1], Reply.top, lines)) this.stats.top++;
  }

  /**
   * Streams a message from its file, byte-stuffed. Before "+OK" a missing file is a -ERR and
   * the session goes on; after it, a failure can only end the connection (a -ERR would be
   * taken for message text). Returns whether the message was sent.
   */
  private async sendMessage(n: number, m: MessageRecord, first: string, topLines: number | null): Promise<boolean> {
    if (m.size <= WHOLE_READ_MAX) return this.sendSmallMessage(n, m, first, topLines);
    const stream = this.ctx.blobs.stream(m.blobId);
    try {
      await opened(stream);
    } catch (e) {
      stream.destroy();
      this.log.error(this.id, `message ${n} (blob ${m.blobId}) unreadable: ${(e as Error).message}`);
      await this.reply(Reply.messageUnavailable(n));
      return false;
    }
    await this.reply(first);
    const stuffer = new DotStuffer();
    const top = topLines === null ? null : new TopFilter(topLines);
    try {
      for await (const chunk of stream) {
        const data = top ? top.push(chunk as Buffer) : (chunk as Buffer);
        if (data.length) await this.t.write(stuffer.push(data));
        if (top?.done) break;
      }
    } catch (e) {
      throw new ConnectionLost(`while sending message ${n}: ${(e as Error).message}`);
    } finally {
      stream.destroy();
    }
    await this.t.write(stuffer.end());
    return true;
  }

  /**
   * Most mail: read whole (one synchronous read from the page cache, no stream to set up and
   * no thread-pool round trips) and sent with its "+OK" and terminator in one write.
   */
  private async sendSmallMessage(n: number, m: MessageRecord, first: string, topLines: number | null): Promise<boolean> {
    let body: Buffer;
    try {
      body = await this.ctx.blobs.read(m.blobId, m.size);
    } catch (e) {
      this.log.error(this.id, `message ${n} (blob ${m.blobId}) unreadable: ${(e as Error).message}`);
      await this.reply(Reply.messageUnavailable(n));
      return false;
    }
    if (topLines !== null) body = new TopFilter(topLines).push(body);
    const stuffer = new DotStuffer();
    const stuffed = stuffer.push(body);
    await this.t.write(Buffer.concat([Buffer.from(`${first}\r\n`), stuffed, stuffer.end()]));
    return true;
  }

  async dele({ args }: Args): Promise<void> {
    const m = await this.message(args[0]);
    if (!m) return;
    this.drop.markDeleted(m[0]);
    this.stats.dele++;
    await this.reply(Reply.deleted(m[0]));
  }

  async noop(): Promise<void> {
    await this.reply(Reply.ok);
  }

  async rset(): Promise<void> {
    this.drop.reset();
    this.stats.dele = 0;
    const { count, octets } = this.drop.stat();
    await this.reply(Reply.reset(count, octets));
  }

  // ---- QUIT: from AUTHORIZATION it just ends; from TRANSACTION it enters UPDATE (RFC 1939 6)

  async quit(): Promise<void> {
    const st = this.state;
    const hostname = this.ctx.config.hostname;
    if (st.kind !== 'transaction') {
      await this.reply(Reply.signOff(hostname));
      this.close('quit');
      return;
    }
    this.state = { kind: 'update', user: st.user };
    const ids = st.drop.deletedIds();
    const left = st.drop.stat().count;
    let line: string;
    let expunged = 0;
    try {
      if (ids.length) {
        await this.ctx.store.expunge(st.drop.mailbox.id, ids);
        // IMAP sessions on this INBOX (IDLE, NOOP) learn of the expunges now (issue 10.12).
        this.ctx.changes.publish(st.drop.mailbox.id);
      }
      expunged = ids.length;
      line = Reply.signOffLeft(hostname, left);
    } catch (e) {
      this.log.error(this.id, `expunge failed for ${st.user.address}: ${(e as Error).message}`);
      line = Reply.notRemoved;
    }
    this.releaseLock();
    this.logLogout(st.user.address, 'quit', expunged, left);
    this.finished = true;
    this.closing = true;
    await this.reply(line).catch(() => {});
    this.t.close();
  }
}

const AUTHORIZATION: StateKind[] = ['authorization'];
const TRANSACTION: StateKind[] = ['transaction'];

/** The commands, the states they are valid in, and their argument counts (RFC 1939 9). */
const COMMANDS: Record<string, CommandSpec> = {
  CAPA: { states: ['authorization', 'transaction'], args: [0, 0], run: (s) => s.capa() },
  STLS: { states: AUTHORIZATION, args: [0, 0], run: (s) => s.stls() },
  USER: { states: AUTHORIZATION, args: [1, 1], run: (s, a) => s.user(a) },
  // RFC 1939 7: the password is the rest of the line, spaces included.
  PASS: { states: AUTHORIZATION, args: [1, Infinity], run: (s, a) => s.pass(a) },
  AUTH: { states: AUTHORIZATION, args: [0, 2], run: (s, a) => s.auth(a) },
  QUIT: { states: ['authorization', 'transaction'], args: [0, 0], run: (s) => s.quit() },
  STAT: { states: TRANSACTION, args: [0, 0], run: (s) => s.stat() },
  LIST: { states: TRANSACTION, args: [0, 1], run: (s, a) => s.list(a) },
  UIDL: { states: TRANSACTION, args: [0, 1], run: (s, a) => s.uidl(a) },
  RETR: { states: TRANSACTION, args: [1, 1], run: (s, a) => s.retr(a) },
  TOP: { states: TRANSACTION, args: [2, 2], run: (s, a) => s.top(a) },
  DELE: { states: TRANSACTION, args: [1, 1], run: (s, a) => s.dele(a) },
  NOOP: { states: TRANSACTION, args: [0, 0], run: (s) => s.noop() },
  RSET: { states: TRANSACTION, args: [0, 0], run: (s) => s.rset() },
};
