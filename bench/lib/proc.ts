import { readdirSync, readFileSync } from 'node:fs';
import { execFileSync, type ChildProcess } from 'node:child_process';

/**
 * CPU time and memory of a server as Linux's /proc sees it. A server may be one process
 * (Correo) or a tree of them that come and go (Postfix's master and its daemons), so every
 * figure here is taken over the whole tree below a root PID.
 */

const TICKS_PER_SECOND = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

interface Stat {
  pid: number;
  ppid: number;
  /** utime + stime of the process itself, in clock ticks. */
  own: number;
  /** cutime + cstime: children it has already reaped, in clock ticks. */
  reaped: number;
}

function readStat(pid: number): Stat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null; // gone between readdir and read
  }
  // The command name (field 2) is in parentheses and may itself contain spaces or ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // f[0] is field 3 (state); utime is field 14, stime 15, cutime 16, cstime 17 (proc(5)).
  return { pid, ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]) };
}

/** The root and every live process below it. */
export function processTree(root: number): Stat[] {
  const all: Stat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = readStat(Number(name));
    if (s) all.push(s);
  }
  const children = new Map<number, Stat[]>();
  for (const s of all) {
    const list = children.get(s.ppid);
    if (list) list.push(s);
    else children.set(s.ppid, [s]);
  }
  const rootStat = all.find((s) => s.pid === root);
  if (!rootStat) return [];
  const out: Stat[] = [];
  const todo = [rootStat];
  while (todo.length) {
    const s = todo.pop()!;
    out.push(s);
    todo.push(...(children.get(s.pid) ?? []));
  }
  return out;
}

/**
 * CPU seconds (user + system) spent so far by the tree: live processes' own time plus what
 * their already-exited children spent (counted by the parent that reaped them). The difference
 * of two readings is the CPU a server used in between, even when its worker processes were
 * replaced meanwhile (Postfix recycles smtpd after max_use connections).
 */
export function treeCpuSeconds(root: number): number {
  let ticks = 0;
  for (const s of processTree(root)) ticks += s.own + s.reaped;
  return ticks / TICKS_PER_SECOND;
}

/** Proportional set size of a process in bytes: shared pages split among their users, so a sum over a tree is fair. */
function pssBytes(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Resident set size of a process tree in bytes (VmRSS summed: shared pages counted once per process). */
export function treeRssBytes(root: number): number {
  let sum = 0;
  for (const s of processTree(root)) {
    try {
      const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${s.pid}/status`, 'utf8'));
      if (m) sum += Number(m[1]) * 1024;
    } catch {
      // exited meanwhile
    }
  }
  return sum;
}

/** Samples the summed PSS of a process tree at an interval and keeps the peak. */
export class MemorySampler {
  peakBytes = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly root: () => number, private readonly intervalMs = 250) {}

  sample(): void {
    let sum = 0;
    for (const s of processTree(this.root())) sum += pssBytes(s.pid);
    if (sum > this.peakBytes) this.peakBytes = sum;
  }

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.sample();
  }
}

/** SIGTERM, then SIGKILL after 15 s; resolves when the process has exited. */
export function stopChild(c: ChildProcess | null): Promise<void> {
  if (!c || c.exitCode !== null || c.signalCode !== null) return Promise.resolve();
  return new Promise<void>((r) => {
    const t = setTimeout(() => c.kill('SIGKILL'), 15_000);
    c.once('exit', () => {
      clearTimeout(t);
      r();
    });
    c.kill('SIGTERM');
  });
}
