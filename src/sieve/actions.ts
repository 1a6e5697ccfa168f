import { RunError } from './match.js';
import type { Flags, RunLimits, SieveAction, VacationAction } from './types.js';

/**
 * The action list of one run (RFC 5228 2.10): duplicates merged (2.10.3: fileinto the same
 * mailbox or redirect to the same address once), the implicit keep cancelled by fileinto,
 * redirect, discard and reject (2.10.2), and the conflicts of RFC 5429 2.1 (reject with any
 * action that delivers or answers the message) and RFC 5230 4.7 (one vacation) reported as
 * run-time errors. maxActions and maxRedirects bound the list.
 */
export class ActionList {
  readonly list: SieveAction[] = [];
  keepCancelled = false;
  private redirects = 0;

  constructor(private readonly limits: RunLimits) {}

  private push(a: SieveAction): void {
    if (this.list.length >= this.limits.maxActions) {
      throw new RunError(`too many actions (limit ${this.limits.maxActions})`, true);
    }
    this.list.push(a);
  }

  private rejected(): boolean {
    return this.list.some((a) => a.type === 'reject');
  }

  private noReject(what: string): void {
    if (this.rejected()) throw new RunError(`${what} conflicts with reject (RFC 5429 2.1)`);
  }

  keep(flags: Flags, message: Buffer | undefined, implicit = false): void {
    if (!implicit) this.noReject('keep');
    const old = this.list.find((a) => a.type === 'keep');
    if (old !== undefined && old.type === 'keep') {
      mergeFlags(old.flags, flags);
      return;
    }
    this.push({ type: 'keep', flags, implicit, ...(message !== undefined ? { message } : {}) });
  }

  fileinto(mailbox: string, copy: boolean, create: boolean, flags: Flags, message: Buffer | undefined): void {
    this.noReject('fileinto');
    if (!copy) this.keepCancelled = true;
    const old = this.list.find((a) => a.type === 'fileinto' && a.mailbox === mailbox);
    if (old !== undefined && old.type === 'fileinto') {
      mergeFlags(old.flags, flags);
      old.create ||= create;
      return;
    }
    this.push({ type: 'fileinto', mailbox, copy, create, flags, ...(message !== undefined ? { message } : {}) });
  }

  redirect(address: string, copy: boolean, message: Buffer | undefined): void {
    this.noReject('redirect');
    if (!copy) this.keepCancelled = true;
    const lower = address.toLowerCase();
    if (this.list.some((a) => a.type === 'redirect' && a.address.toLowerCase() === lower)) return;
    if (++this.redirects > this.limits.maxRedirects) {
      throw new RunError(`too many redirects (limit ${this.limits.maxRedirects})`, true);
    }
    this.push({ type: 'redirect', address, copy, ...(message !== undefined ? { message } : {}) });
  }

  reject(text: string, extended: boolean): void {
    if (this.rejected()) throw new RunError('reject: only one reject or ereject per run (RFC 5429 2.1)');
    const other = this.list.find((a) => a.type === 'keep' || a.type === 'fileinto' || a.type === 'redirect' || a.type === 'vacation');
    if (other !== undefined) throw new RunError(`reject conflicts with ${other.type} (RFC 5429 2.1)`);
    this.keepCancelled = true;
    this.push({ type: 'reject', text, extended });
  }

  discard(): void {
    this.keepCancelled = true;
  }

  vacation(v: VacationAction): void {
    this.noReject('vacation');
    if (this.list.some((a) => a.type === 'vacation')) throw new RunError('vacation: only one vacation per run (RFC 5230 4.7)');
    this.push(v);
  }

  /** The final list: the implicit keep added unless cancelled, discard when nothing else. */
  finish(flags: Flags, message: Buffer | undefined): SieveAction[] {
    if (!this.keepCancelled && !this.list.some((a) => a.type === 'keep')) {
      this.list.push({ type: 'keep', flags, implicit: true, ...(message !== undefined ? { message } : {}) });
    }
    const delivers = this.list.some((a) => a.type === 'keep' || a.type === 'fileinto' || a.type === 'redirect' || a.type === 'reject');
    if (!delivers) this.list.push({ type: 'discard' });
    return this.list;
  }
}

function mergeFlags(into: Flags, more: Flags): void {
  for (const f of more) if (!into.some((g) => g.toLowerCase() === f.toLowerCase())) into.push(f);
}
