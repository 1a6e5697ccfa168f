import { statSync } from 'node:fs';
import { basename, join } from 'node:path';

/**
 * Programs run the way sendmail's smrsh runs them: only the program's base name counts and it
 * must be in `[delivery] program_dir` (the admin links allowed programs there, e.g. procmail);
 * no shell (no `;`, `|`, `$`, redirections...), arguments split on white space with double
 * quotes kept together. Checked by the server before asking and by the helper before running.
 */

const SHELL_META = /[;&|<>`$(){}\\*?[\]~!#\n\r]/;

/** argv of a program target; a string is why it is refused. */
export function programArgv(command: string): string[] | string {
  if (SHELL_META.test(command.replace(/"[^"]*"/g, ''))) return `"${command}": shell syntax is not allowed in program deliveries`;
  const argv: string[] = [];
  const re = /"([^"]*)"|(\S+)/g;
  for (let m = re.exec(command); m; m = re.exec(command)) argv.push(m[1] ?? m[2]);
  if (!argv.length) return 'empty program';
  return argv;
}

/** The program's path inside program_dir, or why not. */
export function resolveProgram(dir: string | null, name: string): { path: string } | { error: string } {
  if (!dir) return { error: 'program deliveries are off ([delivery] program_dir is not set)' };
  const path = join(dir, basename(name));
  try {
    const st = statSync(path);
    if (!st.isFile() || !(st.mode & 0o111)) return { error: `${basename(name)} is not an executable file in ${dir}` };
  } catch {
    return { error: `${basename(name)} is not in ${dir} (only programs there may be run, as with smrsh)` };
  }
  return { path };
}
