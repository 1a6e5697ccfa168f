import { execFile } from 'node:child_process';
import { popMessages } from '../pop3/helpers.js';

/** Runs swaks; resolves with its exit code and transcript (never rejects). */
export function swaks(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('swaks', ['--helo', 'client.example.test', '--timeout', '20', ...args], { timeout: 40000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, out: stdout + stderr });
    });
  });
}

/** Runs a Python script with arguments; resolves with stdout or rejects with stderr. */
export function python(script: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', script, ...args], { timeout: 40000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`python: ${err.message}\n${stderr}`));
      else resolve(stdout);
    });
  });
}

/** Python's smtplib as a submission client: STARTTLS on 587 or implicit TLS on 465, one mechanism. */
export const SMTPLIB = `
import smtplib, ssl, sys
mode, port, mech, user, pw, sender, to, raw = sys.argv[1:]
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
if mode == 'starttls':
    s = smtplib.SMTP('127.0.0.1', int(port), timeout=20); s.ehlo(); s.starttls(context=ctx); s.ehlo()
else:
    s = smtplib.SMTP_SSL('127.0.0.1', int(port), timeout=20, context=ctx); s.ehlo()
s.user, s.password = user, pw
code, resp = s.auth(mech, {'CRAM-MD5': s.auth_cram_md5, 'PLAIN': s.auth_plain, 'LOGIN': s.auth_login}[mech])
try:
    s.sendmail(sender, [to], raw.encode('utf-8'))
    print(code, 'sent')
except smtplib.SMTPException as e:
    print(code, 'refused', repr(e))
s.quit()
`;

/** Every message of a mailbox over POP3 with STLS. */
export function inbox(pop3Port: number, user: string, password: string): Promise<string[]> {
  return popMessages(pop3Port, user, password, { stls: true });
}

export async function until<T>(what: string, cond: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const start = Date.now();
  for (;;) {
    const v = await cond();
    if (v) return v;
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
