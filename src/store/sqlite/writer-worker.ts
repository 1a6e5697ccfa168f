import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from './schema.js';
import { BatchApplier } from './apply.js';
import { encode } from '../wire.js';
import type { WriteBatch } from '../batch.js';

/**
 * The writer thread: owns the only writing connection and runs group commits of the batches
 * the main thread sends. While a commit waits for fsync, new batches queue up in the message
 * port; they all go into the next commit, so commits grow with the load.
 */
export interface WriterRequest {
  id: number;
  batch: WriteBatch;
}

export type WriterReply = { id: number; result: unknown } | { id: number; error: unknown } | { closed: true };

const port = parentPort!;
const db = openDatabase((workerData as { dataDir: string }).dataDir);
const applier = new BatchApplier(db);
let pending: WriterRequest[] = [];
let scheduled = false;
let closing = false;

/**
 * Fault injection for test/durability/writer-death.test.ts, and nothing else: with
 * CORREO_TEST_WRITER_DIE_AFTER=N this thread throws (uncaught) instead of running its Nth group
 * commit, as a bug or a failing disk would kill it, so that the test can check that a dead
 * writer stops the server with the reason in the log instead of leaving it stalled.
 */
const dieAfter = Number(process.env.CORREO_TEST_WRITER_DIE_AFTER ?? 0);
let groups = 0;

function flush(): void {
  scheduled = false;
  const group = pending;
  pending = [];
  if (!group.length) return;
  if (dieAfter > 0 && ++groups >= dieAfter) throw new Error(`writer stopped by CORREO_TEST_WRITER_DIE_AFTER=${dieAfter} (test fault injection)`);
  const results = applier.runGroup(group.map((g) => g.batch));
  group.forEach((g, i) => {
    const r = results[i];
    port.postMessage(r instanceof Error ? { id: g.id, error: encode(r) } : { id: g.id, result: encode(r) });
  });
}

port.on('message', (m: WriterRequest | { close: true }) => {
  if ('close' in m) {
    closing = true;
    flush();
    db.close();
    port.postMessage({ closed: true } satisfies WriterReply);
    port.close();
    return;
  }
  if (closing) return;
  pending.push(m);
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
});
