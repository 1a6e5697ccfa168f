import { execFile } from 'node:child_process';

/**
 * What a user sees in a folder, read with Python's imaplib over implicit TLS (a real client):
 * the full text of each message, oldest first.
 */
export function folderMessages(port: number, user: string, password: string, folder = 'INBOX'): Promise<string[]> {
  const script = `
import imaplib, ssl, sys, json
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
m = imaplib.IMAP4_SSL('127.0.0.1', int(sys.argv[1]), ssl_context=ctx, timeout=20)
m.login(sys.argv[2], sys.argv[3])
typ, _ = m.select('"' + sys.argv[4] + '"', readonly=True)
out = []
if typ == 'OK':
    typ, data = m.search(None, 'ALL')
    for n in data[0].split():
        typ, msg = m.fetch(n, '(BODY.PEEK[])')
        out.append(msg[0][1].decode('utf-8', 'replace'))
m.logout()
print(json.dumps(out))
`;
  return new Promise((resolve, reject) => {
    execFile('python3', ['-c', script, String(port), user, password, folder], { timeout: 30000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`imaplib: ${stderr}`));
      resolve(JSON.parse(stdout) as string[]);
    });
  });
}

/** Polls until the folder holds at least `n` messages. */
export async function waitForMessages(port: number, user: string, password: string, n: number, folder = 'INBOX', timeoutMs = 15000): Promise<string[]> {
  const start = Date.now();
  for (;;) {
    const got = await folderMessages(port, user, password, folder);
    if (got.length >= n) return got;
    if (Date.now() - start > timeoutMs) throw new Error(`${user} ${folder}: ${got.length} messages after ${timeoutMs} ms, wanted ${n}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** Polls until a DSN (multipart/report) about `subject` is in the user's INBOX. */
export async function waitForBounce(port: number, user: string, password: string, subject: string, timeoutMs = 20000): Promise<string> {
  const start = Date.now();
  for (;;) {
    const got = (await folderMessages(port, user, password)).find((m) => m.includes(subject) && /multipart\/report/.test(m));
    if (got) return got;
    if (Date.now() - start > timeoutMs) throw new Error(`no bounce for ${subject} in ${user}'s INBOX after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
