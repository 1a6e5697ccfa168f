import { fileURLToPath } from 'node:url';
import type { DeliveryConfig } from '../config/types.js';
import type { HelperReply, HelperRequest, HelperSetup } from './helper-protocol.js';
import { toMbox } from './mbox-file.js';
import { programArgv, resolveProgram } from './program-path.js';
import { decideRunAs, type ExternalRequestTarget } from './run-as.js';
import { runProgram, type RunOutcome } from './run-program.js';

/**
 * The privileged delivery helper (issue 9 item 5): the only process that stays root after the
 * server drops to `[server] user`. Forked by the server before the drop; it takes requests
 * only from its parent's IPC channel, decides who each delivery runs as from the admin's
 * config and the files themselves (delivery/run-as.ts), never root, and starts the program
 * (or append-main.js for a file) as that user. It reads no file on the server's behalf; the
 * message comes with the request. It exits when its parent goes.
 */

const APPEND = fileURLToPath(new URL('./append-main.js', import.meta.url));
let cfg: DeliveryConfig | null = null;

function validTarget(t: unknown): t is ExternalRequestTarget {
  const x = t as ExternalRequestTarget;
  return !!x && (x.kind === 'program' || x.kind === 'file') && typeof x.value === 'string'
    && ['aliases', 'include', 'forward', 'mailer'].includes(x.origin) && (x.include === undefined || typeof x.include === 'string');
}

async function handle(req: HelperRequest, c: DeliveryConfig): Promise<RunOutcome> {
  const who = decideRunAs(req.target, c);
  if (!who.ok) return { ok: false, ran: false, status: who.status, detail: who.log };
  const message = Buffer.from(req.message);
  const timeoutMs = c.program_timeout * 1000;
  if (req.target.kind === 'file') {
    if (!req.target.value.startsWith('/')) return { ok: false, ran: false, status: '5.3.5', detail: `${req.target.value}: not an absolute path` };
    const env = { PATH: '/usr/bin:/bin' };
    return runProgram({ path: process.execPath, args: [APPEND, req.target.value], env, who: who.who, timeoutMs, input: toMbox(message, req.sender), label: req.target.value });
  }
  const argv = programArgv(req.target.value);
  if (typeof argv === 'string') return { ok: false, ran: false, status: '5.7.1', detail: argv };
  const found = resolveProgram(c.program_dir, argv[0]);
  if ('error' in found) return { ok: false, ran: false, status: '5.7.1', detail: found.error };
  const name = who.who.name;
  const env = { PATH: '/usr/bin:/bin', SENDER: req.sender, RECIPIENT: req.recipient, LOGNAME: name, USER: name, HOME: '/' };
  // sendmail's prog and local mailers use E=\n: programs get Unix line ends.
  const input = Buffer.from(message.toString('latin1').replace(/\r\n/g, '\n'), 'latin1');
  return runProgram({ path: found.path, args: argv.slice(1), env, who: who.who, timeoutMs, input });
}

process.on('message', (m: HelperRequest | HelperSetup) => {
  if ('setup' in m) {
    cfg ??= m.setup;
    return;
  }
  const id = typeof m.id === 'number' ? m.id : -1;
  const reply = (o: RunOutcome) => process.send?.({ id, ...o } satisfies HelperReply);
  if (!cfg || !validTarget(m.target) || typeof m.sender !== 'string' || typeof m.recipient !== 'string' || !(m.message instanceof Uint8Array)) {
    reply({ ok: false, ran: false, status: '4.3.0', detail: 'delivery helper: malformed request' });
    return;
  }
  handle(m, cfg).then(reply, (e: Error) => reply({ ok: false, ran: false, status: '4.3.0', detail: `delivery helper: ${e.message}` }));
});
// The server is gone (or never set us up): nothing left to serve.
process.on('disconnect', () => process.exit(0));
