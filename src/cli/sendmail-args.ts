/**
 * sendmail's command line (sendmail(8)), as cron, PHP's mail() and scripts use it. Parsed
 * getopt-style like sendmail does: flags may be bundled ("-ti"), an option's value may be
 * attached ("-fuser@x") or the next word ("-f user@x"), "--" ends the options.
 *
 * Taken: -t -i -oi -f/-r -F -bm -bs -bp -bi -q -N -R -V -C; and --config.
 * Accepted and ignored, value included, so a known flag never eats a recipient:
 * -v -m -n -G -U -c -I -B -d -h -L -M -O -p -X and the other -oX options (-odb, -oem, -oQ...).
 */

export type Mode = 'deliver' | 'smtp' | 'print' | 'aliases' | 'queue-run';

export interface SendmailArgs {
  mode: Mode;
  /** -t: recipients from To:, Cc:, Bcc: (the command-line ones are then left out, as sendmail does). */
  extract: boolean;
  /** -i / -oi: a line with a single "." does not end the message. */
  ignoreDots: boolean;
  sender: string | null;
  fullName: string | null;
  recipients: string[];
  config: string | null;
  notify?: string[];
  ret?: 'FULL' | 'HDRS';
  envid?: string;
}

export class SendmailUsage extends Error {}

/** Options that take a value. `q` is special: only an attached value (-q30m). */
const VALUED = new Set(['B', 'b', 'C', 'd', 'F', 'f', 'h', 'L', 'M', 'N', 'O', 'o', 'p', 'R', 'r', 'V', 'X']);
const IGNORED_FLAGS = new Set(['v', 'm', 'n', 'G', 'U', 'c', 's', 'e']);

/** "a@x, b@y" and "a@x b@y" on the command line are several recipients. */
function splitRecipients(word: string): string[] {
  return word.split(',').map((s) => s.trim()).filter(Boolean);
}

export function parseSendmailArgs(argv: string[], invokedAs = 'sendmail'): SendmailArgs {
  const out: SendmailArgs = {
    mode: invokedAs === 'mailq' ? 'print' : invokedAs === 'newaliases' ? 'aliases' : 'deliver',
    extract: false, ignoreDots: false, sender: null, fullName: null, recipients: [], config: null,
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      i++;
      break;
    }
    if (a === '--config' || a.startsWith('--config=')) {
      out.config = a.includes('=') ? a.slice(9) : argv[++i] ?? null;
      if (!out.config) throw new SendmailUsage('--config needs a file');
      continue;
    }
    if (!a.startsWith('-') || a === '-') {
      out.recipients.push(...splitRecipients(a));
      continue;
    }
    for (let j = 1; j < a.length; j++) {
      const opt = a[j];
      if (opt === 'q') {
        out.mode = 'queue-run';
        break; // -q[time]: the rest is the interval
      }
      if (VALUED.has(opt)) {
        let value = a.slice(j + 1);
        if (!value) {
          if (i + 1 >= argv.length) throw new SendmailUsage(`option -${opt} requires an argument`);
          value = argv[++i];
        }
        apply(out, opt, value);
        break;
      }
      if (opt === 't') out.extract = true;
      else if (opt === 'i') out.ignoreDots = true;
      else if (opt === 'I') out.mode = 'aliases';
      else if (!IGNORED_FLAGS.has(opt)) throw new SendmailUsage(`unknown option -${opt}`);
    }
  }
  for (; i < argv.length; i++) out.recipients.push(...splitRecipients(argv[i]));
  return out;
}

function apply(out: SendmailArgs, opt: string, value: string): void {
  switch (opt) {
    case 'b':
      switch (value) {
        case 'm': out.mode = 'deliver'; return;
        case 's': out.mode = 'smtp'; return;
        case 'p': out.mode = 'print'; return;
        case 'i': out.mode = 'aliases'; return;
        default: throw new SendmailUsage(`-b${value} is not supported (use -bm, -bs, -bp or -bi)`);
      }
    case 'o':
      // -oi is the one -o option that changes what we do; -oem, -odb, -oQ... are sendmail tuning.
      if (value === 'i') out.ignoreDots = true;
      return;
    case 'f':
    case 'r':
      // "<>" or "" asks for the null sender (used for bounces by programs).
      out.sender = value === '<>' ? '' : value.replace(/^<(.*)>$/, '$1');
      return;
    case 'F':
      out.fullName = value;
      return;
    case 'C':
      out.config = value;
      return;
    case 'N': {
      // RFC 3461 NOTIFY: "never" or a list of success, failure, delay.
      const items = value.toUpperCase().split(',').map((s) => s.trim());
      const ok = (items.length === 1 && items[0] === 'NEVER') || items.every((x) => ['SUCCESS', 'FAILURE', 'DELAY'].includes(x));
      if (!ok) throw new SendmailUsage(`-N ${value}: use never, or success,failure,delay`);
      out.notify = items;
      return;
    }
    case 'R': {
      const v = value.toUpperCase();
      if (v !== 'FULL' && v !== 'HDRS') throw new SendmailUsage(`-R ${value}: use full or hdrs`);
      out.ret = v;
      return;
    }
    case 'V':
      out.envid = value;
      return;
    default:
      // -B -d -h -L -M -O -p -X: accepted, nothing to do.
      return;
  }
}
