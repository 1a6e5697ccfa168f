import type { ChildProcess } from 'node:child_process';

/**
 * Every process a test starts is tracked here and killed when the test process ends, however
 * it ends: normally, or by the runner's SIGTERM on a timeout. No test leaves a process behind.
 */
const live = new Set<ChildProcess>();

function killAll(): void {
  for (const c of live) c.kill('SIGKILL');
  live.clear();
}

process.on('exit', killAll);
for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
  process.once(sig, () => {
    killAll();
    process.exit(128 + (sig === 'SIGINT' ? 2 : sig === 'SIGHUP' ? 1 : 15));
  });
}

export function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}
