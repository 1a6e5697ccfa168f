import { readFileSync, statSync } from 'node:fs';
import type { Config } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import type { BlobStore } from '../store/blobs.js';
import type { SieveStore } from '../store/sieve.js';
import { parseScript, runScript, formatErrors, type RunResult, type Script, type SieveAction, type VacationAction } from '../sieve/index.js';
import { headerFields, noReplyReason, redirectedCopy, REDIRECTED_FIELD, vacationReply } from './sieve-messages.js';
import { stageMessage, type StagedMessage } from './sieve-outgoing.js';

/** Where one copy of the message goes for the user. */
export interface SieveFolder {
  mailbox: string;
  /** fileinto :create (RFC 5490 3.2): make the mailbox when it is missing. */
  create: boolean;
  flags: string[];
  /** The message after editheader (RFC 5293), when the script changed its header. */
  message?: Buffer;
}

/** What Sieve decided for one local recipient; the queue run carries it out in one write batch. */
export interface SieveOutcome {
  folders: SieveFolder[];
  /** reject/ereject (RFC 5429): the text for the DSN; nothing is stored. */
  reject: string | null;
  /** Vacation replies and redirects, staged: their queue records go into the delivery's batch. */
  outgoing: StagedMessage[];
  /** Vacation :days and duplicate ids to remember, in the same batch. */
  remember: { key: string; expires: number }[];
  /** Log lines (run-time errors with script and line, replies not sent and why). */
  logs: string[];
}

export interface SieveInput {
  /** The local user (address) whose scripts run. */
  user: string;
  /** RCPT TO as given (with its +detail) and ORCPT. */
  rcpt: string;
  orcpt: string | null;
  sender: string;
  authUser?: string;
  /** The stored message and the octets of its Return-Path line. */
  message: Buffer;
  traceSkip: number;
  mailboxExists(name: string): Promise<boolean>;
}

interface NamedScript {
  name: string;
  script: Script;
}

/** Copies of a message already redirected this many times are kept instead (a loop through other systems). */
const MAX_REDIRECT_HOPS = 8;

/**
 * Sieve at final delivery (RFC 5228 2.10): [sieve] before, the user's active script, [sieve]
 * after, run in that order on the stored message; their actions joined (the implicit keep
 * stays only if no script cancelled it, as Dovecot's sieve_before/after). The engine has no
 * side effects; this turns its actions into folders, staged outgoing mail and memory, which
 * the queue run commits together with the delivery (so a retry after a crash runs the
 * scripts again from scratch and sends nothing twice).
 */
export class SieveDelivery {
  private readonly globals = new Map<string, { mtime: number; script: NamedScript | null }>();
  private readonly parsed = new Map<string, Script>();

  constructor(private readonly o: { config: Config; store: SieveStore; blobs: BlobStore; log: Logger }) {}

  /** Whether any script runs for this user (the SMTP fast path leaves such mail to the queue run). */
  async applies(user: string): Promise<boolean> {
    const s = this.o.config.sieve;
    return !!(s.before || s.after) || (await this.o.store.active(user)) !== null;
  }

  /** A global script file, parsed once per change; a broken one is logged and skipped (mail still flows). */
  private global(file: string | null, name: string): NamedScript | null {
    if (!file) return null;
    let mtime: number;
    try {
      mtime = statSync(file).mtimeMs;
    } catch (e) {
      this.o.log.warn(null, `sieve: [sieve] ${name} ${file}: ${(e as Error).message}; not run`);
      return null;
    }
    const cached = this.globals.get(file);
    if (cached && cached.mtime === mtime) return cached.script;
    const r = parseScript(readFileSync(file, 'utf8'));
    const script = r.script ? { name: `${name}:${file}`, script: r.script } : null;
    if (r.errors) this.o.log.warn(null, `sieve: ${r.errors.map((e) => `${file}:${e.line}:${e.column}: ${e.message}`).join('; ')}; not run`);
    this.globals.set(file, { mtime, script });
    return script;
  }

  private async personal(user: string): Promise<NamedScript | null> {
    const active = await this.o.store.active(user);
    if (!active) return null;
    let script = this.parsed.get(active.text);
    if (!script) {
      const r = parseScript(active.text, { maxSize: this.o.config.sieve.max_script_size });
      if (r.errors) {
        // Stored scripts were checked at upload; a newer engine may refuse one: keep the mail.
        this.o.log.warn(null, `sieve: ${user}: script "${active.name}" no longer parses (${formatErrors(r.errors).replace(/\r\n/g, '; ')}); message kept`);
        return null;
      }
      script = r.script;
      if (this.parsed.size > 1000) this.parsed.clear();
      this.parsed.set(active.text, script);
    }
    return { name: active.name, script };
  }

  /** Runs the scripts; null when none applies (plain delivery to INBOX). */
  async evaluate(input: SieveInput): Promise<SieveOutcome | null> {
    const c = this.o.config.sieve;
    const scripts = [this.global(c.before, 'before'), await this.personal(input.user), this.global(c.after, 'after')].filter((s): s is NamedScript => s !== null);
    if (!scripts.length) return null;
    const results: { name: string; r: RunResult }[] = [];
    for (const s of scripts) {
      const r = await this.run(s, input);
      results.push({ name: s.name, r });
      if (r.actions.some((a) => a.type === 'reject')) break;
    }
    return this.carryOut(input, results);
  }

  private run(s: NamedScript, input: SieveInput): Promise<RunResult> {
    const c = this.o.config;
    const user = input.user;
    return runScript(s.script, {
      scriptName: s.name,
      message: input.message,
      envelope: { from: input.sender, to: input.rcpt, ...(input.orcpt ? { origTo: input.orcpt } : {}), ...(input.authUser ? { auth: input.authUser } : {}) },
      environment: { domain: user.slice(user.lastIndexOf('@') + 1), host: c.hostname, location: 'MDA', phase: 'during', name: 'Correo', version: '1' },
      userAddresses: [...new Set([user, input.rcpt.toLowerCase()])],
      recipientDelimiter: c.delivery.recipient_delimiter || '+',
      include: async (name, location) => (location === 'personal' ? this.o.store.get(user, name) : null),
      duplicate: (id, handle) => this.o.store.remembered(user, `duplicate:${handle}:${id}`, Date.now()),
      mailboxExists: (name) => input.mailboxExists(name),
    }, { maxActions: c.sieve.max_actions, maxRedirects: c.sieve.max_redirects, maxMillis: c.sieve.max_run_time });
  }

  private async carryOut(input: SieveInput, results: { name: string; r: RunResult }[]): Promise<SieveOutcome> {
    const out: SieveOutcome = { folders: [], reject: null, outgoing: [], remember: [], logs: [] };
    const now = Date.now();
    for (const { name, r } of results) {
      if (r.error) out.logs.push(`sieve: script "${name}" line ${r.error.line}${r.error.script ? ` (include "${r.error.script}")` : ''}: ${r.error.message}; message kept`);
      for (const d of r.duplicates) out.remember.push({ key: `duplicate:${d.handle}:${d.id}`, expires: now + d.seconds * 1000 });
    }
    // The implicit keep survives only if no script cancelled it (RFC 5228 2.10.2, per script).
    const implicit = results.every(({ r }) => r.actions.some((a) => a.type === 'keep' && a.implicit));
    const actions: SieveAction[] = results.flatMap(({ r }) => r.actions.filter((a) => !(a.type === 'keep' && a.implicit)));
    let keep = implicit;
    for (const a of actions) keep = (await this.action(a, input, out)) || keep;
    if (keep && !out.reject) {
      const k = results.flatMap(({ r }) => r.actions).find((a) => a.type === 'keep');
      out.folders.unshift({ mailbox: 'INBOX', create: false, flags: k?.flags ?? [], ...(k?.message ? { message: k.message } : {}) });
    }
    // One copy per mailbox (RFC 5228 2.10.3: duplicate fileinto/keep are one).
    const seen = new Set<string>();
    out.folders = out.folders.filter((f) => {
      const k = f.mailbox.toUpperCase() === 'INBOX' ? 'INBOX' : f.mailbox;
      return seen.has(k) ? false : (seen.add(k), true);
    });
    return out;
  }

  /** One action; true when it asks for the message to be kept after all (a refused redirect). */
  private async action(a: SieveAction, input: SieveInput, out: SieveOutcome): Promise<boolean> {
    switch (a.type) {
      case 'keep': out.folders.push({ mailbox: 'INBOX', create: false, flags: a.flags, ...(a.message ? { message: a.message } : {}) }); return false;
      case 'fileinto': out.folders.push({ mailbox: a.mailbox, create: a.create, flags: a.flags, ...(a.message ? { message: a.message } : {}) }); return false;
      case 'discard': return false;
      case 'reject': out.reject = a.text; return false;
      case 'redirect': return this.redirect(a.address, a.copy, a.message ? { ...input, message: a.message } : input, out);
      case 'vacation': await this.vacation(a, input, out); return false;
    }
  }

  /** RFC 5228 4.2, with loop limits: never back to the user, never a copy this user already redirected. */
  private async redirect(address: string, copy: boolean, input: SieveInput, out: SieveOutcome): Promise<boolean> {
    const target = address.toLowerCase();
    const marks = (headerFields(input.message).get(REDIRECTED_FIELD.toLowerCase()) ?? []).map((v) => v.toLowerCase());
    const why = target === input.user || target === input.rcpt.toLowerCase() ? 'the redirect leads back to the user'
      : marks.includes(input.user) ? `the message was already redirected by ${input.user} (a loop)`
      : marks.length >= MAX_REDIRECT_HOPS ? `the message was already redirected ${marks.length} times`
      : null;
    if (why) {
      out.logs.push(`sieve: redirect to <${address}> not done: ${why}; message kept`);
      return true;
    }
    out.outgoing.push(await stageMessage(this.o.blobs, this.o.config.hostname, input.sender, address, redirectedCopy(input.message, input.traceSkip, input.user), 'redirect'));
    out.logs.push(`sieve: redirected to <${address}>${copy ? ' (copy)' : ''}`);
    return false;
  }

  /** RFC 5230 4: at most one reply per sender and handle in the period, never to machines, lists or ourselves. */
  private async vacation(v: VacationAction, input: SieveInput, out: SieveOutcome): Promise<void> {
    const c = this.o.config.sieve;
    const own = [input.user, input.rcpt.toLowerCase(), ...v.addresses.map((x) => x.toLowerCase())];
    const why = v.suppress ?? noReplyReason(input.sender, headerFields(input.message), own);
    if (why) {
      out.logs.push(`sieve: vacation reply to <${input.sender}> not sent: ${why}`);
      return;
    }
    const key = `vacation:${v.handle}:${input.sender.toLowerCase()}`;
    const now = Date.now();
    if (await this.o.store.remembered(input.user, key, now)) {
      out.logs.push(`sieve: vacation reply to <${input.sender}> not sent: already answered within the period`);
      return;
    }
    const seconds = Math.min(Math.max(v.seconds, c.vacation_min_period), c.vacation_max_period);
    out.remember.push({ key, expires: now + seconds * 1000 });
    // RFC 5230 5.6 / RFC 3834 3.3: the reply's envelope sender is null, so nothing answers it back.
    const reply = vacationReply(v, input.user, this.o.config.hostname, new Date(now));
    out.outgoing.push(await stageMessage(this.o.blobs, this.o.config.hostname, '', input.sender, reply, 'vacation'));
    out.logs.push(`sieve: vacation reply to <${input.sender}> queued`);
  }
}
