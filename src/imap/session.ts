import { StoreUnavailableError } from '../store/types.js';
import { createDeflateRaw, createInflateRaw, constants as zc, type DeflateRaw, type InflateRaw } from 'node:zlib';
import type { Context } from '../context.js';
import { LogLevel, type Logger } from '../log/logger.js';
import { Args } from './args.js';
import { Answered, ImapError } from './errors.js';
import { CommandParser, type Token } from './parser.js';
import { Output } from './output.js';
import type { Piece } from './writer.js';
import { flagsResponses, type SelectedMailbox } from './selected.js';
import type { MailboxNotifier, Watcher } from './notifier.js';
import { COMMANDS } from './commands/index.js';
import { capabilities } from './capabilities.js';
import { limitsAfterLogin, limitsBeforeLogin } from './limits.js';
import type { Connection, Expiry, Receiving, Session as NetSession } from '../net/connection.js';

export interface AuthUser {
  id: number;
  address: string;
  /** Named in config `admins`: may administer every user's mailboxes. */
  admin: boolean;
}

/** RFC 9051 3: the connection's state. */
export type State =
  | { kind: 'not-authenticated' }
  | { kind: 'authenticated'; user: AuthUser }
  | { kind: 'selected'; user: AuthUser; box: SelectedMailbox }
  | { kind: 'logout' };

export type StateKind = State['kind'];

export interface Command {
  tag: string;
  /** Upper-case verb; "UID FETCH" etc. for UID commands. */
  verb: string;
  uid: boolean;
  args: Args;
}

/** What a handler returns: the text (and code) of the tagged OK. */
export type Done = void | string | { code?: string; text: string };

export interface CommandSpec {
  states: StateKind[];
  run(s: Session, c: Command): Promise<Done>;
}

/** Verbs during which EXPUNGE must not be sent (RFC 9051 7.4.1): sequence numbers are in use. */
const NO_EXPUNGE = new Set(['FETCH', 'STORE', 'SEARCH', 'SORT', 'THREAD']);

export interface ServerShared {
  ctx: Context;
  log: Logger;
  notifier: MailboxNotifier;
  /** Open sessions per user address ([imap] max_sessions_per_user); per client address is the connection layer's. */
  perUser: Map<string, number>;
}

let nextConnId = 1;

/**
 * One IMAP connection: reads commands, runs them one at a time, writes responses. Socket,
 * TLS, timers and connection limits are the connection layer's (src/net/).
 */
export class Session implements Watcher, NetSession {
  readonly id = `imap${(nextConnId++).toString(36)}`;
  state: State = { kind: 'not-authenticated' };
  readonly parser: CommandParser;
  readonly out: Output;
  /** Extensions turned on with ENABLE (RFC 5161) or implied (CONDSTORE by a MODSEQ fetch). */
  readonly enabled = new Set<string>();
  /** RFC 5182 SEARCHRES: UIDs saved by SEARCH RETURN (SAVE), read as "$". */
  saved: number[] | null = null;
  compressed = false;
  private running = false;
  private closed = false;
  private lineWaiter: (() => void) | null = null;
  /** During IDLE: called when the selected mailbox changes. */
  idleWake: (() => void) | null = null;
  private deflate: DeflateRaw | null = null;
  /** RFC 4978: once COMPRESS is active, input goes through this first. */
  private inflate: InflateRaw | null = null;
  /** BAD answers so far ([imap] max_errors). */
  private errors = 0;
  readonly clientAddress: string;

  constructor(readonly shared: ServerShared, private readonly conn: Connection) {
    const cfg = shared.ctx.config.imap;
    this.parser = new CommandParser(limitsBeforeLogin(cfg));
    this.clientAddress = conn.ip;
    this.out = new Output(conn.socket);
  }

  get secure(): boolean {
    return this.conn.secure;
  }

  get ctx(): Context {
    return this.shared.ctx;
  }

  get log(): Logger {
    return this.shared.log;
  }

  get utf8(): boolean {
    return this.enabled.has('UTF8=ACCEPT') || this.enabled.has('IMAP4REV2');
  }

  get rev2(): boolean {
    return this.enabled.has('IMAP4REV2');
  }

  get user(): AuthUser | null {
    return this.state.kind === 'authenticated' || this.state.kind === 'selected' ? this.state.user : null;
  }

  get selected(): SelectedMailbox | null {
    return this.state.kind === 'selected' ? this.state.box : null;
  }

  /** RFC 9051 5.4: at least 30 minutes once logged in; strangers get less. */
  static idleMs(idleTimeout: number, loggedIn: boolean): number {
    return loggedIn ? idleTimeout * 1000 : Math.min(60_000, idleTimeout * 1000);
  }

  // --- the connection layer's questions (src/net/connection.ts)
  open(): void {
    this.out.stream = this.conn.socket;
    this.log.debug(null, `${this.id}: connect from ${this.clientAddress}${this.secure ? ' (tls)' : ''}`);
    this.greet();
  }

  input(b: Buffer): void {
    if (this.inflate) this.inflate.write(b);
    else this.received(b);
  }

  pending(): number {
    return this.parser.buffered;
  }

  receiving(): Receiving {
    return this.parser.partial;
  }

  /** Like a silent client, one that does not read our answers is idle: never "busy" for the idle timer. */
  working(): boolean {
    return false;
  }

  expired(why: Expiry): void {
    if (this.closed) return;
    const c = this.ctx.config.imap;
    const text = why === 'idle' ? 'Autologout; idle for too long'
      : why === 'login' ? `No login within ${c.login_timeout} seconds`
      : why === 'literal' ? `Literal not completed within ${c.literal_timeout} seconds`
      : `Command not completed within ${c.command_timeout} seconds`;
    if (why !== 'idle') this.log.info(null, `${this.id}: ${text.toLowerCase()}, client=${this.clientAddress}`);
    this.write([`* BYE [UNAVAILABLE] ${text}\r\n`]);
    void this.out.flush().then(() => this.close());
  }

  ended(): void {
    this.close();
  }

  greet(): void {
    this.write([`* OK [CAPABILITY ${capabilities(this).join(' ')}] ${this.ctx.config.hostname} Correo IMAP4rev2 ready\r\n`]);
    void this.out.flush();
  }

  /** Counts a BAD answer; past [imap] max_errors the client is told and the connection closed. */
  private async badAnswer(): Promise<boolean> {
    if (++this.errors < this.ctx.config.imap.max_errors) return false;
    this.log.info(null, `${this.id}: too many bad commands from ${this.clientAddress}; closing`);
    this.write(['* BYE Too many invalid commands\r\n']);
    await this.out.flush();
    this.close();
    return true;
  }

  write(pieces: Piece[]): void {
    this.out.pushAll(pieces);
  }

  untagged(...pieces: Piece[]): void {
    this.out.push('* ');
    this.out.pushAll(pieces);
    this.out.push('\r\n');
  }

  private received(b: Buffer): void {
    if (this.closed) return;
    this.parser.push(b);
    if (this.lineWaiter) {
      this.lineWaiter();
      return;
    }
    // Pipelined commands wait in the parser; the connection layer stops reading when too much is waiting.
    if (!this.running) void this.pump();
  }

  /** Runs the commands that are complete in the buffer, one after the other. */
  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (!this.closed) {
        const ev = this.parser.next();
        if (!ev) break;
        switch (ev.kind) {
          case 'continue':
            this.write(['+ Ready for literal data\r\n']);
            break;
          case 'bad':
            this.write([`${ev.tag ?? '*'} BAD ${ev.text}\r\n`]);
            if (await this.badAnswer()) return;
            break;
          case 'toobig':
            this.write([`${ev.tag ?? '*'} NO [TOOBIG] ${ev.text}\r\n`]);
            break;
          case 'fatal':
            // Its bytes keep coming: stop reading them, say why, hang up (issue 9 item 1).
            this.conn.stopReading();
            this.write([`* BYE [ALERT] ${ev.text}\r\n`]);
            await this.out.flush();
            this.close();
            return;
          case 'command':
            await this.run(ev.tag, ev.tokens);
            break;
        }
        await this.out.flush(false);
      }
      await this.out.flush();
    } catch (e) {
      this.log.error(null, `${this.id}: session failed: ${(e as Error).stack ?? e}`);
      this.close();
    } finally {
      this.running = false;
      this.conn.progress();
    }
  }

  private async run(tag: string, tokens: Token[]): Promise<void> {
    if (this.log.enabled(LogLevel.trace)) this.log.log(LogLevel.trace, null, `${this.id}: C: ${tag} ${traceTokens(tokens)}`);
    const args = new Args(tokens.slice(1));
    let verb = (tokens[0] as { value: string }).value.toUpperCase();
    let uid = false;
    try {
      if (verb === 'UID') {
        verb = `UID ${args.keyword('command after UID')}`;
        uid = true;
      }
      const spec = COMMANDS[verb];
      if (!spec) {
        this.write([`${tag} BAD [CLIENTBUG] unknown command ${verb}\r\n`]);
        await this.badAnswer();
        return;
      }
      if (!spec.states.includes(this.state.kind)) {
        this.write([`${tag} BAD [CLIENTBUG] ${verb} is not allowed ${stateText(this.state.kind)}\r\n`]);
        await this.badAnswer();
        return;
      }
      const done = await spec.run(this, { tag, verb, uid, args });
      if (this.closed) return;
      await this.afterCommand(uid || !NO_EXPUNGE.has(verb.replace(/^UID /, '')));
      const d = typeof done === 'string' ? { text: done } : done ?? { text: `${verb} completed` };
      this.write([`${tag} OK ${d.code ? `[${d.code}] ` : ''}${d.text}\r\n`]);
    } catch (e) {
      if (e instanceof Answered) return;
      if (e instanceof ImapError) {
        if (e.status === 'BYE') {
          this.write([`* BYE ${e.code ? `[${e.code}] ` : ''}${e.message}\r\n`]);
          await this.out.flush();
          this.close();
          return;
        }
        if (!this.closed) await this.afterCommand(e.status === 'NO' && (uid || !NO_EXPUNGE.has(verb)));
        this.write([`${tag} ${e.status} ${e.code ? `[${e.code}] ` : ''}${e.message}\r\n`]);
        if (e.status === 'BAD') await this.badAnswer();
        return;
      }
      if (e instanceof StoreUnavailableError) {
        // RFC 5530 3: UNAVAILABLE, a temporary failure; the client may try again later.
        this.log.warn(null, `${this.id}: ${verb}: ${e.message}`);
        this.write([`${tag} NO [UNAVAILABLE] mail store temporarily unavailable, try again later\r\n`]);
        return;
      }
      this.log.error(null, `${this.id}: ${verb} failed: ${(e as Error).stack ?? e}`);
      this.write([`${tag} NO [SERVERBUG] internal error, logged as ${this.id}\r\n`]);
    }
  }

  /** Tells the client what changed in the selected mailbox (RFC 9051 7.4.1, 5.5). */
  async afterCommand(expungeOk: boolean): Promise<void> {
    const box = this.selected;
    if (!box) return;
    if (box.dirty) await this.announce(box, expungeOk);
    else if (expungeOk) this.announceExpunges(box);
  }

  async announce(box: SelectedMailbox, expungeOk: boolean): Promise<void> {
    const ch = await box.sync(this.ctx.store);
    if (ch.keywords) for (const l of flagsResponses(box)) this.untagged(l);
    if (ch.exists) this.untagged(`${box.exists} EXISTS`);
    const condstore = this.enabled.has('CONDSTORE') || this.enabled.has('QRESYNC');
    for (const m of ch.flagged) {
      const seq = box.indexOfUid(m.uid) + 1;
      if (seq <= 0) continue;
      this.untagged(`${seq} FETCH (UID ${m.uid} FLAGS (${m.flags.join(' ')})${condstore ? ` MODSEQ (${m.modSeq})` : ''})`);
    }
    if (expungeOk) this.announceExpunges(box);
  }

  announceExpunges(box: SelectedMailbox): void {
    const { seqs, uids } = box.takeExpunged();
    if (!seqs.length) return;
    if (this.enabled.has('QRESYNC')) {
      // RFC 7162 3.2.10: VANISHED replaces EXPUNGE once QRESYNC is enabled.
      this.untagged(`VANISHED ${formatUids(uids)}`);
    } else for (const s of seqs) this.untagged(`${s} EXPUNGE`);
  }

  // --- Watcher: the notifier calls this when the selected mailbox changed elsewhere
  mailboxChanged(mailboxId: number): void {
    const box = this.selected;
    if (!box || box.mailbox.id !== mailboxId) return;
    box.dirty = true;
    this.idleWake?.();
  }

  select(box: SelectedMailbox, user: AuthUser): void {
    this.unselect();
    this.state = { kind: 'selected', user, box };
    this.shared.notifier.watch(box.mailbox.id, this);
  }

  unselect(): void {
    if (this.state.kind !== 'selected') return;
    this.shared.notifier.unwatch(this.state.box.mailbox.id, this);
    this.state.box.release();
    this.state = { kind: 'authenticated', user: this.state.user };
  }

  login(user: AuthUser): void {
    this.state = { kind: 'authenticated', user };
    this.parser.limits = limitsAfterLogin(this.ctx.config.imap);
    this.shared.perUser.set(user.address, (this.shared.perUser.get(user.address) ?? 0) + 1);
    this.conn.loggedIn();
    this.conn.setIdle(Session.idleMs(this.ctx.config.imap.idle_timeout, true));
  }

  /** A raw line from the client inside a command (AUTHENTICATE, IDLE); null if the connection closed. */
  readLine(timeoutMs = this.ctx.config.imap.idle_timeout * 1000): Promise<{ line: string; tooLong: boolean } | null> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | null = null;
      const attempt = () => {
        if (this.closed) return finish(null);
        const l = this.parser.nextLine();
        if (l) finish(l);
      };
      const finish = (v: { line: string; tooLong: boolean } | null) => {
        this.lineWaiter = null;
        this.closeWaiters.delete(onClose);
        if (timer) clearTimeout(timer);
        resolve(v);
      };
      const onClose = () => finish(null);
      this.closeWaiters.add(onClose);
      timer = setTimeout(() => {
        this.expired('idle');
        finish(null);
      }, timeoutMs);
      this.lineWaiter = () => {
        attempt();
        this.conn.progress();
      };
      attempt();
      this.conn.progress();
    });
  }

  private closeWaiters = new Set<() => void>();

  /** RFC 9051 6.2.1: after the tagged OK the TLS handshake starts; bytes sent before it are dropped. */
  async startTls(): Promise<void> {
    await this.out.flush();
    const dropped = this.parser.takeBuffered();
    if (dropped.length) this.log.notice(null, `${this.id}: ${dropped.length} bytes pipelined after STARTTLS discarded`);
    if (await this.conn.startTls()) this.out.stream = this.conn.socket;
  }

  /** RFC 4978: from after the tagged OK, both directions go through raw DEFLATE. */
  async startCompression(): Promise<void> {
    await this.out.flush();
    const inflate = createInflateRaw();
    const deflate = createDeflateRaw({ level: 6 });
    const pending = this.parser.takeBuffered();
    this.inflate = inflate;
    inflate.on('data', (b: Buffer) => this.received(b));
    inflate.on('error', () => this.close());
    deflate.pipe(this.conn.socket);
    this.deflate = deflate;
    this.out.stream = deflate;
    this.out.onFlush = () => deflate.flush(zc.Z_SYNC_FLUSH);
    this.compressed = true;
    if (pending.length) inflate.write(pending);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.closeWaiters]) w();
    this.unselect();
    const u = this.user;
    if (u) {
      const n = (this.shared.perUser.get(u.address) ?? 1) - 1;
      if (n > 0) this.shared.perUser.set(u.address, n);
      else this.shared.perUser.delete(u.address);
    }
    this.state = { kind: 'logout' };
    this.idleWake?.();
    if (this.deflate) this.deflate.end();
    this.conn.close();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}

/** A command for the trace log, passwords left out. */
function traceTokens(tokens: Token[]): string {
  const verb = (tokens[0] as { value: string }).value.toUpperCase();
  if (verb === 'LOGIN' || verb === 'AUTHENTICATE') return `${verb} ...`;
  const one = (t: Token): string =>
    t.kind === 'atom' ? t.value : t.kind === 'list' ? `(${t.items.map(one).join(' ')})` : t.literal ? `{${t.value.length}}` : JSON.stringify(t.value.toString('utf8').slice(0, 100));
  return tokens.map(one).join(' ').slice(0, 300);
}

function stateText(k: StateKind): string {
  return k === 'not-authenticated' ? 'before login' : k === 'authenticated' ? 'without a selected mailbox' : k === 'selected' ? 'with a mailbox selected' : 'after LOGOUT';
}

function formatUids(uids: number[]): string {
  const a = [...uids].sort((x, y) => x - y);
  const out: string[] = [];
  for (let i = 0; i < a.length; ) {
    let j = i;
    while (j + 1 < a.length && a[j + 1] === a[j] + 1) j++;
    out.push(i === j ? `${a[i]}` : `${a[i]}:${a[j]}`);
    i = j + 1;
  }
  return out.join(',');
}
