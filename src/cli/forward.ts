import type { Config } from '../config/types.js';
import { readForward, writeForward } from '../delivery/forward.js';
import { openCliStore } from './store.js';
import { parseTarget } from '../delivery/targets.js';
import { programArgv, resolveProgram } from '../delivery/program-path.js';
import { UsageError } from './args.js';

/**
 * `correo forward set ADDRESS TARGET...`, `show ADDRESS`, `clear ADDRESS`: a user's forward
 * list (S16, sendmail's ~/.forward). Targets are addresses, "\ADDRESS" to keep a copy in the
 * user's own mailbox, or "|program" (run under [delivery]'s sandbox). A running server picks
 * the change up within a second.
 */
export async function forwardCommand(cfg: Config, args: string[]): Promise<number> {
  const [sub, who, ...targets] = args;
  if (!who || !['set', 'show', 'clear'].includes(sub)) throw new UsageError('use: correo forward set ADDRESS TARGET... | show ADDRESS | clear ADDRESS');
  const address = who.toLowerCase();
  const stores = await openCliStore(cfg);
  try {
    if (!(await stores.mailboxes.getUser(address))) throw new Error(`no user ${address}`);
  } finally {
    await stores.close();
  }
  const dir = cfg.delivery.forward_dir;
  switch (sub) {
    case 'show': {
      const list = readForward(dir, address);
      console.log(list.length ? list.join('\n') : `${address} has no forward list`);
      return 0;
    }
    case 'clear':
      writeForward(dir, address, []);
      console.log(`forward list of ${address} removed`);
      return 0;
    default: {
      const list = targets.flatMap((t) => t.split(',')).map((t) => t.trim()).filter(Boolean);
      if (!list.length) throw new UsageError('forward set needs at least one TARGET');
      for (const t of list) {
        const problem = programProblem(cfg, t);
        if (problem) throw new Error(`forward list of ${address} not changed: "${t}": ${problem}`);
      }
      writeForward(dir, address, list);
      console.log(`${address} forwards to ${list.join(', ')}`);
      return 0;
    }
  }
}

/**
 * Why a |program target would fail at delivery, checked by the same code delivery runs
 * (issue 9 item 12): a list that cannot work is refused now, not bounced later.
 */
function programProblem(cfg: Config, target: string): string | null {
  const t = parseTarget(target);
  if (typeof t === 'string' || t.kind !== 'program') return null;
  const argv = programArgv(t.command);
  if (typeof argv === 'string') return argv;
  const found = resolveProgram(cfg.delivery.program_dir, argv[0]);
  return 'error' in found ? found.error : null;
}
