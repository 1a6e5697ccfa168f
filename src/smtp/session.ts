import type { Context } from '../context.js';
import type { Logger } from '../log/logger.js';
import { TemporaryFailure, type EnvelopeRecipient, type MessageEnvelope, type SpoolWriter } from '../queue/types.js';
import { Codes, reply, type Reply } from './codes.js';
import { parseMail, parseRcpt, splitCommand, type MailParams } from './command.js';
import { parsePath } from './address.js';
import type { Frame } from './lines.js';
import { receivedHeader, withProtocol } from './received.js';
import type { PolicySession } from '../policy/session.js';
import { decodeResponse, offeredMechanisms, PLAINTEXT_MECHANISMS, startExchange, type SaslExchange, type SaslStep } from '../auth/sasl.js';
import { FixupWriter } from './fixup-writer.js';
import { masqueradeAddress, type FixupRules, type Masquerade } from './fixups.js';
import { randomBytes } from 'node:crypto';

/**
 * One SMTP session's behaviour (RFC 5321 3 and 4), on typed values: the connection module
 * feeds it frames and does the I/O; this module decides every reply.
 */

export interface Helo {
  name: string;
  /** EHLO (true) or HELO (false): RFC 5321 4.1.1.1. */
  esmtp: boolean;
}

export interface Transaction {
  sender: string;
  params: MailParams;
  recipients: EnvelopeRecipient[];
}

/** RFC 5321 4.1.4 command ordering, as states; an illegal combination cannot be written. */
export type State =
  | { kind: 'fresh' } // greeted (or TLS just started): HELO/EHLO needed
  | { kind: 'ready'; helo: Helo } // no mail transaction
  | { kind: 'mail'; helo: Helo; tx: Transaction } // MAIL accepted, no recipient yet
  | { kind: 'rcpt'; helo: Helo; tx: Transaction & { recipients: [EnvelopeRecipient, ...EnvelopeRecipient[]] } }
  /** RFC 4954 4: an AUTH exchange under way; lines are SASL responses, not commands. */
  | { kind: 'auth'; helo: Helo; exchange: SaslExchange };

/**
 * `mta`: port 25 (AUTH only when `[smtp] auth`, S18 option A). `submission`: 587/465
 * (RFC 6409): AUTH required before MAIL, the sender must be the user's, MSA fix-ups.
 */
export type SessionMode = 'mta' | 'submission';

type Kind = State['kind'];

/** What the connection must do after a command. */
export type Action =
  | { kind: 'reply'; reply: Reply }
  /** Nothing to say (the rest of an overlong line being discarded). */
  | { kind: 'none' }
  /** Send the replies, then hang up. */
  | { kind: 'close'; replies: Reply[] }
  /** Send the reply, then hand the socket to TLS; pipelined input is discarded (RFC 3207 4.2). */
  | { kind: 'starttls'; reply: Reply }
  /** Send 354, then stream the message into `incoming` until CRLF.CRLF. */
  | { kind: 'data'; reply: Reply; incoming: Incoming };

export interface Peer {
  ip: string;
  port: number;
  /** Forward-confirmed reverse DNS name, looked up once at connect. */
  name: Promise<string | null>;
}

export interface TlsInfo {
  protocol: string;
  cipher: string;
}

/**
 * A message being received: counts octets against the size limit and writes to the spool.
 * RFC 1870 6.3: once over the limit nothing more is stored, but the rest of the data is
 * still read (the reply can only come after the end marker).
 */
export class Incoming {
  size = 0;
  oversize = false;
  failure: unknown = null;
  private aborted = false;

  constructor(readonly writer: SpoolWriter, private readonly max: number, readonly tx: Transaction) {}

  get discarding(): boolean {
    return this.oversize || this.failure !== null || this.aborted;
  }

  async write(chunk: Buffer): Promise<void> {
    this.size += chunk.length;
    if (this.discarding) return;
    if (this.size > this.max) {
      this.oversize = true;
      await this.abort();
      return;
    }
    try {
      await this.writer.write(chunk);
    } catch (e) {
      this.failure = e;
      await this.abort();
    }
  }

  /** Nothing of the message remains (client gone, too big, disk trouble). */
  async abort(): Promise<void> {
    if (this.aborted) return;
    this.aborted = true;
    await this.writer.abort().catch(() => undefined);
  }
}

interface CommandSpec {
  /** States in which the verb may be used; anything else gets `wrongState`. */
  states: readonly Kind[];
  run(s: SmtpSession, arg: string): Action | Promise<Action>;
}

const ok = (r: Reply): Action => ({ kind: 'reply', reply: r });
const ANY: readonly Kind[] = ['fresh', 'ready', 'mail', 'rcpt'];
const GREETED: readonly Kind[] = ['ready', 'mail', 'rcpt'];

/** RFC 5321 4.1.4 and 4.3.2: 503 with a hint at the command that was missing. */
function wrongState(verb: string, state: Kind, tlsActive: boolean): Reply {
  if (verb === 'STARTTLS' && tlsActive) return reply(Codes.BadSequence, 'Error: TLS already active');
  if (state === 'fresh') return reply(Codes.BadSequence, 'Error: send HELO/EHLO first');
  if (verb === 'MAIL') return reply(Codes.BadSequence, 'Error: nested MAIL command');
  if (verb === 'STARTTLS') return reply(Codes.BadSequence, 'Error: MAIL transaction in progress');
  if (state === 'ready') return reply(Codes.BadSequence, 'Error: need MAIL command');
  return reply(Codes.BadSequence, 'Error: need RCPT command');
}

const COMMANDS: Record<string, CommandSpec> = {
  // RFC 5321 4.1.1.1; a HELO/EHLO resets any transaction (4.1.4).
  EHLO: { states: ANY, run: (s, arg) => s.hello(arg, true) },
  HELO: { states: ANY, run: (s, arg) => s.hello(arg, false) },
  MAIL: { states: ['ready'], run: (s, arg) => s.mail(arg) },
  RCPT: { states: ['mail', 'rcpt'], run: (s, arg) => s.rcpt(arg) },
  DATA: { states: ['rcpt'], run: (s, arg) => s.data(arg) },
  // RFC 5321 4.1.1.5
  RSET: { states: ANY, run: (s) => s.rset() },
  // RFC 4954 4: AUTH after EHLO, outside a mail transaction (checked in auth()).
  AUTH: { states: GREETED, run: (s, arg) => s.auth(arg) },
  // RFC 5321 4.1.1.9: the argument, if any, is ignored.
  NOOP: { states: ANY, run: () => ok(reply(Codes.Ok, 'Ok')) },
  QUIT: { states: ANY, run: () => ({ kind: 'close', replies: [reply(Codes.Bye, 'Bye')] }) },
  VRFY: { states: ANY, run: (s, arg) => s.vrfy(arg, 'VRFY') },
  EXPN: { states: ANY, run: (s, arg) => s.vrfy(arg, 'EXPN') },
  HELP: { states: ANY, run: () => ok(reply(Codes.Help, ['Commands: EHLO HELO AUTH MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS', 'See RFC 5321'])) },
  STARTTLS: { states: ['ready'], run: (s, arg) => s.starttls(arg) },
};

/** Known SMTP verbs we do not offer here: a 502, not a "what?". */
const NOT_OFFERED: Record<string, string> = {
  BDAT: 'Error: CHUNKING not supported',
  ETRN: 'Error: ETRN not supported',
  TURN: 'Error: TURN not supported',
  ATRN: 'Error: ATRN not supported',
  SEND: 'Error: SEND not supported',
  SOML: 'Error: SOML not supported',
  SAML: 'Error: SAML not supported',
};

/** HTTP and proxy requests sent to port 25 (cross-protocol attacks): hang up at once, like Postfix. */
const FORBIDDEN = new Set(['GET', 'POST', 'PUT', 'HEAD', 'CONNECT', 'OPTIONS']);

export class SmtpSession {
  state: State = { kind: 'fresh' };
  errors = 0;
  /** Per-verb counts for the disconnect log line. */
  readonly counts = new Map<string, number>();
  private tlsInfo: TlsInfo | null;
  /** The client's verified name once the lookup started at connect has answered. */
  private name: string | null = null;
  /** Access map, DNS lists, relaying, rate limits, sender authentication (src/policy). */
  readonly policy: PolicySession;
  /** RFC 4954: who the client authenticated as, and with which mechanism. */
  authUser: string | null = null;
  private authMechanism = '';

  constructor(
    private readonly ctx: Context,
    private readonly log: Logger,
    readonly peer: Peer,
    tls: TlsInfo | null,
    readonly mode: SessionMode = 'mta',
  ) {
    this.tlsInfo = tls;
    peer.name.then((n) => (this.name = n), () => undefined);
    this.policy = ctx.policy.session(peer, mode === 'submission' ? 'submission' : 'smtp');
  }

  private get cfg() {
    return this.ctx.config.smtp;
  }

  get tls(): TlsInfo | null {
    return this.tlsInfo;
  }

  /** Postfix-style "name[ip]" for log lines, with what is known so far. */
  clientText(name: string | null = this.name): string {
    return `${name ?? 'unknown'}[${this.peer.ip}]`;
  }

  greeting(): Reply {
    // RFC 5321 4.2: the greeting names this host; RFC 2034 puts no enhanced code on 220.
    return { code: 220, text: `${this.ctx.config.hostname} ESMTP Correo` };
  }

  /** RFC 3207 4.2: after TLS starts the server forgets everything the client said, AUTH included. */
  tlsStarted(info: TlsInfo): void {
    this.tlsInfo = info;
    this.state = { kind: 'fresh' };
    this.setAuthUser(null, '');
  }

  private setAuthUser(user: string | null, mechanism: string): void {
    this.authUser = user;
    this.authMechanism = mechanism;
    this.policy.authenticated(user);
  }

  /** S18: AUTH on submission always, on port 25 with option `A` (`[smtp] auth`). */
  private get authOffered(): boolean {
    // LMTP (RFC 2033) reuses this session on a trusted socket: no AUTH there.
    return this.mode === 'submission' || (this.cfg.auth && this.policy.service === 'smtp');
  }

  /** The mechanisms for this connection now (no PLAIN/LOGIN before TLS by default, S18 `A p`). */
  mechanisms(): string[] {
    const a = this.ctx.config.auth;
    return offeredMechanisms(this.tlsInfo !== null, a.plaintext_without_tls, a.mechanisms);
  }

  /** Turns one frame of input into what to do; errors are counted here, in one place. */
  async frame(f: Frame): Promise<Action> {
    let action: Action;
    if (this.state.kind === 'auth' && f.kind !== 'too-long-more') {
      action = await this.saslResponse(this.state.exchange, f);
    } else switch (f.kind) {
      case 'line':
        action = await this.command(f.line);
        break;
      case 'bare-lf':
        // RFC 5321 2.3.8: lines end with CRLF; a bare LF line is never executed.
        action = ok(reply(Codes.SyntaxError, 'Error: bare <LF> received; SMTP lines end with <CR><LF>'));
        break;
      case 'too-long':
        action = ok(reply(Codes.LineTooLong, `Error: line too long (more than ${this.cfg.max_line_length} octets)`));
        break;
      case 'too-long-more': {
        this.errors++;
        const bye = this.tooManyErrors();
        return bye ? { kind: 'close', replies: [bye] } : { kind: 'none' };
      }
    }
    // Syntax errors, bad sequences, refused recipients: a client collecting too many is
    // guessing or broken, and is cut off (config smtp.max_errors).
    if (action.kind === 'reply' && action.reply.code >= 500) {
      this.errors++;
      const bye = this.tooManyErrors();
      if (bye) return { kind: 'close', replies: [action.reply, bye] };
    }
    return action;
  }

  private tooManyErrors(): Reply | null {
    if (this.errors < this.cfg.max_errors) return null;
    this.log.info(null, `too many errors from ${this.clientText()}; hanging up`);
    // RFC 5321 3.8: 421 and close.
    return reply(Codes.ClosingTooManyErrors, `${this.ctx.config.hostname} Error: too many errors`);
  }

  async command(line: Buffer): Promise<Action> {
    const parsed = splitCommand(line);
    if (!parsed.ok) return ok(parsed.reply);
    const { verb, arg } = parsed.value;
    this.counts.set(verb, (this.counts.get(verb) ?? 0) + 1);
    const spec = COMMANDS[verb];
    if (!spec) {
      if (FORBIDDEN.has(verb)) {
        this.log.info(null, `non-SMTP command from ${this.clientText()}: ${verb}`);
        return { kind: 'close', replies: [reply(Codes.NotSmtp, 'Error: this is an SMTP server. Goodbye.')] };
      }
      if (NOT_OFFERED[verb]) return ok(reply(Codes.NotImplemented, NOT_OFFERED[verb]));
      return ok(reply(Codes.SyntaxError, 'Error: command not recognized'));
    }
    // A client the policy refused hears why instead (421 closes: over the connection rate).
    const refused = await this.policy.gate(verb);
    if (refused) return refused.code === 421 ? { kind: 'close', replies: [refused] } : ok(refused);
    if (!spec.states.includes(this.state.kind)) return ok(wrongState(verb, this.state.kind, this.tlsInfo !== null));
    return spec.run(this, arg);
  }

  hello(arg: string, esmtp: boolean): Action {
    const name = arg.trim().split(' ')[0];
    if (!name) return ok(reply(Codes.BadArguments, `Syntax: ${esmtp ? 'EHLO' : 'HELO'} hostname`));
    this.state = { kind: 'ready', helo: { name, esmtp } };
    this.policy.hello(name);
    const host = this.ctx.config.hostname;
    if (!esmtp) return ok({ code: 250, text: host });
    // RFC 5321 4.1.1.1 / 2.2.2: the EHLO reply lists the service extensions.
    const lines = [
      host,
      'PIPELINING', // RFC 2920
      `SIZE ${this.cfg.max_message_size}`, // RFC 1870
      '8BITMIME', // RFC 6152
      'SMTPUTF8', // RFC 6531
      'ENHANCEDSTATUSCODES', // RFC 2034
    ];
    if (!this.tlsInfo) lines.push('STARTTLS'); // RFC 3207 4.2: not offered again inside TLS
    const mechs = this.authOffered ? this.mechanisms() : [];
    if (mechs.length) lines.push(`AUTH ${mechs.join(' ')}`); // RFC 4954 3
    lines.push('DSN'); // RFC 3461
    return ok({ code: 250, text: lines });
  }

  /** RFC 4954 4: AUTH mechanism [initial-response]. */
  async auth(arg: string): Promise<Action> {
    if (!this.authOffered) return ok(reply(Codes.NotImplemented, 'Error: authentication not enabled'));
    if (this.authUser) return ok(reply(Codes.BadSequence, 'Error: already authenticated'));
    if (this.state.kind !== 'ready') return ok(reply(Codes.BadSequence, 'Error: AUTH not permitted during a mail transaction'));
    const [mechRaw, initialRaw, ...extra] = arg.trim().split(/ +/);
    if (!mechRaw || extra.length) return ok(reply(Codes.BadArguments, 'Syntax: AUTH mechanism [initial-response]'));
    const mech = mechRaw.toUpperCase();
    const offered = this.mechanisms();
    if (!offered.includes(mech)) {
      // RFC 4954 6: 538 when the mechanism exists here but needs an encrypted connection.
      if (PLAINTEXT_MECHANISMS.includes(mech) && this.ctx.config.auth.mechanisms.includes(mech)) {
        return ok(reply(Codes.EncryptionRequired, 'Encryption required for requested authentication mechanism'));
      }
      return ok(reply(Codes.UnknownMechanism, 'Unrecognized authentication type'));
    }
    const exchange = startExchange(mech, offered, {
      auth: this.ctx.auth,
      service: this.mode === 'submission' ? 'submission' : 'smtp',
      clientAddress: this.peer.ip,
      hostname: this.ctx.config.hostname,
    })!;
    let initial: Buffer | null = null;
    if (initialRaw !== undefined) {
      const d = decodeResponse(initialRaw);
      if (d === 'invalid') return ok(reply(Codes.CannotDecode, 'Cannot decode the initial response'));
      if (d === 'cancel') return ok(reply(Codes.AuthCancelled, 'Authentication cancelled'));
      initial = d;
    }
    return this.saslStep(exchange, await exchange.start(initial));
  }

  /** A line while an AUTH exchange waits for the client (RFC 4954 4). */
  private async saslResponse(exchange: SaslExchange, f: Frame): Promise<Action> {
    const helo = this.helo();
    if (f.kind !== 'line') {
      this.state = { kind: 'ready', helo };
      if (f.kind === 'too-long') return ok(reply(Codes.AuthLineTooLong, 'Authentication exchange line is too long'));
      return ok(reply(Codes.SyntaxError, 'Error: bare <LF> received; SMTP lines end with <CR><LF>'));
    }
    const d = decodeResponse(f.line.toString('latin1'));
    if (d === 'cancel' || d === 'invalid') {
      this.state = { kind: 'ready', helo };
      // RFC 4954 4: "*" cancels with 501; a response that is not base64 is a 501 too.
      return ok(d === 'cancel' ? reply(Codes.AuthCancelled, 'Authentication cancelled') : reply(Codes.CannotDecode, 'Cannot decode the response'));
    }
    return this.saslStep(exchange, await exchange.next(d));
  }

  private saslStep(exchange: SaslExchange, step: SaslStep): Action {
    const helo = this.helo();
    switch (step.kind) {
      case 'challenge':
        this.state = { kind: 'auth', helo, exchange };
        // RFC 4954 4: "334" SP base64 challenge, no enhanced code.
        return ok({ code: 334, text: step.data.toString('base64') });
      case 'malformed':
        this.state = { kind: 'ready', helo };
        this.log.info(null, `AUTH ${exchange.mechanism} from ${this.clientText()}: ${step.message}`);
        return ok(reply(Codes.CannotDecode, `Error: ${step.message}`));
      case 'done': {
        this.state = { kind: 'ready', helo };
        const o = step.outcome;
        if (o.ok) {
          this.setAuthUser(o.user, exchange.mechanism);
          return ok(reply(Codes.AuthOk, 'Authentication successful'));
        }
        this.log.info(null, `warning: ${this.clientText()}: SASL ${exchange.mechanism} authentication failed${o.reason === 'throttled' ? ' (throttled)' : ''}`);
        // RFC 4954 6: 454 4.7.0 temporary failure; 535 5.7.8 bad credentials.
        return ok(o.reason === 'throttled'
          ? reply(Codes.AuthTempFail, 'Temporary authentication failure; too many failures, try again later')
          : reply(Codes.AuthFailed, 'Authentication credentials invalid'));
      }
    }
  }

  /** S23 always_add_domain on a MAIL/RCPT path given without a domain (submission only). */
  private qualifyPath(arg: string, prefix: string): string {
    if (this.mode !== 'submission' || !this.ctx.config.submission.always_add_domain) return arg;
    const m = new RegExp(`^(${prefix}\\s*<)([^<>@"\\s]+)(>.*)$`, 'is').exec(arg);
    if (!m || /^postmaster$/i.test(m[2])) return arg;
    return `${m[1]}${m[2]}@${this.ctx.config.submission.qualify_domain}${m[3]}`;
  }

  /**
   * Whether the authenticated user may send as `address` (src/smtp/senders.ts), as written
   * or as masquerading will show it (root@host.example.test masqueraded to example.test).
   */
  private ownsSender(address: string): string | null {
    const user = this.authUser!;
    const owns = (a: string) => (this.ctx.senders ? this.ctx.senders.owns(user, a) : a.toLowerCase() === user ? 'own address' : null);
    const shown = this.mode === 'submission' ? masqueradeAddress(address, this.masquerade) : address;
    return owns(address) ?? (shown !== address ? owns(shown) : null);
  }

  private get masquerade(): Masquerade | null {
    const m = this.ctx.config.masquerade;
    return m.as ? { as: m.as, domains: m.domains, exposed: m.exposed_users } : null;
  }

  private helo(): Helo {
    const s = this.state;
    if (s.kind === 'fresh') throw new Error('internal: no HELO in a greeted state');
    return s.helo;
  }

  rset(): Action {
    if (this.state.kind !== 'fresh') this.state = { kind: 'ready', helo: this.helo() };
    return ok(reply(Codes.Ok, 'Ok'));
  }

  async mail(arg: string): Promise<Action> {
    // RFC 6409 4.3 / RFC 4954 6: the MSA takes mail from authenticated users only.
    if (this.mode === 'submission' && !this.authUser) {
      if (!this.mechanisms().length && !this.tlsInfo) return ok(reply(Codes.AuthRequired, 'Must issue a STARTTLS command first'));
      return ok(reply(Codes.AuthRequired, 'Authentication required'));
    }
    const parsed = parseMail(this.qualifyPath(arg, 'FROM:'));
    if (!parsed.ok) return ok(parsed.reply);
    const { sender, params } = parsed.value;
    // RFC 1870 6.1: a declared size over our limit is refused before any data.
    if (params.size !== undefined && params.size > this.cfg.max_message_size) {
      this.logReject('MAIL', `552 5.3.4 Message size exceeds fixed limit`, sender, null);
      return ok(reply(Codes.MessageTooBig, `Message size exceeds fixed maximum message size (${this.cfg.max_message_size})`));
    }
    if (this.authUser && sender && !this.ownsSender(sender)) {
      this.logReject('MAIL', `553 5.7.1 sender not owned by ${this.authUser}`, sender, null);
      return ok(reply(Codes.SenderNotOwned, `<${sender}>: Sender address rejected: not owned by user ${this.authUser}`));
    }
    const refused = await this.policy.mail(sender);
    if (refused) {
      this.logReject('MAIL', `${refused.code} ${refused.enhanced ?? ''} ${refused.text}`, sender, null);
      return ok(refused);
    }
    this.state = { kind: 'mail', helo: this.helo(), tx: { sender, params, recipients: [] } };
    return ok(reply(Codes.SenderOk, 'Ok'));
  }

  async rcpt(arg: string): Promise<Action> {
    const s = this.state;
    if (s.kind !== 'mail' && s.kind !== 'rcpt') throw new Error('internal: RCPT outside a transaction');
    const parsed = parseRcpt(this.qualifyPath(arg, 'TO:'), { smtputf8: s.tx.params.smtputf8, postmasterDomain: this.ctx.config.domains[0] ?? this.ctx.config.hostname });
    if (!parsed.ok) return ok(parsed.reply);
    const { address, notify, orcpt } = parsed.value;
    // RFC 5321 4.5.3.1.8 / 4.5.3.1.10: 452 for recipients past the limit; the client sends
    // them in another transaction.
    if (s.tx.recipients.length >= this.cfg.max_recipients) {
      return ok(reply(Codes.TooManyRecipients, 'Error: too many recipients'));
    }
    let verdict;
    try {
      verdict = await this.policy.rcpt(address);
    } catch (e) {
      this.log.error(null, `recipient check for <${address}> failed: ${(e as Error).message}`);
      return ok(reply(Codes.LocalError, `<${address}>: temporary failure checking the recipient; try again later`));
    }
    if (!verdict.ok) {
      const r: Reply = { code: verdict.code, enhanced: verdict.enhanced, text: verdict.text };
      this.logReject('RCPT', `${r.code} ${r.enhanced} ${r.text}`, s.tx.sender, address);
      return ok(r);
    }
    if (!s.tx.recipients.some((r) => r.address === verdict.address)) {
      const rcpt: EnvelopeRecipient = { address: verdict.address };
      if (orcpt) rcpt.original = orcpt;
      if (notify) rcpt.notify = notify;
      s.tx.recipients.push(rcpt);
    }
    if (s.kind === 'mail') {
      this.state = { kind: 'rcpt', helo: s.helo, tx: s.tx as Transaction & { recipients: [EnvelopeRecipient] } };
    }
    return ok(reply(Codes.RecipientOk, 'Ok'));
  }

  async data(arg: string): Promise<Action> {
    const s = this.state;
    if (s.kind !== 'rcpt') throw new Error('internal: DATA without recipients');
    if (arg.trim()) return ok(reply(Codes.BadArguments, 'Syntax: DATA'));
    const submission = this.mode === 'submission';
    const envelope: MessageEnvelope = {
      // S27 masquerade_envelope: the envelope sender too, when asked.
      sender: submission && this.ctx.config.masquerade.envelope ? masqueradeAddress(s.tx.sender, this.masquerade) : s.tx.sender,
      recipients: s.tx.recipients,
      clientAddress: this.peer.ip,
      helo: s.helo.name,
      via: submission ? 'submission' : 'smtp',
    };
    if (this.authUser) envelope.authUser = this.authUser;
    if (s.tx.params.smtputf8) envelope.smtputf8 = true;
    if (s.tx.params.ret) envelope.ret = s.tx.params.ret;
    if (s.tx.params.envid !== undefined) envelope.envid = s.tx.params.envid;
    const clientName = await this.peer.name;
    const trace = (id: string) =>
      receivedHeader({
        helo: s.helo.name,
        clientIp: this.peer.ip,
        clientName,
        hostname: this.ctx.config.hostname,
        esmtp: s.helo.esmtp,
        tls: this.tlsInfo,
        authenticated: this.authUser !== null,
        smtputf8: s.tx.params.smtputf8,
        id,
        recipients: s.tx.recipients.map((r) => r.address),
        date: new Date(),
      });
    let writer: SpoolWriter;
    try {
      writer = await this.ctx.intake.begin(envelope, trace);
    } catch (e) {
      return ok(this.temporaryFailure(null, e));
    }
    writer = this.policy.data(envelope, writer);
    if (submission || this.authUser) writer = this.fixups(writer, s.tx.sender);
    this.log.info(writer.id, `client=${this.clientText(clientName)}, helo=<${s.helo.name}>, proto=${withProtocol({ esmtp: s.helo.esmtp, tls: this.tlsInfo, authenticated: this.authUser !== null, smtputf8: s.tx.params.smtputf8 })}${this.tlsInfo ? `, tls=${this.tlsInfo.protocol}` : ''}${this.authUser ? `, sasl_method=${this.authMechanism}, sasl_username=${this.authUser}` : ''}`);
    return { kind: 'data', reply: reply(Codes.StartInput, 'End data with <CR><LF>.<CR><LF>'), incoming: new Incoming(writer, this.cfg.max_message_size, s.tx) };
  }

  /**
   * The header block on its way to the spool: MSA fix-ups on submission (S6, S23, S27), and
   * on any authenticated session the From:/Sender: addresses are collected for the check.
   */
  private fixups(writer: SpoolWriter, sender: string): FixupWriter {
    const sub = this.ctx.config.submission;
    const fix = this.mode === 'submission';
    const rules: FixupRules = {
      fix,
      hostname: this.ctx.config.hostname,
      qualifyDomain: sub.always_add_domain ? sub.qualify_domain : null,
      masquerade: this.masquerade,
      defaultFrom: sender ? { address: sender } : null,
    };
    const id = writer.id;
    return new FixupWriter(writer, rules, sub.max_header_size, () => `${id}.${randomBytes(6).toString('hex')}@${this.ctx.config.hostname}`);
  }

  /** End of DATA for a message that went through the fix-ups: the header's verdicts. */
  private async headerVerdict(writer: FixupWriter): Promise<Reply | null> {
    await writer.finish();
    if (writer.refusal) return writer.refusal;
    if (!this.authUser) return null;
    for (const a of writer.result?.senders ?? []) {
      if (!this.ownsSender(a)) {
        this.log.info(writer.id, `reject: header From/Sender <${a}> not owned by ${this.authUser} (client ${this.clientText()}); discarded`);
        return reply(Codes.SenderNotOwned, `<${a}>: From/Sender header address rejected: not owned by user ${this.authUser}`);
      }
    }
    if (writer.result?.changes.length) this.log.info(writer.id, `submission fix-ups: ${writer.result.changes.join(', ')}`);
    return null;
  }

  /** After the end marker: commit or refuse, and leave the transaction in every case. */
  async endData(incoming: Incoming): Promise<Reply> {
    const s = this.state;
    if (s.kind !== 'fresh') this.state = { kind: 'ready', helo: s.helo };
    const id = incoming.writer.id;
    if (incoming.oversize) {
      await incoming.abort();
      this.log.info(id, `reject: message from ${this.clientText()} is ${incoming.size} octets, over the limit of ${this.cfg.max_message_size}; discarded`);
      return reply(Codes.MessageTooBig, `Message size exceeds fixed maximum message size (${this.cfg.max_message_size})`);
    }
    if (incoming.failure !== null) {
      await incoming.abort();
      return this.temporaryFailure(id, incoming.failure);
    }
    if (incoming.writer instanceof FixupWriter) {
      let refused: Reply | null;
      try {
        refused = await this.headerVerdict(incoming.writer);
      } catch (e) {
        await incoming.abort();
        return this.temporaryFailure(id, e);
      }
      if (refused) {
        await incoming.abort();
        return refused;
      }
    }
    // Policy at the end of DATA (DMARC, hop count, DISCARD): an answer here keeps nothing.
    const ended = await this.policy.endOfData();
    if (ended) {
      await incoming.abort();
      return ended;
    }
    try {
      await incoming.writer.commit();
    } catch (e) {
      await incoming.abort();
      return this.temporaryFailure(id, e);
    }
    return reply(Codes.Ok, `Ok: queued as ${id}`);
  }

  /** Disk full and I/O trouble: a 4xx, never a loss (the client keeps the message). */
  private temporaryFailure(id: string | null, e: unknown): Reply {
    const msg = e instanceof Error ? e.message : String(e);
    if (e instanceof TemporaryFailure && e.enhanced === '4.3.1') {
      this.log.warn(id, `refused message from ${this.clientText()}: ${msg}`);
      return reply(Codes.StorageFull, 'Insufficient system storage');
    }
    this.log.error(id, `cannot take message from ${this.clientText()}: ${msg}`);
    return reply(Codes.LocalError, 'Error: local error in processing; try again later');
  }

  async vrfy(arg: string, verb: 'VRFY' | 'EXPN'): Promise<Action> {
    // S17: with novrfy/noexpn nothing about mailboxes is given away.
    if (verb === 'EXPN' && this.cfg.noexpn) return ok(reply(Codes.NotImplemented, 'Error: EXPN not available'));
    if (verb === 'VRFY' && this.cfg.novrfy) return ok(reply(Codes.CannotVerify, 'Cannot VRFY user; try RCPT to attempt delivery'));
    const text = arg.trim();
    if (!text) return ok(reply(Codes.BadArguments, `Syntax: ${verb} address`));
    // RFC 5321 3.5.3: answer for a full address; list expansion is not exposed (EXPN answers
    // like VRFY for the list's own address).
    const path = parsePath(text.startsWith('<') ? text : `<${text}>`, 0, false);
    if (!path.ok || !path.mailbox) return ok(reply(Codes.BadArguments, `Syntax: ${verb} address`));
    const verdict = await this.ctx.recipients.check(path.mailbox.address, { clientAddress: this.peer.ip });
    if (!verdict.ok) return ok({ code: verdict.code, enhanced: verdict.enhanced, text: verdict.text });
    return ok(reply(Codes.RecipientOk, `<${verdict.address}>`));
  }

  starttls(arg: string): Action {
    if (this.tlsInfo) return ok(reply(Codes.BadSequence, 'Error: TLS already active'));
    if (arg.trim()) return ok(reply(Codes.BadArguments, 'Syntax: STARTTLS'));
    return { kind: 'starttls', reply: reply(Codes.ReadyForTls, 'Ready to start TLS') };
  }

  private logReject(stage: string, what: string, sender: string, rcpt: string | null): void {
    const s = this.state;
    const helo = s.kind === 'fresh' ? '' : s.helo.name;
    const proto = s.kind === 'fresh' ? 'SMTP' : s.helo.esmtp ? 'ESMTP' : 'SMTP';
    this.log.info(null, `NOQUEUE: reject: ${stage} from ${this.clientText()}: ${what}; from=<${sender}>${rcpt !== null ? ` to=<${rcpt}>` : ''} proto=${proto} helo=<${helo}>`);
  }

  /** "ehlo=1 mail=1 rcpt=1 data=1 quit=1 commands=5", as Postfix logs at disconnect. */
  summary(): string {
    let total = 0;
    const parts: string[] = [];
    for (const [verb, n] of this.counts) {
      parts.push(`${verb.toLowerCase()}=${n}`);
      total += n;
    }
    parts.push(`commands=${total}`);
    return parts.join(' ');
  }
}
