import type { CommandSpec } from '../session.js';
import { bad, bye } from '../errors.js';

/**
 * RFC 2177 IDLE: changes to the selected mailbox go out as they happen (the notifier wakes
 * the session), until the client sends DONE. The wait lasts the configured idle timeout
 * (RFC 2177: at least 29 minutes; the default is 31).
 */
export const idleCommands: Record<string, CommandSpec> = {
  IDLE: {
    states: ['authenticated', 'selected'],
    async run(s, c) {
      c.args.end();
      s.write(['+ idling\r\n']);
      let chain = Promise.resolve();
      const wake = () => {
        chain = chain.then(async () => {
          const box = s.selected;
          if (!box || s.isClosed) return;
          if (box.dirty) await s.announce(box, true);
          else s.announceExpunges(box);
          await s.out.flush();
        }).catch((e) => s.log.error(null, `${s.id}: IDLE update failed: ${(e as Error).message}`));
      };
      s.idleWake = wake;
      wake();
      try {
        const l = await s.readLine();
        if (!l) throw bye('connection closed during IDLE');
        await chain;
        if (l.line.toUpperCase() !== 'DONE') throw bad('expected DONE');
      } finally {
        s.idleWake = null;
      }
      return 'IDLE terminated';
    },
  },
};
