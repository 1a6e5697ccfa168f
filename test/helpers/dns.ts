import { spawn, type ChildProcess } from 'node:child_process';
import { freeUdpPort } from './ports.js';
import { track } from './children.js';

export interface TestDns {
  /** "127.0.0.1:PORT", for `[dns] servers`. */
  server: string;
  port: number;
  stop(): Promise<void>;
}

/**
 * A DNS server on loopback (Debian's dnsmasq) playing "the Internet's DNS" for a test.
 * `args` are extra dnsmasq options, e.g. "--mx-host=remote.test,mx.remote.test,10",
 * "--host-record=mx.remote.test,127.0.0.2", "--txt-record=...". It never forwards anything.
 */
export async function startDns(args: string[] = []): Promise<TestDns> {
  for (let attempt = 0; ; attempt++) {
    const port = await freeUdpPort();
    const child: ChildProcess = spawn('dnsmasq', [
      '--keep-in-foreground', '--conf-file=/dev/null', '--no-resolv', '--no-hosts', '--no-poll',
      `--port=${port}`, '--listen-address=127.0.0.1', '--bind-interfaces', '--pid-file=',
      '--user=root', '--group=root', '--log-facility=-', ...args,
    ], { stdio: ['ignore', 'ignore', 'pipe'] });
    track(child);
    let stderr = '';
    child.stderr!.on('data', (d) => (stderr += d));
    const ok = await new Promise<boolean>((resolve) => {
      child.once('error', () => resolve(false));
      child.once('exit', () => resolve(false));
      setTimeout(() => resolve(true), 300);
    });
    if (ok && child.exitCode === null) {
      return {
        server: `127.0.0.1:${port}`,
        port,
        stop: () => new Promise<void>((resolve) => {
          if (child.exitCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGTERM');
        }),
      };
    }
    if (attempt >= 3) throw new Error(`dnsmasq did not start (is dnsmasq-base installed?): ${stderr.trim()}`);
  }
}
