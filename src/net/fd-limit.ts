import { readFileSync } from 'node:fs';

/**
 * The process's soft limit on open files (`ulimit -n`), read from /proc/self/limits; null
 * where that file does not exist (not Linux) or says "unlimited".
 */
export function openFileLimit(text: string | null = readLimits()): number | null {
  if (text === null) return null;
  const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (!m || m[1] === 'unlimited') return null;
  return Number(m[1]);
}

function readLimits(): string | null {
  try {
    return readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return null;
  }
}

/**
 * How many client connections all services together may hold. Every connection is one
 * descriptor (two while a refusal is written); the rest of the limit stays for the queue's
 * spool files, the database and its WAL, map files, the pickup directory and outbound SMTP
 * connections, so that a flood on IMAP cannot make SMTP or the pickup fail with EMFILE.
 */
export function globalBudget(configured: number | null, reserved: number, fdLimit: number | null = openFileLimit()): { max: number; clamped: boolean } {
  const ceiling = fdLimit === null ? Infinity : Math.max(16, fdLimit - reserved);
  const wanted = configured ?? ceiling;
  if (wanted === Infinity) return { max: 10_000, clamped: false };
  return { max: Math.min(wanted, ceiling), clamped: configured !== null && configured > ceiling };
}
