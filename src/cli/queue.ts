import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/types.js';
import type { Stores } from '../store/open.js';
import type { QueueEntry, QueueRecipient } from '../store/queue.js';
import type { WriteOp } from '../store/batch.js';
import { openCliStore } from './store.js';
import type { MessageEnvelope } from '../queue/types.js';
import { UsageError } from './args.js';

/**
 * `correo queue list|show ID|flush|delete ID|hold ID|release ID` (S32), on the same database
 * the running server uses. `list` reads like mailq (Postfix's layout): id ("!" when held),
 * size, arrival, sender, then each waiting recipient with its last error. `flush`, `release`
 * make recipients due now and ask the running server (SIGUSR2, pid from listening.json) to
 * run the queue; without a running server they go at its next start.
 */

function arrival(ms: number): string {
  // mailq's "Thu Nov 27 19:00:00", in local time like the original.
  const d = new Date(ms);
  const day = d.toLocaleString('en-US', { weekday: 'short' });
  const mon = d.toLocaleString('en-US', { month: 'short' });
  const t = d.toTimeString().slice(0, 8);
  return `${day} ${mon} ${String(d.getDate()).padStart(2, ' ')} ${t}`;
}

/** Asks the running server to run its queue now; false when no server runs on this data_dir. */
function poke(cfg: Config): boolean {
  const file = join(cfg.data_dir, 'listening.json');
  if (!existsSync(file)) return false;
  try {
    const pid = (JSON.parse(readFileSync(file, 'utf8')) as { pid?: number }).pid;
    if (!pid) return false;
    // listening.json outlives a server killed with -9, and its pid may now be another
    // program's: SIGUSR2 would end that one. Only a process running "serve" is signalled.
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    if (!cmdline.includes('serve')) return false;
    process.kill(pid, 'SIGUSR2');
    return true;
  } catch {
    return false;
  }
}

async function find(stores: Stores, id: string | undefined, verb: string): Promise<QueueEntry> {
  if (!id) throw new UsageError(`queue ${verb} needs a queue ID (see "correo queue list")`);
  const row = await stores.queue.entry(id.toUpperCase());
  if (!row) throw new Error(`${id}: no such message in the queue`);
  return row;
}

const waiting = (r: QueueRecipient) => r.status === 'pending' || r.status === 'remote';

async function change(stores: Stores, ops: WriteOp[]): Promise<unknown[]> {
  const r = (await stores.queue.commit({ durability: 'full', parts: [{ ops }] })).parts[0];
  if (!r.ok) throw r.error;
  return r.results;
}

async function list(stores: Stores): Promise<number> {
  console.log(await queueListing(stores));
  return 0;
}

async function show(stores: Stores, id: string | undefined): Promise<number> {
  const q = await find(stores, id, 'show');
  const env = JSON.parse(q.envelope) as MessageEnvelope;
  console.log(`id: ${q.id}${q.held ? ' (held)' : ''}`);
  console.log(`arrival: ${new Date(q.created).toISOString()}`);
  console.log(`sender: <${q.sender}>`);
  console.log(`size: ${q.size - q.traceSkip}`);
  console.log(`via: ${env.via}, client ${env.clientAddress} (${env.helo})${env.authUser ? `, authenticated as ${env.authUser}` : ''}`);
  if (env.envid || env.ret) console.log(`dsn: ${env.ret ? `RET=${env.ret}` : ''}${env.envid ? ` ENVID=${env.envid}` : ''}`.trim());
  for (const r of await stores.queue.recipients(q.id)) {
    const when = waiting(r) && r.nextAttempt ? `, next attempt ${new Date(r.nextAttempt).toISOString()}` : '';
    console.log(`recipient: <${r.rcpt}> ${r.status}, ${r.attempts} attempt${r.attempts === 1 ? '' : 's'}${when}${r.orcpt ? `, orcpt ${r.orcpt}` : ''}${r.notify ? `, notify ${r.notify}` : ''}`);
    if (r.lastError) console.log(`  last error: ${r.lastError}`);
  }
  const data = await stores.blobs.read(q.blobId).catch(() => null);
  if (data) {
    const body = data.subarray(q.traceSkip);
    const end = body.indexOf('\r\n\r\n');
    console.log('');
    process.stdout.write(body.subarray(0, end < 0 ? body.length : end + 2).toString('utf8'));
  }
  return 0;
}

/**
 * mailq's text; `only` limits it to the messages whose envelope it accepts (a local user's
 * own mail, issue 9 item 4, sendmail's restrictmailq).
 */
export async function queueListing(stores: Pick<Stores, 'queue'>, only?: (envelope: MessageEnvelope) => boolean): Promise<string> {
  const listed: { q: QueueEntry; r: QueueRecipient[] }[] = [];
  for (const q of await stores.queue.entries()) {
    if (only && !only(JSON.parse(q.envelope) as MessageEnvelope)) continue;
    const r = (await stores.queue.recipients(q.id)).filter(waiting);
    if (r.length) listed.push({ q, r });
  }
  if (!listed.length) return 'Mail queue is empty';
  const out = ['-Queue ID-        --Size-- ----Arrival Time---- -Sender/Recipient-------'];
  let bytes = 0;
  for (const { q, r } of listed) {
    bytes += q.size;
    out.push(`${(q.id + (q.held ? '!' : '')).padEnd(17)} ${String(q.size - q.traceSkip).padStart(8)} ${arrival(q.created)}  ${q.sender || 'MAILER-DAEMON'}`);
    for (const x of r) {
      if (x.lastError) out.push(`${' '.repeat(18)}(${x.lastError})`);
      out.push(`${' '.repeat(48)}${x.rcpt}`);
    }
    out.push('');
  }
  out.push(`-- ${Math.ceil(bytes / 1024)} Kbytes in ${listed.length} Request${listed.length === 1 ? '' : 's'}.`);
  return out.join('\n');
}

export async function queueCommand(cfg: Config, args: string[]): Promise<number> {
  const [sub, id] = args;
  const stores = await openCliStore(cfg);
  try {
    switch (sub ?? 'list') {
      case 'list':
        return await list(stores);
      case 'show':
        return await show(stores, id);
      case 'flush': {
        const [n] = await change(stores, [{ op: 'rcpt.retryAt', queueId: null, rcpt: null, status: ['pending', 'remote'], next: 0 }]);
        const running = poke(cfg);
        console.log(`${n} recipient${n === 1 ? '' : 's'} due now; ${running ? 'the running server was asked to deliver them' : 'no server is running: they go when it starts'}`);
        return 0;
      }
      case 'delete': {
        const q = await find(stores, id, 'delete');
        await change(stores, [{ op: 'queue.delete', id: q.id }]);
        console.log(`${q.id}: deleted (no bounce sent)`);
        return 0;
      }
      case 'hold': {
        const q = await find(stores, id, 'hold');
        await change(stores, [{ op: 'queue.hold', id: q.id, held: true }]);
        console.log(`${q.id}: held; nothing is delivered until "correo queue release ${q.id}"`);
        return 0;
      }
      case 'release': {
        const q = await find(stores, id, 'release');
        await change(stores, [
          { op: 'queue.hold', id: q.id, held: false },
          { op: 'rcpt.retryAt', queueId: q.id, rcpt: null, status: ['pending', 'remote'], next: 0 },
        ]);
        poke(cfg);
        console.log(`${q.id}: released`);
        return 0;
      }
      default:
        throw new UsageError(`unknown "queue ${sub}"; use list, show, flush, delete, hold or release`);
    }
  } finally {
    await stores.close();
  }
}
