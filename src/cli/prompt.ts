import { createInterface } from 'node:readline';

/** Reads all of standard input (for --password-stdin and `user test`), without the final newline. */
export async function readStdinLine(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').split(/\r?\n/)[0];
}

/** Asks for a password on the terminal without echoing it. */
export function askHidden(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    const out = rl as unknown as { _writeToOutput: (s: string) => void; output: NodeJS.WriteStream };
    let asked = false;
    out._writeToOutput = (s: string) => {
      if (!asked) {
        out.output.write(s);
        asked = true;
      }
    };
    rl.question(question, (answer) => {
      process.stderr.write('\n');
      rl.close();
      resolve(answer);
    });
    rl.on('SIGINT', () => {
      rl.close();
      reject(new Error('interrupted'));
    });
  });
}

/** Like saslpasswd2 -c: the password twice, and they must match. */
export async function askNewPassword(address: string): Promise<string> {
  if (!process.stdin.isTTY) {
    throw new Error('standard input is not a terminal: use --password-stdin to give the password on standard input');
  }
  const a = await askHidden(`Password for ${address}: `);
  const b = await askHidden('Again (for verification): ');
  if (a !== b) throw new Error('the two passwords do not match; nothing changed');
  return a;
}
