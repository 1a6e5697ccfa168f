import { execFileSync } from 'node:child_process';
import { closeSync, fsyncSync, openSync, unlinkSync, writeSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { MemorySampler, treeCpuSeconds } from './proc.js';
import { runSmtpSource, smtpSourceArgs, type Load } from './smtp-source.js';
import { RECIPIENT, SENDER, type BenchTarget } from './target.js';

export interface Result {
  server: string;
  sessions: number;
  messages: number;
  size: number;
  /** smtp-source's own run: the last message got its 250 (accepted, on disk in the queue). */
  acceptedSeconds: number;
  /** From the start of the load until the last message was in the mailbox. */
  deliveredSeconds: number;
  /** User + system CPU of the whole server over the same interval (until delivered). */
  cpuSeconds: number;
  /** Peak of the summed PSS of the server's processes during the run. */
  peakBytes: number;
  problems: string[];
  /** The 1-minute load average before and after: anything else running on the machine shows here. */
  loadBefore: number;
  loadAfter: number;
  /** Median latency of a 4 KB write + fsync in the server's directory just before the run (ms). */
  fsyncMs: number;
}

/**
 * How long the disk takes to make 4 KB durable right now: both servers wait for this before
 * every 250, so it explains much of the run-to-run spread on a shared machine.
 */
export function fsyncLatencyMs(dir: string, times = 100): number {
  const file = join(dir, 'fsync-probe');
  const fd = openSync(file, 'w');
  const buf = Buffer.alloc(4096, 1);
  const ms: number[] = [];
  try {
    for (let i = 0; i < times; i++) {
      const t = process.hrtime.bigint();
      writeSync(fd, buf, 0, buf.length, i * buf.length);
      fsyncSync(fd);
      ms.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
  } finally {
    closeSync(fd);
    unlinkSync(file);
  }
  return ms.sort((a, b) => a - b)[ms.length >> 1];
}

export const perSecond = (r: Result): number => r.messages / r.deliveredSeconds;

/** One load against one started server: until every message is accepted, then until every one is in the mailbox. */
async function drive(server: BenchTarget, load: Load, timeoutMs: number): Promise<{ accepted: number; delivered: number }> {
  const base = server.delivered();
  const args = smtpSourceArgs(load, SENDER, RECIPIENT, server.host, server.port);
  const started = process.hrtime.bigint();
  let sourceError: Error | null = null;
  const source = runSmtpSource(args, timeoutMs).catch((e: Error) => {
    sourceError = e;
    return NaN;
  });
  const done = await server.deliveredBy(base + load.messages, Date.now() + timeoutMs, () => sourceError);
  const accepted = await source;
  if (sourceError) throw sourceError;
  return { accepted, delivered: Number(done - started) / 1e9 };
}

/**
 * Warms the server up (first connections, process spawning, JIT), flushes the page cache's dirty
 * pages left by anything before, then measures the load.
 */
export async function measure(server: BenchTarget, dir: string, load: Load, warmup: number, timeoutMs: number): Promise<Result> {
  if (warmup > 0) await drive(server, { ...load, messages: warmup }, timeoutMs);
  execFileSync('sync');
  const fsyncMs = fsyncLatencyMs(dir);
  const loadBefore = loadavg()[0];
  const root = server.rootPid();
  const memory = new MemorySampler(() => root);
  const cpuBefore = treeCpuSeconds(root);
  memory.start();
  let times: { accepted: number; delivered: number };
  try {
    times = await drive(server, load, timeoutMs);
  } finally {
    memory.stop();
  }
  const cpuSeconds = treeCpuSeconds(root) - cpuBefore;
  return {
    server: server.name,
    sessions: load.sessions,
    messages: load.messages,
    size: load.size,
    acceptedSeconds: times.accepted,
    deliveredSeconds: times.delivered,
    cpuSeconds,
    peakBytes: memory.peakBytes,
    problems: server.problems(),
    loadBefore,
    loadAfter: loadavg()[0],
    fsyncMs,
  };
}
