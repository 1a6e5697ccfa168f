/**
 * What every private Postfix of the tests shares (Debian's package, its own config directory,
 * queue and log under the test's dir): the system user lookup, a master.cf with just the
 * services needed, and start/stop with the wait for "daemon started" in its own maillog.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export function passwd(user: string): { uid: number; gid: number } {
  const line = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${user}:`));
  if (!line) throw new Error(`no system user "${user}": apt-get install -y postfix`);
  const f = line.split(':');
  return { uid: Number(f[2]), gid: Number(f[3]) };
}

/** master.cf: smtpd on `listen` (HOST:PORT), the core services, and `extra` service lines. */
export function writeMasterCf(etc: string, listen: string, extra: string[]): void {
  writeFileSync(join(etc, 'master.cf'), [
    `${listen} inet n - n - - smtpd`,
    'pickup     unix  n - n 60    1 pickup',
    'cleanup    unix  n - n -     0 cleanup',
    'qmgr       unix  n - n 300   1 qmgr',
    'rewrite    unix  - - n -     - trivial-rewrite',
    'bounce     unix  - - n -     0 bounce',
    'defer      unix  - - n -     0 bounce',
    'trace      unix  - - n -     0 bounce',
    'verify     unix  - - n -     1 verify',
    'flush      unix  n - n 1000? 0 flush',
    'proxymap   unix  - - n -     - proxymap',
    'proxywrite unix  - - n -     1 proxymap',
    'showq      unix  n - n -     - showq',
    'error      unix  - - n -     - error',
    'retry      unix  - - n -     - error',
    'discard    unix  - - n -     - discard',
    ...extra,
    'anvil      unix  - - n -     1 anvil',
    'scache     unix  - - n -     1 scache',
    'postlog    unix-dgram n - n - 1 postlogd',
    '',
  ].join('\n'));
}

/** `postfix check` and `start`, then waits for its log to say so; returns an idempotent stop. */
export async function runPostfix(etc: string, queue: string, maillog: string): Promise<() => Promise<void>> {
  const postfix = async (cmd: string) => {
    try {
      await run('/usr/sbin/postfix', ['-c', etc, cmd], { timeout: 60_000 });
    } catch (e) {
      const tail = existsSync(maillog) ? readFileSync(maillog, 'utf8').split('\n').slice(-15).join('\n') : '';
      throw new Error(`postfix -c ${etc} ${cmd} failed: ${(e as Error).message}\n${tail}`);
    }
  };
  await postfix('check');
  await postfix('start');
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (existsSync(join(queue, 'pid', 'master.pid'))) await postfix('stop');
  };
  const start = Date.now();
  while (!(existsSync(maillog) && readFileSync(maillog, 'utf8').includes('daemon started'))) {
    if (Date.now() - start > 30_000) {
      await stop().catch(() => undefined);
      throw new Error(`Postfix did not start within 30 s; see ${maillog}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return stop;
}
