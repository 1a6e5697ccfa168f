import { execFile } from 'node:child_process';
import { RawSmtp, type WireReply } from '../smtp/client.js';

/**
 * Short SMTP dialogues for the policy tests, from a chosen loopback address (the access map
 * and the DNS lists look at the client address; 127.0.0.0/8 gives us as many as we need).
 */
export async function talk(port: number, from: string, lines: string[]): Promise<WireReply[]> {
  const c = await RawSmtp.connect(port, '127.0.0.1', from);
  try {
    const out = [await c.reply()];
    for (const line of lines) {
      if (c.closed) break;
      out.push(await c.cmd(line));
    }
    return out;
  } finally {
    c.destroy();
  }
}

/** "250 2.1.5 Ok" per reply, for readable assertions. */
export function codes(replies: WireReply[]): string[] {
  return replies.map((r) => r.lines[r.lines.length - 1]);
}

export function message(from: string, to: string, subject: string): string {
  return `From: <${from}>\r\nTo: <${to}>\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n.`;
}

/** Runs swaks (Debian's) and resolves with its exit code and transcript. */
export function swaks(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile('swaks', ['--timeout', '20', ...args], { timeout: 30000 }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: number }).code ?? 1) : 0;
      resolve({ code: typeof code === 'number' ? code : 1, out: stdout + stderr });
    });
  });
}
