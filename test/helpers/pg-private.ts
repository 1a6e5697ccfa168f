import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { track } from './children.js';
import { freeTcpPort } from './ports.js';

/**
 * A PostgreSQL server of the test's own: initdb in a temporary directory, its own port on
 * 127.0.0.1, started and stopped by the test (an outage on demand), removed afterwards.
 * The machine's server is never touched. As root, it runs as the `postgres` user (initdb
 * refuses root).
 */
export interface PrivatePg {
  port: number;
  /** postgres://postgres@127.0.0.1:PORT/DB */
  url(db: string): string;
  start(): Promise<void>;
  /** Fast shutdown (SIGINT): clients are disconnected, as in an outage. */
  stop(): Promise<void>;
  /** Stops it and removes its data. */
  destroy(): Promise<void>;
}

const BIN_ROOT = '/usr/lib/postgresql';

/** The bin directory of the newest PostgreSQL installed, or why there is none. */
function bindir(): string | { skip: string } {
  const versions = existsSync(BIN_ROOT) ? readdirSync(BIN_ROOT).filter((v) => existsSync(join(BIN_ROOT, v, 'bin', 'initdb'))).sort((a, b) => Number(b) - Number(a)) : [];
  if (!versions.length) return { skip: 'no PostgreSQL server binaries (initdb): apt-get install postgresql' };
  return join(BIN_ROOT, versions[0], 'bin');
}

const found = bindir();
export const privatePgSkip: string | null = typeof found === 'string' ? null : found.skip;

function runAs(): { uid: number; gid: number } | undefined {
  if (userInfo().uid !== 0) return undefined;
  const id = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
  const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
  if (id.status !== 0) throw new Error('running as root, and there is no postgres user for initdb: apt-get install postgresql');
  return { uid: Number(id.stdout.trim()), gid: Number(gid.stdout.trim()) };
}

export async function startPrivatePg(): Promise<PrivatePg> {
  if (typeof found !== 'string') throw new Error(found.skip);
  const bin = found;
  const as = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'correo-pg-'));
  if (as) chownSync(dir, as.uid, as.gid);
  const data = join(dir, 'data');
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync', '--no-instructions'],
    { encoding: 'utf8', timeout: 60_000, cwd: dir, ...as });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${init.stderr}`);
  }
  const port = await freeTcpPort();
  let child: ChildProcess | null = null;
  const url = (db: string) => `postgres://postgres@127.0.0.1:${port}/${db}`;

  const ready = async () => {
    const start = Date.now();
    for (;;) {
      const c = new pg.Client({ connectionString: url('postgres'), connectionTimeoutMillis: 1000 });
      c.on('error', () => undefined);
      try {
        await c.connect();
        await c.end();
        return;
      } catch {
        await c.end().catch(() => undefined);
        if (child?.exitCode !== null) throw new Error('the private PostgreSQL exited while starting');
        if (Date.now() - start > 30_000) throw new Error('the private PostgreSQL did not start within 30 s');
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };

  const p: PrivatePg = {
    port,
    url,
    async start() {
      child = track(spawn(join(bin, 'postgres'), ['-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off'],
        { stdio: 'ignore', cwd: dir, ...as }));
      await ready();
    },
    async stop() {
      const c = child;
      child = null;
      if (!c || c.exitCode !== null) return;
      await new Promise<void>((r) => {
        const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
        c.once('exit', () => {
          clearTimeout(t);
          r();
        });
        c.kill('SIGINT');
      });
    },
    async destroy() {
      await p.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    await p.start();
  } catch (e) {
    await p.destroy();
    throw e;
  }
  return p;
}
