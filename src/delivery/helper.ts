import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { DeliveryConfig } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import type { HelperReply, HelperRequest } from './helper-protocol.js';
import type { ExternalRequestTarget } from './run-as.js';
import type { RunOutcome } from './run-program.js';

const MAIN = fileURLToPath(new URL('./helper-main.js', import.meta.url));

/**
 * The server's side of the privileged delivery helper (helper-main.ts). Forked while still
 * root; after the drop, program and file deliveries go through it. If it dies it cannot be
 * started again without root: deliveries through it are deferred (4.3.0, retried like any
 * temporary failure) and the log says to restart the server.
 */
export class DeliveryHelper {
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, (o: RunOutcome) => void>();
  private next = 1;
  private dead: string | null = null;
  private closing = false;

  constructor(cfg: DeliveryConfig, private readonly log: Logger) {
    this.child = fork(MAIN, [], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv: [] });
    this.child.send({ setup: cfg });
    this.child.on('message', (m: HelperReply) => {
      const done = this.pending.get(m.id);
      this.pending.delete(m.id);
      done?.({ ok: m.ok, ran: m.ran, status: m.status, detail: m.detail });
    });
    this.child.on('exit', (code, signal) => {
      this.dead = `the delivery helper exited (${signal ?? code})`;
      if (!this.closing) this.log.error(null, `${this.dead}: program and file deliveries are deferred until the server is restarted`);
      for (const done of this.pending.values()) done({ ok: false, ran: false, status: '4.3.0', detail: this.dead });
      this.pending.clear();
    });
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  run(target: ExternalRequestTarget, sender: string, recipient: string, message: Buffer): Promise<RunOutcome> {
    if (this.dead) return Promise.resolve({ ok: false, ran: false, status: '4.3.0', detail: this.dead });
    const id = this.next++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      const req: HelperRequest = { id, target, sender, recipient, message };
      this.child.send(req, (e) => {
        if (!e) return;
        this.pending.delete(id);
        resolve({ ok: false, ran: false, status: '4.3.0', detail: `delivery helper: ${e.message}` });
      });
    });
  }

  close(): void {
    this.closing = true;
    this.child.disconnect?.();
  }
}
