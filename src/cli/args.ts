/** A small argv parser: `--name value`, `--flag`, and positionals. Unknown options are errors. */
export interface ParsedArgs {
  positional: string[];
  options: Record<string, string | true>;
}

export class UsageError extends Error {}

export function parseArgs(argv: string[], valued: string[], flags: string[]): ParsedArgs {
  const out: ParsedArgs = { positional: [], options: {} };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
      if (valued.includes(name)) {
        const v = eq > 0 ? a.slice(eq + 1) : argv[++i];
        if (v === undefined) throw new UsageError(`--${name} needs a value`);
        out.options[name] = v;
      } else if (flags.includes(name) && eq < 0) {
        out.options[name] = true;
      } else {
        throw new UsageError(`unknown option ${a}`);
      }
    } else {
      out.positional.push(a);
    }
  }
  return out;
}
