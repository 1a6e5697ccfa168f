import { appendExitCode, appendMbox } from './mbox-file.js';

/**
 * `node append-main.js PATH`: the privileged helper starts this as the user a file delivery
 * runs as (delivery/run-as.ts); it appends standard input (already in mbox form) to PATH
 * with that user's permissions. Exit status is sysexits(3): 75 asks for a retry.
 */
const chunks: Buffer[] = [];
process.stdin.on('data', (d: Buffer) => chunks.push(d));
process.stdin.on('end', () => {
  const path = process.argv[2] ?? '';
  const err = appendMbox(path, Buffer.concat(chunks));
  if (err) {
    process.stderr.write(`${err.message}\n`);
    process.exit(appendExitCode(err.code));
  }
  process.exit(0);
});
