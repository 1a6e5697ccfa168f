import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/**
 * Runs Dovecot Pigeonhole's `sieve-test` (Debian dovecot-sieve) in dry-run mode and reads the
 * actions it prints, in the same normalised form as `ours()` in differential.test.ts:
 * "store:MAILBOX [flags]", "redirect:ADDRESS", "reject:FIRST LINE", "vacation:SECONDS",
 * or ["compile-error"] / ["error"] (a run-time failure resolved with implicit keep).
 */
export const INSTALL_LINE = 'apt-get install -y dovecot-sieve';

export function sieveTestPath(): string | null {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, 'sieve-test');
    if (existsSync(p)) return p;
  }
  return null;
}

export interface Workspace {
  dir: string;
  conf: string;
  personal: string;
  global: string;
}

/** A private Dovecot config and script directories (readable by the user sieve-test drops to). */
export function makeWorkspace(includes: { personal: Record<string, string>; global: Record<string, string> }): Workspace {
  const dir = mkdtempSync(join(tmpdir(), 'correo-sieve-diff-'));
  const personal = join(dir, 'personal'), global = join(dir, 'global'), mail = join(dir, 'mail');
  const root = process.getuid?.() === 0;
  for (const d of [personal, global, mail]) mkdirSync(d);
  // as root, sieve-test drops to mail_uid (nobody here): it must read the scripts and write mail/
  for (const d of [dir, personal, global]) chmodSync(d, 0o755);
  chmodSync(mail, 0o777);
  for (const [name, text] of Object.entries(includes.personal)) writeFileSync(join(personal, `${name}.sieve`), text, { mode: 0o644 });
  for (const [name, text] of Object.entries(includes.global)) writeFileSync(join(global, `${name}.sieve`), text, { mode: 0o644 });
  const uid = root ? 65534 : process.getuid!();
  const gid = root ? 65534 : process.getgid!();
  const conf = join(dir, 'dovecot.conf');
  writeFileSync(conf, [
    `mail_uid = ${uid}`, `mail_gid = ${gid}`, 'first_valid_uid = 1', 'first_valid_gid = 1',
    `mail_location = mbox:${mail}`,
    'plugin {',
    '  sieve_extensions = +vacation-seconds +editheader +spamtest +spamtestplus +virustest',
    '  sieve_spamtest_status_type = score', '  sieve_spamtest_status_header = X-Spam-Score',
    '  sieve_spamtest_max_value = 10',
    '  sieve_virustest_status_type = score', '  sieve_virustest_status_header = X-Virus-Score',
    '  sieve_virustest_max_value = 5',
    `  sieve = file:${personal}`, `  sieve_global = ${global}`,
    '}', '',
  ].join('\n'), { mode: 0o644 });
  return { dir, conf, personal, global };
}

export interface PigeonholeRun {
  actions: string[];
  output: string;
}

export function runPigeonhole(
  bin: string, ws: Workspace, scriptFile: string, messageFile: string, from: string, to: string,
): Promise<PigeonholeRun> {
  const args = ['-C', '-c', ws.conf, '-f', from, '-a', to, scriptFile, messageFile];
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: 30000, env: { ...process.env, TZ: 'UTC' } }, (err, stdout, stderr) => {
      if (err !== null && (err as NodeJS.ErrnoException).code === 'ENOENT') return reject(err);
      if (err !== null && err.killed) return reject(new Error(`sieve-test timed out on ${scriptFile}`));
      resolve({ actions: parseOutput(stdout, stderr), output: stdout + stderr });
    });
  });
}

export function parseOutput(stdout: string, stderr: string): string[] {
  if (/failed to compile sieve script/.test(stderr)) return ['compile-error'];
  if (/final result: failed/.test(stderr)) return ['error'];
  const out = new Set<string>();
  let cur: { text: string; flags: string } | null = null;
  let inMessage = false;
  const flush = (): void => {
    if (cur !== null) out.add(cur.flags === '' ? cur.text : `${cur.text} [${cur.flags}]`);
    cur = null;
  };
  for (const line of stdout.split('\n')) {
    if (line.startsWith('START MESSAGE')) { inMessage = true; continue; }
    if (line.startsWith('END MESSAGE')) { inMessage = false; continue; }
    if (inMessage) continue;
    let m: RegExpExecArray | null;
    if ((m = /^ \* store message in folder: (.*)$/.exec(line)) !== null) { flush(); cur = { text: `store:${m[1]}`, flags: '' }; }
    else if ((m = /^\s+\+ add IMAP flags: (.*)$/.exec(line)) !== null && cur !== null) cur.flags = normFlags(m[1].split(' '));
    else if ((m = /^ \* redirect message to: <?([^>]*)>?$/.exec(line)) !== null) { flush(); out.add(`redirect:${m[1].toLowerCase()}`); }
    else if ((m = /^ \* reject message with reason: (.*)$/.exec(line)) !== null) { flush(); out.add(`reject:${m[1].split('??')[0].trim()}`); }
    else if ((m = /^\s+=> seconds : (\d+)/.exec(line)) !== null) out.add(`vacation:${m[1]}`);
    else if (/^ \* /.test(line)) flush();
  }
  flush();
  return [...out].sort();
}

export function normFlags(flags: string[]): string {
  return [...new Set(flags.filter((f) => f !== '').map((f) => f.toLowerCase()))].sort().join(' ');
}

/**
 * Executes (-e) a vacation script the way delivery would, with `user` as the final recipient
 * (-r), and says whether Pigeonhole sent the reply: its checks of RFC 5230 4.5/4.6 and
 * RFC 3834. HOME is the workspace, so nothing is remembered outside it.
 */
export function pigeonholeVacation(
  bin: string, ws: Workspace, scriptFile: string, messageFile: string, from: string, user: string,
): Promise<'sent' | 'not sent' | string> {
  const args = ['-e', '-C', '-c', ws.conf, '-f', from, '-a', user, '-r', user, scriptFile, messageFile];
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: 30000, env: { ...process.env, TZ: 'UTC', HOME: ws.dir } }, (err, stdout, stderr) => {
      if (err !== null && (err as NodeJS.ErrnoException).code === 'ENOENT') return reject(err);
      const all = stdout + stderr;
      if (/sent vacation response/.test(all)) return resolve('sent');
      if (/vacation action: (not sending|discarding|discarded)/.test(all)) return resolve('not sent');
      resolve(`unknown: ${all.slice(0, 500)}`);
    });
  });
}
