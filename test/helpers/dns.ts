import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freeUdpPort } from './ports.js';
import { track } from './children.js';
import { peer } from './peers.js';

export interface TestDns {
  /** "127.0.0.1:PORT", for `[dns] servers`. */
  server: string;
  port: number;
  stop(): Promise<void>;
}

const REFUSER = fileURLToPath(new URL('./refuse-dns.js', import.meta.url));

function stopper(child: ChildProcess): () => Promise<void> {
  return () => new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

/** Resolves with the first stdout/stderr text matching `re`; rejects if the child exits first. */
function waitOutput(child: ChildProcess, stream: 'stdout' | 'stderr', re: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const t = setTimeout(() => done(new Error(`no ${re} within ${timeoutMs} ms; seen: ${JSON.stringify(seen)}`)), timeoutMs);
    const onData = (d: Buffer) => {
      seen += d;
      const m = re.exec(seen);
      if (m) done(null, m);
    };
    const onExit = () => done(new Error(`exited (${child.exitCode ?? child.signalCode}); output: ${JSON.stringify(seen)}`));
    const onError = (e: Error) => done(e);
    function done(e: Error | null, m?: RegExpMatchArray) {
      clearTimeout(t);
      child[stream]!.off('data', onData);
      child.off('exit', onExit).off('error', onError);
      if (e) reject(e);
      else resolve(m!);
    }
    child[stream]!.on('data', onData);
    child.once('exit', onExit).once('error', onError);
  });
}

/** A DNS server with no records: every query REFUSED (what dnsmasq with no records answers). */
async function startRefuser(): Promise<TestDns> {
  const child = spawn(process.execPath, [REFUSER], { stdio: ['pipe', 'pipe', 'pipe'] });
  track(child);
  const m = await waitOutput(child, 'stdout', /^(\d+)\n/, 30_000).catch((e: Error) => {
    child.kill('SIGKILL');
    throw new Error(`the test DNS server did not start: ${e.message}`);
  });
  const port = Number(m[1]);
  return { server: `127.0.0.1:${port}`, port, stop: stopper(child) };
}

/**
 * A DNS server on loopback playing "the Internet's DNS" for a test. With no `args`, one that
 * knows no names (every query REFUSED, no dnsmasq needed). Otherwise Debian's dnsmasq with
 * `args` as extra options, e.g. "--mx-host=remote.test,mx.remote.test,10",
 * "--host-record=mx.remote.test,127.0.0.2", "--txt-record=..."; it never forwards anything.
 * Tests that pass records declare `needs('dnsmasq')` (test/helpers/peers.ts).
 */
export async function startDns(args: string[] = []): Promise<TestDns> {
  if (args.length === 0) return startRefuser();
  const dnsmasq = peer('dnsmasq');
  for (let attempt = 0; ; attempt++) {
    const port = await freeUdpPort();
    const child: ChildProcess = spawn(dnsmasq, [
      '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--no-poll',
      `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--pid-file=',
      '--user=root', '--group=root', '--log-facility=-', ...args,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    track(child);
    // dnsmasq logs "started" after its sockets are bound; a port taken meanwhile makes it exit.
    const started = await waitOutput(child, 'stderr', /started, version/, 30_000).then(() => '', (e: Error) => e.message);
    if (!started) return { server: `127.0.0.1:${port}`, port, stop: stopper(child) };
    child.kill('SIGKILL');
    if (attempt >= 3) throw new Error(`dnsmasq did not start: ${started}`);
  }
}
