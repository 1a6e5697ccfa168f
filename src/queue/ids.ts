import { randomBytes } from 'node:crypto';

let seq = 0;

/**
 * Queue ids: time-ordered (so `ls` and `mailq` sort by age), unique across restarts,
 * alphanumeric so they are safe as file names and in log lines. 16 characters.
 */
export function newQueueId(): string {
  seq = (seq + 1) % 1296;
  return (
    Date.now().toString(36).toUpperCase().padStart(9, '0') +
    seq.toString(36).toUpperCase().padStart(2, '0') +
    randomBytes(3).toString('hex').toUpperCase().slice(0, 5)
  );
}
