import type { Context } from '../context.js';
import type { Logger } from '../log/logger.js';
import type { AuthOutcome } from '../auth/types.js';
import type { SieveStore } from '../store/sieve.js';
import { SieveStoreError } from '../store/sieve.js';
import type { Expiry } from '../net/connection.js';
import { decodeResponse, offeredMechanisms, PLAINTEXT_MECHANISMS, startExchange, type SaslExchange, type SaslStep } from '../auth/sasl.js';
import type { Arg, Frame } from './parser.js';
import { bye, no, ok, sieveString, type ResponseCode } from './responses.js';
import { badName, checkScript, quotaOf, sieveCapability, utf8 } from './scripts.js';

/** What a session needs from its connection; server.ts implements it over src/net/. */
export interface Transport {
  readonly secure: boolean;
  readonly clientAddress: string;
  write(data: Buffer): Promise<void>;
  /** RFC 5804 2.2: drop what was received, send `okLine`, then the TLS handshake; false if it failed. */
  startTls(okLine: Buffer): Promise<boolean>;
  /** Login happened (or was undone): the bounds of a command change. */
  loggedIn(yes: boolean): void;
  close(): void;
}

/** RFC 5804 2: a session is before or after authentication; SASL exchanges happen in between. */
type State =
  | { kind: 'unauth' }
  | { kind: 'sasl'; exchange: SaslExchange }
  | { kind: 'auth'; user: string; method: string };

interface CommandSpec {
  /** States the command is allowed in. */
  states: ('unauth' | 'auth')[];
  /** Bounds on the number of arguments. */
  args: [min: number, max: number];
  run(s: Session, args: Arg[]): Promise<void>;
}

/** A command's error: the reply to send (NO with its code), not a bug. */
class Refusal extends Error {
  constructor(readonly text: string, readonly code: ResponseCode | null = null) {
    super(text);
  }
}

const str = (a: Arg | undefined, what: string): Buffer => {
  if (!a || a.kind !== 'string') throw new Refusal(`${what} must be a string`);
  return a.value;
};

const text = (a: Arg | undefined, what: string): string => {
  const t = utf8(str(a, what));
  if (t === null) throw new Refusal(`${what} is not UTF-8`);
  return t;
};

const scriptName = (a: Arg | undefined): string => {
  const name = text(a, 'the script name');
  const bad = badName(name);
  if (bad) throw new Refusal(bad);
  return name;
};

/**
 * One ManageSieve session (RFC 5804): capabilities, STARTTLS, SASL through the shared engine
 * (src/auth/sasl.ts; no plaintext mechanism before TLS unless the admin allows it), and the
 * script commands on the store's SieveStore. Scripts are checked with the Sieve engine's parser
 * before they are stored.
 */
export class Session {
  private state: State = { kind: 'unauth' };
  private errors = 0;
  private closing = false;

  constructor(
    private readonly ctx: Context,
    private readonly scripts: SieveStore,
    private readonly t: Transport,
    readonly id: string,
    private readonly log: Logger,
  ) {}

  get closed(): boolean {
    return this.closing;
  }

  get authenticated(): boolean {
    return this.state.kind === 'auth';
  }

  private get user(): string {
    if (this.state.kind !== 'auth') throw new Refusal('Authenticate first');
    return this.state.user;
  }

  private send(b: Buffer | string): Promise<void> {
    return this.t.write(typeof b === 'string' ? Buffer.from(b, 'utf8') : b);
  }

  async greet(): Promise<void> {
    // A bare OK: Cyrus's client library (sieveshell) reads the capability list up to "OK" and
    // wants the line's end right after it.
    await this.send(Buffer.concat([this.capabilityLines(), ok()]));
  }

  /** RFC 5804 1.7: one line per capability. */
  private capabilityLines(): Buffer {
    const c = this.ctx.config;
    const lines: [string, string?][] = [
      ['IMPLEMENTATION', 'Correo'],
      ['SASL', this.mechanisms().join(' ')],
      ['SIEVE', sieveCapability()],
    ];
    if (!this.t.secure && this.state.kind !== 'auth') lines.push(['STARTTLS']);
    lines.push(['MAXREDIRECTS', String(c.sieve.max_redirects)]);
    if (this.state.kind === 'auth') lines.push(['OWNER', this.state.user]);
    lines.push(['UNAUTHENTICATE'], ['VERSION', '1.0']);
    return Buffer.from(lines.map(([k, v]) => `"${k}"${v !== undefined ? ' ' + (sieveString(v) as string) : ''}\r\n`).join(''), 'utf8');
  }

  private mechanisms(): string[] {
    const a = this.ctx.config.auth;
    return offeredMechanisms(this.t.secure, a.plaintext_without_tls, a.mechanisms);
  }

  /** One frame, handled to the end before the next. */
  async handle(frame: Frame): Promise<void> {
    if (this.closing) return;
    try {
      await this.dispatch(frame);
    } catch (e) {
      if (e instanceof Refusal) return this.error(no(e.text, e.code));
      if (e instanceof SieveStoreError) return this.send(no(e.message, e.code === 'NOUSER' ? null : e.code));
      if (this.closing) return;
      this.log.error(this.id, `session error, closing: ${(e as Error).stack ?? e}`);
      await this.send(bye('Internal error', 'TRYLATER')).catch(() => undefined);
      this.close();
    }
  }

  private async dispatch(frame: Frame): Promise<void> {
    if (this.state.kind === 'sasl') return this.saslResponse(this.state.exchange, frame);
    if (frame.kind === 'too-long') return this.error(no('Command line too long'));
    if (frame.kind === 'response') return this.error(no('A command starts with its name'));
    if (frame.kind === 'syntax') return this.error(no(`Syntax error: ${frame.message}`));
    if (frame.kind === 'too-big') {
      const script = frame.verb === 'PUTSCRIPT' || frame.verb === 'CHECKSCRIPT';
      if (script && this.authenticated) return this.send(no(`The script is larger than ${this.ctx.config.sieve.max_script_size} octets`, 'QUOTA/MAXSIZE'));
      return this.error(no(`A string of ${frame.size} octets is more than this command may send`));
    }
    const spec = COMMANDS[frame.verb];
    if (!spec) return this.error(no(`Unknown command ${frame.verb.slice(0, 40)}`));
    if (!spec.states.includes(this.state.kind)) {
      return this.error(no(this.state.kind === 'auth' ? 'Already authenticated' : 'Authenticate first'));
    }
    const [min, max] = spec.args;
    if (frame.args.length < min || frame.args.length > max) return this.error(no(`${frame.verb} takes ${min === max ? min : `${min} to ${max}`} argument(s)`));
    this.log.debug(this.id, `command: ${frame.verb}`);
    await spec.run(this, frame.args);
  }

  /** Counts a client error; past [managesieve] max_errors the client is told and the connection closed. */
  private async error(reply: Buffer): Promise<void> {
    this.errors++;
    if (this.errors >= this.ctx.config.managesieve.max_errors) {
      this.log.notice(this.id, `too many errors from ${this.t.clientAddress}, closing`);
      await this.send(bye('Too many errors')).catch(() => undefined);
      this.close();
      return;
    }
    await this.send(reply);
  }

  close(): void {
    this.closing = true;
    this.t.close();
  }

  /** A timer ran out (idle, login, one command): BYE and close (RFC 5804 4 allows BYE at any time). */
  async timeout(why: Expiry): Promise<void> {
    if (this.closing) return;
    const c = this.ctx.config.managesieve;
    const text = why === 'idle' ? 'Idle timeout' : why === 'login' ? `No login within ${c.login_timeout} s` : `Command not completed within ${c.command_timeout} s`;
    this.log.info(this.id, `${text.toLowerCase()}, client=${this.t.clientAddress}`);
    this.closing = true;
    await this.send(bye(text)).catch(() => undefined);
    this.t.close();
  }

  async shutdown(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.send(bye('Server shutting down', 'TRYLATER')).catch(() => undefined);
    this.t.close();
  }

  // ---- before authentication (RFC 5804 2.1, 2.2, 2.4)

  async capability(): Promise<void> {
    await this.send(Buffer.concat([this.capabilityLines(), ok()]));
  }

  async starttls(): Promise<void> {
    if (this.t.secure) throw new Refusal('TLS is already on');
    if (!(await this.t.startTls(ok('Begin TLS negotiation now')))) {
      this.closing = true;
      return;
    }
    this.log.debug(this.id, `tls started, client=${this.t.clientAddress}`);
    // RFC 5804 2.2: the capabilities again, now with the mechanisms TLS allows.
    await this.capability();
  }

  async authenticate(args: Arg[]): Promise<void> {
    const mech = text(args[0], 'the mechanism').toUpperCase();
    const offered = this.mechanisms();
    const exchange = startExchange(mech, offered, { auth: this.ctx.auth, service: 'sieve', clientAddress: this.t.clientAddress, hostname: this.ctx.config.hostname });
    if (!exchange) {
      if (PLAINTEXT_MECHANISMS.includes(mech) && !this.t.secure) throw new Refusal('Plaintext authentication needs TLS: STARTTLS first', 'ENCRYPT-NEEDED');
      throw new Refusal(`Mechanism ${mech.slice(0, 40)} is not offered`);
    }
    const initial = args[1] ? decodeResponse(str(args[1], 'the initial response').toString('latin1')) : null;
    if (initial === 'invalid' || initial === 'cancel') throw new Refusal('The initial response is not base64');
    await this.saslStep(exchange, await exchange.start(initial));
  }

  /** RFC 5804 2.1: each response is a string (quoted or literal) on its own line; "*" cancels. */
  private async saslResponse(exchange: SaslExchange, frame: Frame): Promise<void> {
    this.state = { kind: 'unauth' };
    if (frame.kind !== 'response') return this.error(no('Authentication failed: a SASL response is one string'));
    const d = decodeResponse(frame.value.toString('latin1'));
    if (d === 'cancel') return this.send(no('Authentication cancelled'));
    if (d === 'invalid') return this.error(no('Authentication failed: the response is not base64'));
    await this.saslStep(exchange, await exchange.next(d));
  }

  private async saslStep(exchange: SaslExchange, step: SaslStep): Promise<void> {
    switch (step.kind) {
      case 'challenge':
        this.state = { kind: 'sasl', exchange };
        return this.send(Buffer.concat([Buffer.from(sieveString(step.data.toString('base64')) as string), Buffer.from('\r\n')]));
      case 'malformed':
        return this.error(no(`Authentication failed: ${step.message}`));
      case 'done':
        return this.afterAuth(step.outcome, exchange.mechanism);
    }
  }

  private async afterAuth(outcome: AuthOutcome, method: string): Promise<void> {
    if (!outcome.ok) {
      this.log.info(this.id, `authentication failed: method=${method}, client=${this.t.clientAddress}${outcome.reason === 'throttled' ? ' (throttled)' : ''}`);
      return this.send(outcome.reason === 'throttled' ? no('Too many failures; try later', 'TRYLATER') : no('Authentication failed'));
    }
    this.state = { kind: 'auth', user: outcome.user, method };
    this.t.loggedIn(true);
    this.log.info(this.id, `login: user=${outcome.user}, client=${this.t.clientAddress}, method=${method}, tls=${this.t.secure ? 'yes' : 'no'}`);
    await this.send(ok());
  }

  async logout(): Promise<void> {
    this.closing = true;
    await this.send(ok()).catch(() => undefined);
    this.t.close();
  }

  /** RFC 5804 2.11: a tag given is echoed in a TAG response code. */
  async noop(args: Arg[]): Promise<void> {
    if (!args.length) return this.send(ok('Done'));
    await this.send(ok('Done', `TAG ${sieveString(str(args[0], 'the tag')) as string}`));
  }

  // ---- after authentication (RFC 5804 2.3, 2.5 - 2.13)

  async unauthenticate(): Promise<void> {
    this.log.info(this.id, `logout: user=${this.user}, client=${this.t.clientAddress}`);
    this.state = { kind: 'unauth' };
    this.t.loggedIn(false);
    await this.send(ok());
  }

  async haveSpace(args: Arg[]): Promise<void> {
    const name = scriptName(args[0]);
    const size = args[1];
    if (size?.kind !== 'atom' || !/^\d{1,15}$/.test(size.value)) throw new Refusal('the size must be a number');
    const problem = await this.scripts.haveSpace(this.user, name, Number(size.value), quotaOf(this.ctx.config.sieve));
    if (!problem) return this.send(ok());
    await this.send(no(problem === 'QUOTA/MAXSIZE' ? `Scripts are at most ${this.ctx.config.sieve.max_script_size} octets` : `At most ${this.ctx.config.sieve.max_scripts} scripts`, problem as ResponseCode));
  }

  /** The script argument as text, checked; a refusal carries the errors with their line numbers. */
  private checked(a: Arg | undefined): string {
    const script = text(a, 'the script');
    const errors = checkScript(script, this.ctx.config.sieve);
    if (errors) throw new Refusal(errors);
    return script;
  }

  async putScript(args: Arg[]): Promise<void> {
    const name = scriptName(args[0]);
    const script = this.checked(args[1]);
    await this.scripts.put(this.user, name, script, quotaOf(this.ctx.config.sieve));
    this.log.info(this.id, `putscript: user=${this.user}, script="${name}", size=${Buffer.byteLength(script)}`);
    await this.send(ok());
  }

  async checkScript(args: Arg[]): Promise<void> {
    this.checked(args[0]);
    await this.send(ok());
  }

  async listScripts(): Promise<void> {
    const list = await this.scripts.list(this.user);
    const lines = list.map((s) => `${sieveString(s.name) as string}${s.active ? ' ACTIVE' : ''}\r\n`).join('');
    await this.send(Buffer.concat([Buffer.from(lines, 'utf8'), ok()]));
  }

  async setActive(args: Arg[]): Promise<void> {
    const raw = text(args[0], 'the script name');
    // RFC 5804 2.8: the empty name deactivates.
    await this.scripts.setActive(this.user, raw === '' ? null : scriptName(args[0]));
    this.log.info(this.id, `setactive: user=${this.user}, script="${raw}"`);
    await this.send(ok());
  }

  async getScript(args: Arg[]): Promise<void> {
    const name = scriptName(args[0]);
    const script = await this.scripts.get(this.user, name);
    if (script === null) throw new SieveStoreError('NONEXISTENT', `There is no script named "${name}"`);
    const b = Buffer.from(script, 'utf8');
    // RFC 5804 2.9: the script as a literal, then OK.
    await this.send(Buffer.concat([Buffer.from(`{${b.length}}\r\n`), b, Buffer.from('\r\n'), ok()]));
  }

  async deleteScript(args: Arg[]): Promise<void> {
    const name = scriptName(args[0]);
    await this.scripts.delete(this.user, name);
    this.log.info(this.id, `deletescript: user=${this.user}, script="${name}"`);
    await this.send(ok());
  }

  async renameScript(args: Arg[]): Promise<void> {
    const from = scriptName(args[0]);
    const to = scriptName(args[1]);
    await this.scripts.rename(this.user, from, to);
    await this.send(ok());
  }
}

const ANY: ('unauth' | 'auth')[] = ['unauth', 'auth'];
const AUTH: ('unauth' | 'auth')[] = ['auth'];

/** RFC 5804 2: the commands, the states they are allowed in, their argument counts. */
const COMMANDS: Record<string, CommandSpec> = {
  CAPABILITY: { states: ANY, args: [0, 0], run: (s) => s.capability() },
  STARTTLS: { states: ['unauth'], args: [0, 0], run: (s) => s.starttls() },
  AUTHENTICATE: { states: ['unauth'], args: [1, 2], run: (s, a) => s.authenticate(a) },
  LOGOUT: { states: ANY, args: [0, 0], run: (s) => s.logout() },
  NOOP: { states: ANY, args: [0, 1], run: (s, a) => s.noop(a) },
  UNAUTHENTICATE: { states: AUTH, args: [0, 0], run: (s) => s.unauthenticate() },
  HAVESPACE: { states: AUTH, args: [2, 2], run: (s, a) => s.haveSpace(a) },
  PUTSCRIPT: { states: AUTH, args: [2, 2], run: (s, a) => s.putScript(a) },
  CHECKSCRIPT: { states: AUTH, args: [1, 1], run: (s, a) => s.checkScript(a) },
  LISTSCRIPTS: { states: AUTH, args: [0, 0], run: (s) => s.listScripts() },
  SETACTIVE: { states: AUTH, args: [1, 1], run: (s, a) => s.setActive(a) },
  GETSCRIPT: { states: AUTH, args: [1, 1], run: (s, a) => s.getScript(a) },
  DELETESCRIPT: { states: AUTH, args: [1, 1], run: (s, a) => s.deleteScript(a) },
  RENAMESCRIPT: { states: AUTH, args: [2, 2], run: (s, a) => s.renameScript(a) },
};
