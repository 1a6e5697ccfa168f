import type { CommandSpec } from '../session.js';
import { Answered, bad, no } from '../errors.js';

/** RFC 4978 COMPRESS=DEFLATE. */
export const compressCommands: Record<string, CommandSpec> = {
  COMPRESS: {
    states: ['authenticated', 'selected'],
    async run(s, c) {
      const algo = c.args.keyword('compression algorithm');
      c.args.end();
      if (algo !== 'DEFLATE') throw bad(`unknown compression ${algo}`);
      if (s.compressed) throw no('compression is already active', 'COMPRESSIONACTIVE');
      s.write([`${c.tag} OK DEFLATE active\r\n`]);
      await s.startCompression();
      throw new Answered();
    },
  },
};
