import { spf } from 'mailauth';
import type { Config } from '../config/types.js';
import { Logger } from '../log/logger.js';
import { openCliStore } from './store.js';
import { AddressResolver } from '../delivery/resolve.js';
import { LocalRecipients } from '../delivery/local-recipients.js';
import { Resolver } from '../dns/resolver.js';
import { openMaps } from '../maps/index.js';
import { checkNamedFiles } from '../maps/check.js';
import { Policy } from '../policy/engine.js';
import { formatEntry, replyText, type LedgerEntry } from '../policy/ledger.js';
import type { Reply } from '../smtp/codes.js';
import { UsageError } from './args.js';

/**
 * `correo policy check --from ADDR --to ADDR --ip IP [--helo NAME] [--auth USER]`: what the
 * SMTP server would answer to that client, sender and recipient(s), and why, without sending
 * anything. Each rule and check that spoke is printed, then the verdict with the reply it would
 * give. Exit 0: the message would be accepted; 1: refused (5xx or 4xx).
 *
 * The same Policy code as the server runs, on the same files and DNS servers. The message
 * itself is not known here, so DKIM and DMARC are not evaluated; SPF is, for the envelope sender.
 */
export async function policyCommand(cfg: Config, args: string[], opts: Record<string, string | true>): Promise<number> {
  if (args[0] !== 'check') throw new UsageError('use: correo policy check --from ADDR --to ADDR --ip IP [--helo NAME] [--auth USER]');
  const from = typeof opts.from === 'string' ? opts.from.replace(/^<|>$/g, '') : undefined;
  const to = typeof opts.to === 'string' ? opts.to.split(',').map((t) => t.trim().replace(/^<|>$/g, '')).filter(Boolean) : [];
  const ip = typeof opts.ip === 'string' ? opts.ip : undefined;
  if (from === undefined || !to.length || !ip) throw new UsageError('policy check needs --from ADDR (or --from "" for the null sender), --to ADDR and --ip IP');
  const helo = typeof opts.helo === 'string' ? opts.helo : `[${ip}]`;
  const auth = typeof opts.auth === 'string' ? opts.auth : null;

  const log = new Logger(cfg.hostname, 0, null);
  // The same check as the server's start: a map it would refuse to start with is an error here too.
  checkNamedFiles(cfg);
  const maps = openMaps(cfg, null);
  const stores = await openCliStore(cfg);
  try {
    const resolver = new AddressResolver(cfg, (a) => stores.users.has(a), log, maps);
    const recipients = new LocalRecipients(resolver);
    const dns = new Resolver(cfg.dns.servers, cfg.dns.timeout);
    const policy = new Policy({ config: { ...cfg, policy: { ...cfg.policy, greylist: false } }, maps, recipients, dns, log });
    const name = await dns.verifiedName(ip).catch(() => null);
    const session = policy.session({ ip, name }, 'check');
    let shown = 0;
    const show = () => {
      for (const e of session.ledger.entries.slice(shown) as LedgerEntry[]) console.log(formatEntry(e));
      shown = session.ledger.length;
    };
    const verdict = (stage: string, r: Reply | null): number => {
      show();
      if (r && r.code >= 400) {
        console.log(`verdict: refused at ${stage}: ${replyText(r)}`);
        return 1;
      }
      return 0;
    };
    console.log(`client ${name ?? 'unknown'}[${ip}] helo=${helo} from=<${from}> to=${to.map((t) => `<${t}>`).join(',')}${auth ? ` auth=${auth}` : ''}`);
    if (auth) session.authenticated(auth);
    await session.clientVerdict();
    // Without delay_checks the client's verdict is given now; with it, at RCPT.
    if (verdict('connect', await session.gate('EHLO'))) return 1;
    session.hello(helo);
    if (verdict('MAIL', await session.mail(from))) return 1;
    let accepted = 0;
    let refused: Reply | null = null;
    for (const rcpt of to) {
      const v = await session.rcpt(rcpt);
      show();
      if (v.ok) accepted++;
      else refused ??= { code: v.code, enhanced: v.enhanced, text: v.text };
    }
    if (!accepted) return verdict('RCPT', refused);
    if (cfg.auth_checks.enabled && !auth) {
      const s = await spf({ sender: from || undefined, ip, helo, mta: cfg.hostname, resolver: policy.authDns.lookup as never }).catch(() => null);
      if (s) {
        console.log(`data spf: note: spf=${s.status.result}${s.rr ? ` (${s.rr})` : ''}; DKIM and DMARC need the message and are not evaluated here`);
        if (cfg.auth_checks.spf_reject && s.status.result === 'fail') return verdict('end of DATA', { code: 550, enhanced: '5.7.23', text: `SPF validation failed for <${from}>` });
      }
    }
    const discard = session.ledger.entries.some((e) => e.outcome === 'discard');
    console.log(`verdict: ${discard ? 'accepted and discarded (DISCARD)' : 'accepted'}: 250 2.1.5 Ok${refused ? ` (but ${replyText(refused)} for some recipients)` : ''}`);
    return 0;
  } finally {
    await stores.close();
  }
}

