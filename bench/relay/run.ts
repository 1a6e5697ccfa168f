/**
 * Relay benchmark: messages per second from authenticated submission over TLS to a remote sink
 * on 127.0.0.2, Correo against Debian's Postfix configured the same way, in one run. See
 * bench/relay/README.md.
 *
 *   bench/relay/run.sh                 quick: 10 connections x 100 messages
 *   BENCH_FULL=1 bench/relay/run.sh    10 connections x 500 messages
 */
import { fork, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freeTcpPort } from '../../test/helpers/ports.js';
import { fsyncLatencyMs } from '../lib/measure.js';
import { MemorySampler, treeCpuSeconds } from '../lib/proc.js';
import { envInt as int, envList, markdownTable, median, recordSummary } from '../lib/report.js';
import { runLoad, type RelayLoad, type TlsMode } from './load.js';
import { PASSWORD, REMOTE, USER, startCorreo, startPostfix, type Common, type RelayServer } from './servers.js';

const env = process.env;
const full = env.BENCH_FULL === '1';

const tls = (env.BENCH_TLS ?? 'starttls') as TlsMode;
if (tls !== 'starttls' && tls !== 'implicit') throw new Error(`BENCH_TLS=${tls}: expected starttls or implicit`);
const connections = int('BENCH_CONNECTIONS', 10);
const perConnection = int('BENCH_MESSAGES', full ? 500 : 100);
const size = int('BENCH_SIZE', 4096);
const warmup = int('BENCH_WARMUP', 20);
const rounds = Math.max(1, int('BENCH_ROUNDS', 1));
const host = env.BENCH_HOST ?? '127.0.0.1';
const sinkHost = env.BENCH_SINK_HOST ?? '127.0.0.2';
const timeoutMs = int('BENCH_TIMEOUT', 600) * 1000;
const only = envList('BENCH_ONLY', 'postfix,correo');
const correoLogLevel = int('BENCH_CORREO_LOG_LEVEL', 5);
const destinationConcurrency = int('BENCH_DEST_CONCURRENCY', 20);
const profile = env.BENCH_PROFILE === '1';
const keep = env.BENCH_KEEP === '1';

interface Result {
  server: string;
  messages: number;
  acceptedSeconds: number;
  deliveredSeconds: number;
  cpuSeconds: number;
  sinkCpuSeconds: number;
  loadCpuSeconds: number;
  peakBytes: number;
  fsyncMs: number;
  loadBefore: number;
  loadAfter: number;
  sinkConnections: number;
  problems: string[];
}

/** The sink as its own process; see sink.ts for the IPC messages. */
class SinkProcess {
  private child: ChildProcess;
  private reached = new Map<number, (at: bigint) => void>();
  private counts: ((c: { messages: number; recipients: number; connections: number }) => void)[] = [];
  port = 0;

  private constructor(child: ChildProcess) {
    this.child = child;
    child.on('message', (m: { reached?: number; at?: string; messages?: number; recipients?: number; connections?: number }) => {
      if (m.reached !== undefined) {
        this.reached.get(m.reached)?.(BigInt(m.at!));
        this.reached.delete(m.reached);
      }
      if (m.messages !== undefined) this.counts.shift()?.(m as { messages: number; recipients: number; connections: number });
    });
  }

  static async start(host: string): Promise<SinkProcess> {
    const file = join(dirname(fileURLToPath(import.meta.url)), 'sink.js');
    const child = fork(file, [host], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const s = new SinkProcess(child);
    s.port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m: { listening?: number }) => (m.listening ? resolve(m.listening) : reject(new Error('sink: unexpected message'))));
      child.once('exit', (code) => reject(new Error(`sink exited (${code}) before listening on ${host}`)));
    });
    return s;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Resolves with the hrtime at which the sink had received `n` messages in all. */
  waitFor(n: number): Promise<bigint> {
    return new Promise((resolve) => {
      this.reached.set(n, resolve);
      this.child.send({ waitFor: n });
    });
  }

  count(): Promise<{ messages: number; recipients: number; connections: number }> {
    return new Promise((resolve) => {
      this.counts.push(resolve);
      this.child.send({ count: true });
    });
  }

  stop(): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) return resolve();
      this.child.once('exit', () => resolve());
      this.child.kill('SIGTERM');
    });
  }
}

const root = mkdtempSync(join(env.BENCH_DIR ?? tmpdir(), 'correo-bench-relay-'));
chmodSync(root, 0o755);
const live = new Set<{ stop(): Promise<void>; name?: string }>();

async function stopAll(): Promise<void> {
  for (const t of live) {
    try {
      await t.stop();
    } catch (e) {
      console.error(`stopping ${t.name ?? 'sink'}: ${(e as Error).message}`);
    }
    live.delete(t);
  }
}

for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.once(sig, () => {
    console.error(`\n${sig}: stopping the servers`);
    void stopAll().finally(() => {
      if (!keep && !profile) rmSync(root, { recursive: true, force: true });
      process.exit(130);
    });
  });
}

function withTimeout<T>(p: Promise<T>, what: string, server: RelayServer): Promise<T> {
  let t: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<never>((_, reject) => {
      t = setTimeout(() => reject(new Error(`${server.name}: ${what} not done within ${timeoutMs / 1000} s\n${server.problems().slice(-10).join('\n')}`)), timeoutMs);
    }),
  ]);
}

/** One load: resolves when every message got its 250 and the sink has every one. */
async function drive(server: RelayServer, sink: SinkProcess, conns: number, per: number): Promise<{ started: bigint; accepted: bigint; delivered: bigint }> {
  const before = (await sink.count()).messages;
  const load: RelayLoad = { host: server.host, port: server.port, tls, connections: conns, perConnection: per, size, user: USER, password: PASSWORD, sender: USER, domain: REMOTE };
  const deliveredAt = sink.waitFor(before + conns * per);
  const started = process.hrtime.bigint();
  const accepted = await withTimeout(runLoad(load), 'submission', server);
  const delivered = await withTimeout(deliveredAt, 'delivery to the sink', server);
  return { started, accepted, delivered };
}

async function runOne(name: string, round: number): Promise<Result> {
  const dir = join(root, `${name}-${round}`);
  mkdirSync(dir, { recursive: true });
  const sink = await SinkProcess.start(sinkHost);
  live.add(sink);
  let server: RelayServer | null = null;
  try {
    const common: Common = { host, tls, sinkHost, sinkPort: sink.port, destinationConcurrency };
    if (name === 'postfix') server = await startPostfix(dir, await freeTcpPort(host), common);
    else {
      const flags = profile ? ['--cpu-prof', `--cpu-prof-dir=${join(dir, 'profile')}`] : [];
      server = await startCorreo(dir, { ...common, logLevel: correoLogLevel, nodeFlags: flags });
    }
    live.add(server);
    const messages = connections * perConnection;
    console.error(`${server.name}: ${connections} connections x ${perConnection} messages of ${size} bytes, ${tls === 'implicit' ? 'implicit TLS' : 'STARTTLS'} on ${host}:${server.port}, sink ${sinkHost}:${sink.port} (after ${warmup} warm-up messages)`);
    if (warmup > 0) await drive(server, sink, Math.min(connections, warmup), Math.max(1, Math.ceil(warmup / connections)));
    execFileSync('sync');
    const fsyncMs = fsyncLatencyMs(dir);
    const loadBefore = loadavg()[0];
    const rootPid = server.rootPid();
    const memory = new MemorySampler(() => rootPid);
    const cpuBefore = treeCpuSeconds(rootPid);
    const sinkCpuBefore = treeCpuSeconds(sink.pid);
    const selfBefore = process.cpuUsage();
    const sinkConnsBefore = (await sink.count()).connections;
    memory.start();
    let t: { started: bigint; accepted: bigint; delivered: bigint };
    try {
      t = await drive(server, sink, connections, perConnection);
    } finally {
      memory.stop();
    }
    const self = process.cpuUsage(selfBefore);
    const r: Result = {
      server: server.name,
      messages,
      acceptedSeconds: Number(t.accepted - t.started) / 1e9,
      deliveredSeconds: Number(t.delivered - t.started) / 1e9,
      cpuSeconds: treeCpuSeconds(rootPid) - cpuBefore,
      sinkCpuSeconds: treeCpuSeconds(sink.pid) - sinkCpuBefore,
      loadCpuSeconds: (self.user + self.system) / 1e6,
      peakBytes: memory.peakBytes,
      fsyncMs,
      loadBefore,
      loadAfter: loadavg()[0],
      sinkConnections: (await sink.count()).connections - sinkConnsBefore,
      problems: server.problems(),
    };
    console.error(`${server.name}: ${(messages / r.deliveredSeconds).toFixed(0)} msgs/s delivered, ${(messages / r.acceptedSeconds).toFixed(0)} msgs/s accepted`);
    return r;
  } finally {
    if (server) {
      await server.stop();
      live.delete(server);
    }
    await sink.stop();
    live.delete(sink);
    if (profile && name === 'correo') console.error(`CPU profile of the Correo server: ${join(dir, 'profile')}/*.cpuprofile`);
  }
}

const delivered = (r: Result): number => r.messages / r.deliveredSeconds;

function table(results: Result[]): string {
  const head = ['server', 'messages', 'accepted s', 'delivered s', 'delivered msgs/s', 'accepted msgs/s', 'CPU s', 'CPU ms/msg', 'peak MB', 'sink conns', 'fsync ms', 'load avg'];
  const rows = results.map((r) => [
    r.server,
    String(r.messages),
    r.acceptedSeconds.toFixed(2),
    r.deliveredSeconds.toFixed(2),
    delivered(r).toFixed(0),
    (r.messages / r.acceptedSeconds).toFixed(0),
    r.cpuSeconds.toFixed(2),
    ((r.cpuSeconds * 1000) / r.messages).toFixed(2),
    (r.peakBytes / 2 ** 20).toFixed(0),
    String(r.sinkConnections),
    r.fsyncMs.toFixed(2),
    `${r.loadBefore.toFixed(1)}-${r.loadAfter.toFixed(1)}`,
  ]);
  return markdownTable(head, rows);
}

async function main(): Promise<number> {
  const results: Result[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const name of ['postfix', 'correo']) {
      if (only.includes(name)) results.push(await runOne(name, round));
    }
  }
  console.log(`\nRelay: ${connections} connections x ${perConnection} messages of ${size} bytes, AUTH PLAIN over ${tls === 'implicit' ? 'implicit TLS (465)' : 'STARTTLS (587)'}, ` +
    `to a sink on ${sinkHost}; ${cpus().length} CPUs (${cpus()[0]?.model.trim() ?? '?'}), node ${process.version}; ` +
    `Correo ${env.BENCH_CORREO_REV ?? env.BENCH_CORREO_CLI ?? '(working tree build)'}\n`);
  console.log(table(results));
  console.log(`\nCPU s is the server's whole process tree; not counted: the sink (${results.map((r) => `${r.server} ${r.sinkCpuSeconds.toFixed(2)} s`).join(', ')}), ` +
    `the load generator (${results.map((r) => `${r.server} ${r.loadCpuSeconds.toFixed(2)} s`).join(', ')}), Correo's dnsmasq.`);
  const rate = (server: string, f: (r: Result) => number) => {
    const rs = results.filter((r) => r.server === server).map(f);
    return rs.length ? median(rs) : null;
  };
  const c = rate('Correo', delivered), p = rate('Postfix', delivered);
  const ca = rate('Correo', (r) => r.messages / r.acceptedSeconds), pa = rate('Postfix', (r) => r.messages / r.acceptedSeconds);
  if (c !== null && p !== null && ca !== null && pa !== null) {
    const of = rounds > 1 ? `, median of ${rounds} rounds` : '';
    console.log(`\nCorreo/Postfix, delivered msgs/s${of}: ${(c / p).toFixed(2)}x`);
    console.log(`Correo/Postfix, accepted msgs/s${of}: ${(ca / pa).toFixed(2)}x`);
    const cpu = (server: string) => rate(server, (r) => (r.cpuSeconds * 1000) / r.messages)!;
    recordSummary([
      { bench: 'relay', metric: `delivered msgs/s (${tls})`, correo: c, reference: p, against: 'Postfix', aim: 1.5 },
      { bench: 'relay', metric: 'CPU ms/msg', correo: cpu('Correo'), reference: cpu('Postfix'), against: 'Postfix', lowerIsBetter: true },
    ]);
  }
  let bad = 0;
  for (const r of results) {
    if (r.problems.length) {
      bad++;
      console.log(`\n${r.server} logged problems:\n  ${r.problems.slice(0, 20).join('\n  ')}`);
    }
  }
  if (env.BENCH_JSON) writeFileSync(env.BENCH_JSON, JSON.stringify({ tls, connections, perConnection, size, warmup, rounds, results }, null, 2));
  return bad ? 1 : 0;
}

let code = 1;
try {
  code = await main();
} catch (e) {
  console.error(`\nbenchmark failed: ${(e as Error).stack ?? e}`);
} finally {
  await stopAll();
  if (keep || profile) console.error(`kept ${root}`);
  else rmSync(root, { recursive: true, force: true });
}
process.exit(code);
