import type { Config } from '../config/types.js';
import { openCliStore } from './store.js';

/**
 * `correo stats` (S32, sendmail's mailstats): messages and bytes received per way in (smtp,
 * submission, sendmail, dsn...) and delivered per mailer (local, smtp, relay = smart host),
 * with the recipients bounced and deferred, from the `stats` table the server keeps.
 */
export async function statsCommand(cfg: Config): Promise<number> {
  const stores = await openCliStore(cfg);
  try {
    const rows = await stores.queue.stats();
    const by = new Map<string, Record<string, number>>();
    for (const [key, value] of rows) {
      const m = /^(received|delivered|bounced|deferred)\.([^.]+)\.(msgs|bytes|rcpts)$/.exec(key);
      if (!m) continue;
      const rec = by.get(m[2]) ?? {};
      rec[`${m[1]}.${m[3]}`] = value;
      by.set(m[2], rec);
    }
    const cols: [string, string][] = [
      ['msgsfr', 'received.msgs'], ['bytes_from', 'received.bytes'], ['msgsto', 'delivered.msgs'], ['bytes_to', 'delivered.bytes'],
      ['rcpts_bounced', 'bounced.rcpts'], ['rcpts_deferred', 'deferred.rcpts'],
    ];
    const header = ['Mailer'.padEnd(12), ...cols.map(([c]) => c.padStart(16))].join('');
    console.log(header);
    const total: Record<string, number> = {};
    for (const name of [...by.keys()].sort()) {
      const rec = by.get(name)!;
      console.log([name.padEnd(12), ...cols.map(([, k]) => String(rec[k] ?? 0).padStart(16))].join(''));
      for (const [, k] of cols) total[k] = (total[k] ?? 0) + (rec[k] ?? 0);
    }
    console.log('='.repeat(header.length));
    console.log(['T'.padEnd(12), ...cols.map(([, k]) => String(total[k] ?? 0).padStart(16))].join(''));
    return 0;
  } finally {
    await stores.close();
  }
}
