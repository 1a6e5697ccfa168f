/**
 * The Debian programs some tests drive (real clients, reference servers: "peers"). A test that
 * needs one declares it, and on a machine without it the test is SKIPPED with the exact
 * apt-get line that installs it, never failed: `npm test` stays green on a machine with only
 * Node, and the runner's summary (test/runner/summary.ts) lists what was skipped and why.
 *
 *   test('fetchmail over STLS', { timeout: 60000, ...needs('fetchmail') }, async () => { ... });
 *   spawn(peer('postfix'), ...)   // the program as found on PATH
 *
 * A peer is looked for on PATH only, even when its usual absolute path exists: a PATH without
 * the peers is how a machine without them is simulated (see the README).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Program -> the Debian package(s) that provide it, as `apt-get install -y` takes them. */
export const PEERS = {
  swaks: 'swaks libnet-ssleay-perl',
  fetchmail: 'fetchmail',
  mbsync: 'isync',
  mutt: 'mutt',
  tmux: 'tmux',
  cyradm: 'cyrus-admin',
  procmail: 'procmail',
  postfix: 'postfix',
  dnsmasq: 'dnsmasq-base',
  python3: 'python3',
  curl: 'curl',
  openssl: 'openssl',
  saslpasswd2: 'sasl2-bin',
  ps: 'procps',
  mount: 'mount',
  umount: 'mount',
} as const;

export type Peer = keyof typeof PEERS;

const found = new Map<string, string | null>();

/** The absolute path of `cmd` on PATH (null: not there). Checked once per process. */
export function which(cmd: string): string | null {
  if (found.has(cmd)) return found.get(cmd)!;
  let hit: string | null = null;
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, cmd);
    try {
      if (!statSync(p).isFile()) continue;
      accessSync(p, constants.X_OK);
      hit = p;
      break;
    } catch {
      // not in this directory
    }
  }
  found.set(cmd, hit);
  return hit;
}

/** The apt-get line that installs every given peer. */
export function installLine(peers: readonly Peer[]): string {
  const pkgs = [...new Set(peers.flatMap((p) => PEERS[p].split(' ')))];
  return `apt-get install -y ${pkgs.join(' ')}`;
}

/** Why a test needing `peers` cannot run here ("needs X: apt-get install -y PKG"), or false. */
export function missingPeers(...peers: Peer[]): string | false {
  const missing = peers.filter((p) => !which(p));
  if (missing.length === 0) return false;
  return `needs ${missing.join(', ')}: ${installLine(missing)}`;
}

/** Test options that skip the test (with the install line) when a peer is missing. */
export function needs(...peers: Peer[]): { skip: string | false } {
  return { skip: missingPeers(...peers) };
}

/** The absolute path of a peer; throws with the install line when it is missing. */
export function peer(name: Peer): string {
  const p = which(name);
  if (!p) throw new Error(`${name} not found on PATH: ${installLine([name])}`);
  return p;
}
