import { readFileSync } from 'node:fs';

/**
 * The system's users from /etc/passwd: whom the server drops to, whom programs and file
 * deliveries run as, and who wrote a maildrop file. Read on each call (users are added while
 * the server runs); these are system accounts, not mail users.
 */
export interface SystemUser {
  name: string;
  uid: number;
  gid: number;
  home: string;
}

function entries(): SystemUser[] {
  let text: string;
  try {
    text = readFileSync('/etc/passwd', 'utf8');
  } catch {
    return [];
  }
  const out: SystemUser[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 6 || !/^\d+$/.test(f[2]) || !/^\d+$/.test(f[3])) continue;
    out.push({ name: f[0], uid: Number(f[2]), gid: Number(f[3]), home: f[5] });
  }
  return out;
}

export function userByName(name: string): SystemUser | null {
  return entries().find((u) => u.name === name) ?? null;
}

/** The first name listed for a uid (passwd may list several). */
export function userByUid(uid: number): SystemUser | null {
  return entries().find((u) => u.uid === uid) ?? null;
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}
