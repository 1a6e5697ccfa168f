import { createServer, type AddressInfo, type Server } from 'node:net';

/**
 * systemd socket activation (sd_listen_fds(3)): systemd, or anything that speaks its
 * protocol, binds the ports (below 1024 too) and starts us with the listening sockets as fds
 * 3, 4, ... and LISTEN_FDS/LISTEN_PID in the environment. Each inherited socket serves the
 * configured address it is bound to; configured addresses without one are bound as usual.
 * The variables are removed so that programs we start do not believe the fds are theirs.
 */

const SD_LISTEN_FDS_START = 3;

/** Bound address ("host:port", as the config writes it) -> a server holding the inherited fd. */
const inherited = new Map<string, Server>();

function key(host: string, port: number): string {
  return `${host.replace(/^\[|\]$/g, '').toLowerCase()}:${port}`;
}

/** The fds systemd passed to this process (none when LISTEN_PID is another process's). */
export function listenFds(env: NodeJS.ProcessEnv = process.env, pid = process.pid): number[] {
  const n = Number(env.LISTEN_FDS);
  if (env.LISTEN_PID === undefined || Number(env.LISTEN_PID) !== pid || !Number.isInteger(n) || n < 1) return [];
  return Array.from({ length: n }, (_, i) => SD_LISTEN_FDS_START + i);
}

/** Wraps each inherited listening fd and learns its address; returns "host:port" of each. */
export async function adoptInheritedSockets(): Promise<string[]> {
  const fds = listenFds();
  delete process.env.LISTEN_FDS;
  delete process.env.LISTEN_PID;
  delete process.env.LISTEN_FDNAMES;
  const out: string[] = [];
  for (const fd of fds) {
    const probe = createServer();
    await new Promise<void>((resolve, reject) => {
      probe.once('error', (e) => reject(new Error(`inherited socket fd ${fd} (LISTEN_FDS): ${e.message}`)));
      probe.listen({ fd }, () => resolve());
    });
    const a = probe.address() as AddressInfo;
    const k = key(a.address, a.port);
    inherited.set(k, probe);
    out.push(k);
  }
  return out;
}

/**
 * The inherited socket for a configured address, once; Server.listen(handle) takes over its
 * fd ("a server ... with an underlying _handle", node's net documentation).
 */
export function takeInherited(host: string, port: number): Server | null {
  const k = key(host, port);
  const s = inherited.get(k) ?? null;
  inherited.delete(k);
  return s;
}

/** Inherited sockets no configured address asked for (the admin's mismatch, logged). */
export function unusedInherited(): string[] {
  return [...inherited.keys()];
}
