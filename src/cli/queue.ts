import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/types.js';
import { openDatabase, type DB } from '../store/db.js';
import { BlobStore } from '../store/blobs.js';
import { SqliteStore } from '../store/sqlite.js';
import { ensureOutboundSchema } from '../queue/outbound-schema.js';
import type { MessageEnvelope } from '../queue/types.js';
import { UsageError } from './args.js';

/**
 * `correo queue list|show ID|flush|delete ID|hold ID|release ID` (S32), on the same database
 * the running server uses. `list` reads like mailq (Postfix's layout): id ("!" when held),
 * size, arrival, sender, then each waiting recipient with its last error. `flush`, `release`
 * make recipients due now and ask the running server (SIGUSR2, pid from listening.json) to
 * run the queue; without a running server they go at its next start.
 */

interface QueueRow {
  id: string;
  blob_id: string;
  sender: string;
  envelope: string;
  size: number;
  trace_skip: number;
  created: number;
  held: number;
}

interface RcptRow {
  rcpt: string;
  orcpt: string | null;
  notify: string | null;
  status: string;
  attempts: number;
  next_attempt: number;
  last_error: string | null;
}

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

function find(db: DB, id: string | undefined, verb: string): QueueRow {
  if (!id) throw new UsageError(`queue ${verb} needs a queue ID (see "correo queue list")`);
  const row = db.prepare<[string], QueueRow>('SELECT * FROM queue WHERE id = ?').get(id.toUpperCase());
  if (!row) throw new Error(`${id}: no such message in the queue`);
  return row;
}

const waiting = (r: RcptRow) => r.status === 'pending' || r.status === 'remote';

export async function queueCommand(cfg: Config, args: string[]): Promise<number> {
  const [sub, id] = args;
  const db = openDatabase(cfg.data_dir);
  ensureOutboundSchema(db);
  try {
    const rcpts = (qid: string) => db.prepare<[string], RcptRow>('SELECT rcpt, orcpt, notify, status, attempts, next_attempt, last_error FROM queue_rcpt WHERE queue_id = ? ORDER BY rcpt').all(qid);
    switch (sub ?? 'list') {
      case 'list': {
        const rows = db.prepare<[], QueueRow>('SELECT * FROM queue ORDER BY created').all();
        const listed = rows.map((q) => ({ q, r: rcpts(q.id).filter(waiting) })).filter((x) => x.r.length);
        if (!listed.length) {
          console.log('Mail queue is empty');
          return 0;
        }
        console.log('-Queue ID-        --Size-- ----Arrival Time---- -Sender/Recipient-------');
        let bytes = 0;
        for (const { q, r } of listed) {
          bytes += q.size;
          console.log(`${(q.id + (q.held ? '!' : '')).padEnd(17)} ${String(q.size - q.trace_skip).padStart(8)} ${arrival(q.created)}  ${q.sender || 'MAILER-DAEMON'}`);
          for (const x of r) {
            if (x.last_error) console.log(`${' '.repeat(18)}(${x.last_error})`);
            console.log(`${' '.repeat(48)}${x.rcpt}`);
          }
          console.log('');
        }
        console.log(`-- ${Math.ceil(bytes / 1024)} Kbytes in ${listed.length} Request${listed.length === 1 ? '' : 's'}.`);
        return 0;
      }
      case 'show': {
        const q = find(db, id, 'show');
        const env = JSON.parse(q.envelope) as MessageEnvelope;
        console.log(`id: ${q.id}${q.held ? ' (held)' : ''}`);
        console.log(`arrival: ${new Date(q.created).toISOString()}`);
        console.log(`sender: <${q.sender}>`);
        console.log(`size: ${q.size - q.trace_skip}`);
        console.log(`via: ${env.via}, client ${env.clientAddress} (${env.helo})${env.authUser ? `, authenticated as ${env.authUser}` : ''}`);
        if (env.envid || env.ret) console.log(`dsn: ${env.ret ? `RET=${env.ret}` : ''}${env.envid ? ` ENVID=${env.envid}` : ''}`.trim());
        for (const r of rcpts(q.id)) {
          const when = waiting(r) && r.next_attempt ? `, next attempt ${new Date(r.next_attempt).toISOString()}` : '';
          console.log(`recipient: <${r.rcpt}> ${r.status}, ${r.attempts} attempt${r.attempts === 1 ? '' : 's'}${when}${r.orcpt ? `, orcpt ${r.orcpt}` : ''}${r.notify ? `, notify ${r.notify}` : ''}`);
          if (r.last_error) console.log(`  last error: ${r.last_error}`);
        }
        const blobs = new BlobStore(join(cfg.data_dir, 'blobs'));
        const data = await blobs.read(q.blob_id).catch(() => null);
        if (data) {
          const body = data.subarray(q.trace_skip);
          const end = body.indexOf('\r\n\r\n');
          console.log('');
          process.stdout.write(body.subarray(0, end < 0 ? body.length : end + 2).toString('utf8'));
        }
        return 0;
      }
      case 'flush': {
        const n = db.prepare(`UPDATE queue_rcpt SET next_attempt = 0 WHERE status IN ('pending', 'remote')`).run().changes;
        const running = poke(cfg);
        console.log(`${n} recipient${n === 1 ? '' : 's'} due now; ${running ? 'the running server was asked to deliver them' : 'no server is running: they go when it starts'}`);
        return 0;
      }
      case 'delete': {
        const q = find(db, id, 'delete');
        db.prepare('DELETE FROM queue WHERE id = ?').run(q.id);
        await new SqliteStore(db, new BlobStore(join(cfg.data_dir, 'blobs'))).collect([q.blob_id]);
        console.log(`${q.id}: deleted (no bounce sent)`);
        return 0;
      }
      case 'hold': {
        const q = find(db, id, 'hold');
        db.prepare('UPDATE queue SET held = 1 WHERE id = ?').run(q.id);
        console.log(`${q.id}: held; nothing is delivered until "correo queue release ${q.id}"`);
        return 0;
      }
      case 'release': {
        const q = find(db, id, 'release');
        db.transaction(() => {
          db.prepare('UPDATE queue SET held = 0 WHERE id = ?').run(q.id);
          db.prepare(`UPDATE queue_rcpt SET next_attempt = 0 WHERE queue_id = ? AND status IN ('pending', 'remote')`).run(q.id);
        })();
        poke(cfg);
        console.log(`${q.id}: released`);
        return 0;
      }
      default:
        throw new UsageError(`unknown "queue ${sub}"; use list, show, flush, delete, hold or release`);
    }
  } finally {
    db.close();
  }
}
