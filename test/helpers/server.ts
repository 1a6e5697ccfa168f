import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, stringify } from 'smol-toml';
import { startDns, type TestDns } from './dns.js';
import { track } from './children.js';
import { ensureSystemUser } from '../../src/privileges/system-user.js';
import { isRoot } from '../../src/privileges/passwd.js';

/**
 * Servers started as root drop to `[server] user` (issue 9 item 5), and the tests run as
 * root: every test server runs as the default user "correo", as a real installation does,
 * so the whole suite exercises the drop and the privileged delivery helper. The user is made
 * here when missing (useradd, as `correo init` does).
 */
export const SERVER_USER = 'correo';
if (isRoot()) ensureSystemUser(SERVER_USER, '/nonexistent');

/** dist/src/cli/main.js, found from this compiled file (dist/test/helpers/server.js). */
export const CLI = resolve(dirname(fileURLToPath(import.meta.url)), '../../src/cli/main.js');

export interface Ports {
  smtp: number; submission: number; submissions: number;
  imap: number; imaps: number; pop3: number; pop3s: number;
  managesieve: number;
}

export interface CliResult { code: number | null; stdout: string; stderr: string }

export interface TestServer {
  dir: string;
  configFile: string;
  host: '127.0.0.1';
  ports: Ports;
  pid: number;
  dns: TestDns;
  cli(args: string[], stdin?: string): Promise<CliResult>;
  addUser(address: string, password: string): Promise<void>;
  readLog(): string;
  kill9(): Promise<void>;
  /** Stops the server (SIGTERM) and starts it again, with `env` as its extra environment from now on. */
  restart(env?: NodeJS.ProcessEnv): Promise<void>;
  /** Waits until the server process exits by itself; its exit code (null: killed by a signal). */
  exited(timeoutMs: number): Promise<number | null>;
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Extra TOML merged over the generated config (tables merge key by key). */
  toml?: string;
  /** A DNS server to use; default: a dnsmasq of this server's own, with no records. */
  dns?: TestDns;
  /** Use this directory (must exist) instead of a fresh temporary one. */
  dir?: string;
  /** Extra environment of the server process (fault injection in durability tests). */
  env?: NodeJS.ProcessEnv;
}


function merge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(b)) {
    const cur = a[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)) {
      merge(cur as Record<string, unknown>, v as Record<string, unknown>);
    } else a[k] = v;
  }
  return a;
}

/** Runs the correo CLI (as another user with `as`, when the tests run as root). */
export function runCli(args: string[], stdin?: string, timeoutMs = 30_000, as?: { uid: number; gid: number }): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['pipe', 'pipe', 'pipe'], ...as });
    track(child);
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`correo ${args.join(' ')} took longer than ${timeoutMs} ms\n${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolvePromise({ code, stdout, stderr });
    });
    // A program that exits without reading its input (fetchmail) is not a failure: no EPIPE.
    child.stdin.on('error', () => undefined);
    child.stdin.end(stdin ?? '');
  });
}

async function waitFor<T>(what: string, fn: () => T | undefined, timeoutMs: number, child?: ChildProcess, stderr?: () => string): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (child && child.exitCode !== null) throw new Error(`server exited (${child.exitCode}) before ${what}:\n${stderr?.() ?? ''}`);
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}\n${stderr?.() ?? ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Starts a real Correo server process on OS-chosen loopback ports with its own data dir. */
export async function startServer(opts: StartOptions = {}): Promise<TestServer> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'correo-test-'));
  const ownDns = !opts.dns;
  const dns = opts.dns ?? (await startDns());
  const any = ['127.0.0.1:0'];
  const cfg = merge(
    {
      hostname: 'mail.example.test',
      data_dir: dir,
      domains: ['example.test'],
      admins: ['admin@example.test'],
      smtp: { listen: any },
      submission: { listen: any, listen_tls: any },
      imap: { listen: any, listen_tls: any },
      pop3: { listen: any, listen_tls: any },
      managesieve: { listen: any },
      log: { level: 20, file: join(dir, 'mail.log') },
      dns: { servers: [dns.server], timeout: 1000 },
      storage: { min_free_bytes: 0 },
    },
    opts.toml ? (parse(opts.toml) as Record<string, unknown>) : {},
  );
  const configFile = join(dir, 'correo.toml');
  writeFileSync(configFile, stringify(cfg));
  const runFile = join(dir, 'listening.json');

  let child!: ChildProcess;
  let stderr = '';
  const ports = {} as Ports;
  let extraEnv = opts.env ?? {};

  const launch = async () => {
    rmSync(runFile, { force: true });
    stderr = '';
    child = spawn(process.execPath, [CLI, 'serve', '--config', configFile], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...extraEnv } });
    track(child);
    child.stderr!.on('data', (d) => (stderr += d));
    const info = await waitFor('listening.json', () => {
      if (!existsSync(runFile)) return undefined;
      try {
        return JSON.parse(readFileSync(runFile, 'utf8')) as Record<string, { port: number }[]>;
      } catch {
        return undefined;
      }
    }, 30_000, child, () => stderr);
    for (const k of ['smtp', 'submission', 'submissions', 'imap', 'imaps', 'pop3', 'pop3s', 'managesieve'] as const) ports[k] = info[k]?.[0]?.port ?? 0;
    server.pid = child.pid!;
  };

  const exited = (signal: NodeJS.Signals, graceMs: number) =>
    new Promise<void>((r) => {
      if (child.exitCode !== null || child.signalCode !== null) return r();
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      child.once('exit', () => {
        clearTimeout(t);
        r();
      });
      child.kill(signal);
    });

  const server: TestServer = {
    dir,
    configFile,
    host: '127.0.0.1',
    ports,
    pid: 0,
    dns,
    cli: (args, stdin) => runCli([...args, '--config', configFile], stdin),
    async addUser(address, password) {
      const r = await runCli(['user', 'add', address, '--password-stdin', '--config', configFile], password);
      if (r.code !== 0) throw new Error(`user add ${address} failed: ${r.stderr}`);
    },
    readLog: () => (existsSync(join(dir, 'mail.log')) ? readFileSync(join(dir, 'mail.log'), 'utf8') : ''),
    kill9: () => exited('SIGKILL', 0),
    async restart(env) {
      await exited('SIGTERM', 5000);
      if (env) extraEnv = env;
      await launch();
    },
    exited: (timeoutMs) =>
      new Promise((r, reject) => {
        if (child.exitCode !== null || child.signalCode !== null) return r(child.exitCode);
        const t = setTimeout(() => reject(new Error(`the server did not exit within ${timeoutMs} ms\n${stderr}`)), timeoutMs);
        child.once('exit', (code) => {
          clearTimeout(t);
          r(code);
        });
      }),
    async stop() {
      await exited('SIGTERM', 5000);
      if (ownDns) await dns.stop();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
  await launch();
  return server;
}
