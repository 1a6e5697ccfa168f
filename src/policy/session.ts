import type { Reply } from '../smtp/codes.js';
import type { MessageEnvelope, SpoolWriter } from '../queue/types.js';
import type { RecipientVerdict } from '../delivery/recipients.js';
import { describeRule, type AccessRule } from '../maps/access.js';
import type { Policy } from './engine.js';
import { queryLists } from './dnsbl.js';
import { formatEntry, Ledger, replyText, type Outcome, type Stage, type Verdict } from './ledger.js';
import { PolicyReplies } from './replies.js';
import { ForgedResultsFilter } from './forged-results.js';
import { SenderAuthCheck } from './sender-auth.js';
import { TraceCounter } from './trace-counter.js';
import { clientKey } from './ip.js';

/**
 * One connection's policy, called by the SMTP session at each stage (STYLE.md: hooks with
 * verdicts and a ledger). sendmail's order and meaning, from the seed's sendmail.mc:
 *
 *   connect  access Connect: (host name, then address), relay-domains, DNSWL, DNSBL (S25, S26, S28)
 *   MAIL     rate limits, access From: (S25)
 *   RCPT     with delay_checks the connect and MAIL verdicts are applied here, unless the client
 *            authenticated or the recipient is whitelisted (Spam:addr FRIEND, To:addr OK);
 *            access To: (blacklist_recipients), relaying (auth, RELAY, relay-domains,
 *            relay_based_on_MX), the recipient itself, greylisting
 *   DATA end hop count (RFC 5321 6.3), DISCARD, SPF/DKIM/DMARC/ARC and Authentication-Results,
 *            X-Authentication-Warning (S17 authwarnings)
 *
 * Without delay_checks the connect verdict answers every command but QUIT, NOOP and RSET
 * (like sendmail after check_relay refused), and the MAIL verdict answers MAIL.
 * A DNS list that fails or is slow never refuses mail; its silence is in the ledger.
 */

export type Service = 'smtp' | 'submission' | 'lmtp' | 'check';

export interface PolicyPeer {
  ip: string;
  /** The client's forward-confirmed host name (or its lookup under way). */
  name: Promise<string | null> | string | null;
}

interface ClientVerdict {
  verdict: Verdict;
  /** S25 Connect RELAY, S26 relay-domains: this client may relay. */
  relay: boolean;
  /** Access OK/RELAY or a DNS allow list: no block lists, no greylisting. */
  trusted: boolean;
}

interface Transaction {
  sender: string;
  from: Verdict;
  discard: boolean;
  envelope: MessageEnvelope | null;
  writer: SpoolWriter | null;
  auth: SenderAuthCheck | null;
  hops: TraceCounter | null;
}

const UNGATED = new Set(['QUIT', 'NOOP', 'RSET']);

const outcomeOf = (rule: AccessRule): Outcome => {
  switch (rule.action.kind) {
    case 'RELAY': return 'relay';
    case 'OK': return 'accept';
    case 'REJECT':
    case 'ERROR': return 'reject';
    case 'DISCARD': return 'discard';
    case 'FRIEND': return 'whitelist';
    default: return 'skip';
  }
};

function accessVerdict(rule: AccessRule, refusal: () => Reply): Verdict {
  switch (rule.action.kind) {
    case 'REJECT': return { kind: 'refuse', reply: refusal() };
    case 'ERROR': return { kind: 'refuse', reply: { code: rule.action.code, enhanced: rule.action.enhanced, text: rule.action.text } };
    case 'DISCARD': return { kind: 'discard' };
    default: return { kind: 'continue' };
  }
}

export class PolicySession {
  readonly ledger = new Ledger();
  private readonly client: Promise<ClientVerdict>;
  private connectionRefusal: Reply | null = null;
  private name: string | null = null;
  private helo = '';
  private authUser: string | null = null;
  private tx: Transaction | null = null;

  constructor(private readonly policy: Policy, readonly peer: PolicyPeer, readonly service: Service) {
    const p = policy.config.policy;
    if ((service === 'smtp' || service === 'submission') && !policy.connections.take(`c:${clientKey(peer.ip)}`, p.client_connections)) {
      this.connectionRefusal = PolicyReplies.tooManyConnections(peer.ip);
      this.ledger.add('connect', 'rate', 'tempfail', `more than ${p.client_connections} connections from ${peer.ip} in ${p.rate_window}s`);
    }
    this.client = this.checkClient();
    // Awaited later (gate or RCPT); a rejection here must not be unhandled meanwhile.
    this.client.catch(() => undefined);
  }

  private get cfg() {
    return this.policy.config.policy;
  }

  /** Postfix-style "name[ip]", for log lines. */
  clientText(): string {
    return `${this.name ?? 'unknown'}[${this.peer.ip}]`;
  }

  private async checkClient(): Promise<ClientVerdict> {
    const { ip } = this.peer;
    try {
      this.name = typeof this.peer.name === 'string' || this.peer.name === null ? this.peer.name : await this.peer.name;
    } catch {
      this.name = null;
    }
    const out: ClientVerdict = { verdict: { kind: 'continue' }, relay: false, trusted: false };
    // LMTP (RFC 2033) is another MTA of ours handing over local mail: no client checks.
    if (this.service === 'lmtp') return { ...out, trusted: true };
    const rule = this.policy.maps.access.get().client(ip, this.name);
    if (rule) {
      this.ledger.add('connect', 'access', outcomeOf(rule), describeRule(rule));
      out.verdict = accessVerdict(rule, PolicyReplies.accessDenied);
      if (rule.action.kind === 'RELAY') out.relay = true;
      if (rule.action.kind === 'RELAY' || rule.action.kind === 'OK') out.trusted = true;
      if (out.verdict.kind !== 'continue') return out;
    }
    const rd = this.policy.maps.relayDomains.get();
    if (!out.relay && (rd.coversIp(ip) || (this.name !== null && rd.covers(this.name)))) {
      out.relay = true;
      out.trusted = true;
      this.ledger.add('connect', 'relay-domains', 'relay', `client ${this.clientText()} is listed in ${this.policy.maps.relayDomains.file}`);
    }
    if (this.service !== 'smtp' && this.service !== 'check') return out;
    if (out.trusted) {
      if (this.cfg.dnsbl.length) this.ledger.add('connect', 'dnsbl', 'skip', 'client trusted by the access map or relay-domains');
      return out;
    }
    const [allow, block] = await Promise.all([
      queryLists(this.policy.listDns.lookup, ip, this.cfg.dnswl.map((zone) => ({ zone, message: '', answers: [] }))),
      queryLists(this.policy.listDns.lookup, ip, this.cfg.dnsbl),
    ]);
    for (const a of [...allow.map((x) => ['dnswl', x] as const), ...block.map((x) => ['dnsbl', x] as const)]) {
      const [check, ans] = a;
      if (ans.kind === 'error') this.ledger.add('connect', check, 'skip', `${ans.zone} did not answer (${ans.error}); not used`);
    }
    const allowed = allow.find((a) => a.kind === 'listed');
    if (allowed) {
      this.ledger.add('connect', 'dnswl', 'whitelist', `${ip} listed at ${allowed.zone}`);
      out.trusted = true;
      return out;
    }
    const listed = block.find((b) => b.kind === 'listed');
    if (listed && listed.kind === 'listed') {
      this.ledger.add('connect', 'dnsbl', 'reject', `${ip} listed at ${listed.zone} (${listed.answers.join(', ')})`);
      out.verdict = { kind: 'refuse', reply: PolicyReplies.listed(listed.message) };
    } else if (this.cfg.dnsbl.length) {
      this.ledger.add('connect', 'dnsbl', 'accept', `${ip} not listed at ${this.cfg.dnsbl.filter((l) => block.some((b) => b.zone === l.zone && b.kind === 'clear')).map((l) => l.zone).join(', ') || 'any list that answered'}`);
    }
    return out;
  }

  /** The client's verdict (for `correo policy check`). */
  clientVerdict(): Promise<ClientVerdict> {
    return this.client;
  }

  /**
   * Before each command: a connection over the rate limit is closed (421), and without
   * delay_checks a refused client gets its refusal to every command but QUIT/NOOP/RSET.
   */
  async gate(verb: string): Promise<Reply | null> {
    if (this.connectionRefusal) return this.connectionRefusal;
    if (this.cfg.delay_checks || UNGATED.has(verb)) return null;
    const c = await this.client;
    return c.verdict.kind === 'refuse' ? c.verdict.reply : null;
  }

  hello(name: string): void {
    this.helo = name;
  }

  /** The SMTP session tells us once a client authenticated (RFC 4954). */
  authenticated(user: string | null): void {
    this.authUser = user;
  }

  private refuse(stage: Stage, what: string, reply: Reply, since: number): Reply {
    // What decided: this stage's entries, and earlier refusals carried over (delay_checks).
    const earlier = this.ledger.entries.slice(0, since).filter((e) => e.outcome === 'reject' || e.outcome === 'tempfail');
    const why = [...earlier, ...this.ledger.since(since)].map(formatEntry).join('; ');
    this.policy.log.info(null, `policy: ${stage} from ${this.clientText()}${what ? ` ${what}` : ''}: ${replyText(reply)}${why ? ` [${why}]` : ''}`);
    return reply;
  }

  /** MAIL FROM: a new transaction. A reply is a refusal of the command. */
  async mail(sender: string, authUser?: string | null): Promise<Reply | null> {
    if (authUser !== undefined) this.authUser = authUser;
    const since = this.ledger.length;
    this.abortTransaction();
    this.tx = { sender, from: { kind: 'continue' }, discard: false, envelope: null, writer: null, auth: null, hops: null };
    if (this.service === 'lmtp') return null;
    const limit = this.authUser
      ? this.policy.messages.take(`u:${this.authUser.toLowerCase()}`, this.cfg.user_messages)
      : this.policy.messages.take(`c:${clientKey(this.peer.ip)}`, this.cfg.client_messages);
    if (!limit) {
      const who = this.authUser ?? this.peer.ip;
      this.ledger.add('mail', 'rate', 'tempfail', `more than ${this.authUser ? this.cfg.user_messages : this.cfg.client_messages} messages from ${who} in ${this.cfg.rate_window}s`);
      return this.refuse('mail', `from=<${sender}>`, PolicyReplies.tooManyMessages(who), since);
    }
    const rule = this.policy.maps.access.get().address('from', sender);
    if (rule) {
      this.ledger.add('mail', 'access', outcomeOf(rule), `${describeRule(rule)} (sender <${sender}>)`);
      this.tx.from = accessVerdict(rule, PolicyReplies.accessDenied);
    }
    if (this.cfg.delay_checks) return null;
    const c = await this.client;
    if (c.verdict.kind === 'discard') this.tx.discard = true;
    if (this.tx.from.kind === 'refuse') return this.refuse('mail', `from=<${sender}>`, this.tx.from.reply, since);
    if (this.tx.from.kind === 'discard') this.tx.discard = true;
    return null;
  }

  /** RCPT TO: the recipient's verdict, every check included. */
  async rcpt(address: string, authUser?: string | null): Promise<RecipientVerdict> {
    if (authUser !== undefined) this.authUser = authUser;
    const since = this.ledger.length;
    const tx = this.tx ?? (this.tx = { sender: '', from: { kind: 'continue' }, discard: false, envelope: null, writer: null, auth: null, hops: null });
    const refuse = (reply: Reply): RecipientVerdict => {
      this.refuse('rcpt', `from=<${tx.sender}> to=<${address}>`, reply, since);
      return { ok: false, code: reply.code, enhanced: reply.enhanced ?? '', text: Array.isArray(reply.text) ? reply.text.join(' ') : reply.text };
    };
    if (this.service === 'lmtp') return this.lmtpRcpt(address, since, refuse);
    const who = this.authUser ?? this.peer.ip;
    const limited = this.authUser
      ? this.policy.rcpts.take(`u:${this.authUser.toLowerCase()}`, this.cfg.user_recipients)
      : this.policy.rcpts.take(`c:${clientKey(this.peer.ip)}`, this.cfg.client_recipients);
    if (!limited) {
      this.ledger.add('rcpt', 'rate', 'tempfail', `more than ${this.authUser ? this.cfg.user_recipients : this.cfg.client_recipients} recipients from ${who} in ${this.cfg.rate_window}s`);
      return refuse(PolicyReplies.tooManyRecipients(who));
    }
    const access = this.policy.maps.access.get();
    const client = await this.client;
    if (client.verdict.kind === 'discard') tx.discard = true;

    if (this.cfg.delay_checks) {
      // S25 delay_checks: the client and sender verdicts, unless something says this mail is wanted.
      let exempt: string | null = this.authUser ? `client authenticated as ${this.authUser}` : null;
      if (!exempt) {
        const spam = access.address('spam', address);
        if (spam && spam.action.kind === 'FRIEND') exempt = describeRule(spam);
        const to = access.address('to', address);
        if (!exempt && to && to.tag === 'to' && to.action.kind === 'OK') exempt = describeRule(to);
      }
      if (exempt) {
        if (client.verdict.kind === 'refuse' || tx.from.kind === 'refuse') this.ledger.add('rcpt', 'delay_checks', 'whitelist', `client and sender verdicts skipped: ${exempt}`);
      } else {
        if (client.verdict.kind === 'refuse') return refuse(client.verdict.reply);
        if (tx.from.kind === 'refuse') return refuse(tx.from.reply);
        if (tx.from.kind === 'discard') tx.discard = true;
      }
    }

    // S25 the recipient in the access map: RELAY always (relaying to that domain), refusals with blacklist_recipients.
    let relayTo = false;
    const rule = access.address('to', address);
    if (rule) {
      const acts = rule.action.kind === 'RELAY' || rule.action.kind === 'OK' || this.cfg.blacklist_recipients;
      this.ledger.add('rcpt', 'access', acts ? outcomeOf(rule) : 'skip', `${describeRule(rule)} (recipient <${address}>)${acts ? '' : '; blacklist_recipients is off'}`);
      if (rule.action.kind === 'RELAY') relayTo = true;
      else if (acts) {
        const v = accessVerdict(rule, () => PolicyReplies.mailboxDisabled(address));
        if (v.kind === 'refuse') return refuse(v.reply);
        if (v.kind === 'discard') tx.discard = true;
      }
    }

    // S26 relaying: only for a reason.
    const domain = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
    let relay = false;
    if (!this.policy.recipients.isLocalDomain(domain)) {
      if (this.authUser) this.ledger.add('rcpt', 'relay', 'relay', `client authenticated as ${this.authUser}`);
      else if (client.relay) {
        relay = true;
        this.ledger.add('rcpt', 'relay', 'relay', `client ${this.clientText()} may relay`);
      } else if (relayTo) {
        relay = true;
        this.ledger.add('rcpt', 'relay', 'relay', `${domain} has RELAY in the access map`);
      } else if (this.policy.maps.relayDomains.get().covers(domain)) {
        relay = true;
        this.ledger.add('rcpt', 'relay', 'relay', `${domain} is in relay-domains (${this.policy.maps.relayDomains.file})`);
      } else if (this.cfg.relay_based_on_mx && (await this.policy.mxPointsAtUs(domain))) {
        relay = true;
        this.ledger.add('rcpt', 'relay', 'relay', `an MX of ${domain} is this host (relay_based_on_mx)`);
      } else {
        this.ledger.add('rcpt', 'relay', 'reject', `${domain} is not ours and nothing allows relaying to it`);
      }
    }

    let verdict: RecipientVerdict;
    try {
      verdict = await this.policy.recipients.check(address, { clientAddress: this.peer.ip, authUser: this.authUser ?? undefined, relay });
    } catch (e) {
      this.ledger.add('rcpt', 'recipient', 'tempfail', (e as Error).message);
      return refuse(PolicyReplies.tempfail());
    }
    if (!verdict.ok) {
      this.ledger.add('rcpt', 'recipient', 'reject', `${verdict.code} ${verdict.enhanced} ${verdict.text}`);
      this.refuse('rcpt', `from=<${tx.sender}> to=<${address}>`, { code: verdict.code, enhanced: verdict.enhanced, text: verdict.text }, since);
      return verdict;
    }
    this.ledger.add('rcpt', 'recipient', 'accept', verdict.local ? `<${verdict.address}> is local` : `<${verdict.address}> will be relayed`);

    // Greylisting (RFC 6647), for strangers only.
    const grey = this.policy.greylist;
    if (grey && !this.authUser && !client.trusted && this.service === 'smtp') {
      const g = grey.check(this.peer.ip, tx.sender, verdict.address);
      if (g.kind === 'wait') {
        this.ledger.add('rcpt', 'greylist', 'tempfail', `first sight of (${this.peer.ip}, <${tx.sender}>, <${verdict.address}>); retry in ${g.seconds}s`);
        return refuse(PolicyReplies.greylisted(g.seconds));
      }
      this.ledger.add('rcpt', 'greylist', 'accept', g.known ? 'triplet known' : 'retried after the delay; triplet remembered');
    }
    if (tx.discard) this.ledger.add('rcpt', 'access', 'discard', 'the message will be accepted and discarded');
    return verdict;
  }

  /** LMTP takes local recipients only: never a relay, whatever the maps say. */
  private async lmtpRcpt(address: string, since: number, refuse: (r: Reply) => RecipientVerdict): Promise<RecipientVerdict> {
    let verdict: RecipientVerdict;
    try {
      verdict = await this.policy.recipients.check(address, { clientAddress: this.peer.ip });
    } catch (e) {
      this.ledger.add('rcpt', 'recipient', 'tempfail', (e as Error).message);
      return refuse(PolicyReplies.tempfail());
    }
    this.ledger.add('rcpt', 'recipient', verdict.ok ? 'accept' : 'reject', verdict.ok ? `<${verdict.address}>` : `${verdict.code} ${verdict.enhanced} ${verdict.text}`);
    if (!verdict.ok) this.refuse('rcpt', `to=<${address}>`, { code: verdict.code, enhanced: verdict.enhanced, text: verdict.text }, since);
    return verdict;
  }

  /**
   * DATA accepted: the spool writer the message goes to, wrapped so that the checks that
   * need the message (hop count, DKIM...) see it as it streams by.
   */
  data(envelope: MessageEnvelope, writer: SpoolWriter): SpoolWriter {
    const tx = this.tx;
    if (!tx) return writer;
    tx.envelope = envelope;
    tx.writer = writer;
    tx.hops = new TraceCounter();
    const ac = this.policy.config.auth_checks;
    if (ac.enabled && this.service === 'smtp' && !this.authUser && !tx.discard) {
      tx.auth = new SenderAuthCheck({ ip: this.peer.ip, helo: this.helo, sender: tx.sender, hostname: this.policy.config.hostname }, this.policy.authDns.lookup, ac);
    }
    const hops = tx.hops;
    const auth = tx.auth;
    // RFC 8601 5: inbound mail (port 25 from strangers, LMTP) may not carry results in our name.
    const forged = (this.service === 'smtp' && !this.authUser) || this.service === 'lmtp'
      ? new ForgedResultsFilter(this.policy.config.hostname)
      : null;
    const log = this.policy.log;
    return {
      get id() {
        return writer.id;
      },
      get size() {
        return writer.size;
      },
      write(chunk: Buffer): Promise<void> {
        hops.push(chunk);
        // The verifier sees the message as it was sent (a signature may cover the field).
        auth?.write(chunk);
        return writer.write(forged ? forged.push(chunk) : chunk);
      },
      commit: async () => {
        if (forged) {
          const rest = forged.flush();
          if (rest.length) await writer.write(rest);
          if (forged.renamed) log.info(writer.id, `renamed ${forged.renamed} Authentication-Results field(s) claiming our authserv-id to X-Original-Authentication-Results (RFC 8601 5)`);
        }
        return writer.commit();
      },
      abort: () => {
        auth?.abort();
        return writer.abort();
      },
      addTrace: writer.addTrace ? (text: string) => writer.addTrace!(text) : undefined,
    };
  }

  /**
   * The whole message has been read and is about to be committed. A reply ends the
   * transaction without keeping the message: a refusal, or (DISCARD) a 250 for a message
   * thrown away. Authentication-Results and other trace fields are added here.
   */
  async endOfData(): Promise<Reply | null> {
    const tx = this.tx;
    if (!tx || !tx.writer) return null;
    const since = this.ledger.length;
    const id = tx.writer.id;
    const hops = tx.hops?.count ?? 0;
    if (hops > this.cfg.max_hops) {
      this.ledger.add('data', 'hops', 'reject', `${hops} Received lines, more than ${this.cfg.max_hops}`);
      tx.auth?.abort();
      return this.refuse('data', `id=${id}`, PolicyReplies.loop(hops), since);
    }
    if (tx.discard) {
      this.ledger.add('data', 'access', 'discard', 'message accepted and discarded (DISCARD)');
      this.policy.log.info(id, `discarded: from=<${tx.sender}> client=${this.clientText()} [${this.ledger.entries.filter((e) => e.outcome === 'discard').map(formatEntry).join('; ')}]`);
      return { code: 250, enhanced: '2.0.0', text: `Ok: queued as ${id}` };
    }
    const traces: string[] = [];
    if (tx.auth) {
      const r = await tx.auth.result();
      if ('error' in r) {
        this.ledger.add('data', 'sender-auth', 'skip', `${r.error}; message accepted without Authentication-Results`);
      } else {
        traces.push(r.headers);
        this.ledger.add('data', 'spf', r.spf === 'pass' ? 'accept' : 'note', `spf=${r.spf} smtp.mailfrom=<${tx.sender}>`);
        this.ledger.add('data', 'dkim', 'note', r.dkim.length ? r.dkim.map((d) => `dkim=${d}`).join(', ') : 'dkim=none');
        if (r.arc !== 'none') this.ledger.add('data', 'arc', 'note', `arc=${r.arc}`);
        this.ledger.add('data', 'dmarc', r.action === 'reject' ? 'reject' : r.action === 'quarantine' ? 'note' : 'accept', r.dmarc ? `${r.reason} (${r.dmarc.domain})` : 'dmarc=none');
        if (this.policy.config.auth_checks.spf_reject && r.spf === 'fail') {
          return this.refuse('data', `id=${id} from=<${tx.sender}>`, PolicyReplies.spfFail(tx.sender), since);
        }
        if (r.action === 'reject') return this.refuse('data', `id=${id} from=<${tx.sender}>`, PolicyReplies.dmarcReject(r.fromDomain ?? r.dmarc?.domain ?? 'the sender'), since);
        if (r.action === 'quarantine' && tx.envelope) {
          tx.envelope.quarantine = true;
          this.policy.log.info(id, `quarantine: ${r.reason}; filed in Junk`);
        }
      }
    }
    // S17 authwarnings: an authenticated user sending as someone else (where allowed at all).
    if (this.cfg.authwarnings && this.authUser && tx.sender && tx.sender.toLowerCase() !== this.authUser.toLowerCase()) {
      traces.push(`X-Authentication-Warning: ${this.policy.config.hostname}: ${this.authUser} set sender to ${tx.sender} using SMTP AUTH\r\n`);
      this.ledger.add('data', 'authwarnings', 'note', `${this.authUser} sent as <${tx.sender}>`);
    }
    if (traces.length && tx.writer.addTrace) tx.writer.addTrace(traces.join(''));
    this.tx = { ...tx, writer: null, auth: null };
    return null;
  }

  /** A transaction left without committing (RSET, new MAIL, connection gone). */
  private abortTransaction(): void {
    this.tx?.auth?.abort();
    this.tx = null;
  }
}
