/**
 * Authentication failures in a sliding window, remembered per client address together with
 * the account each one was against. That one record answers three questions:
 *
 * - how often this address failed, whatever the account: past `perClient` the address is
 *   throttled (services answer a temporary failure without checking the password, which
 *   keeps guessing slow and the CPU free);
 * - how often this address failed against this account (the pair): a success clears only the
 *   pair, so logging in to one's own account does not buy more guesses at others' (issue 9.7);
 * - how often the account failed, whatever the address: past `perAccount` the account is under
 *   attack. That never locks the owner out (issue 9.9): an address that has not failed
 *   against the account still gets its answer; one that has is refused for that account
 *   until its failures age out, so each guessing address gets one try per window, not
 *   `perClient`. The authenticator adds a delay on top while the attack lasts.
 */

export interface ThrottleLimits {
  /** Failures from one client address (any accounts) within the window before it is throttled. */
  perClient: number;
  /** Failures against one account (any addresses) within the window that mark it under attack. */
  perAccount: number;
  windowMs: number;
}

interface Failure {
  key: string;
  at: number;
}

/** Beyond this many remembered keys the expired ones are swept, so a flood of addresses cannot grow memory for ever. */
const SWEEP_AT = 100_000;

/** Failure times per key, each list bounded: only the newest `cap` matter for a limit of `cap`. */
class Window {
  private readonly lists = new Map<string, Failure[]>();

  constructor(private readonly windowMs: number, private readonly cap: number) {}

  recent(key: string, now: number): Failure[] {
    const all = this.lists.get(key);
    if (!all) return [];
    const list = all.filter((f) => now - f.at < this.windowMs);
    if (list.length) this.lists.set(key, list);
    else this.lists.delete(key);
    return list;
  }

  add(key: string, f: Failure, now: number): void {
    const list = this.recent(key, now);
    list.push(f);
    if (list.length > this.cap) list.splice(0, list.length - this.cap);
    this.lists.set(key, list);
    if (this.lists.size > SWEEP_AT) this.sweep(now);
  }

  /**
   * Drops expired keys, then (a flood of fresh addresses) the oldest ones down to 90%, so
   * that the next sweep is 10,000 failures away rather than one.
   */
  private sweep(now: number): void {
    for (const k of [...this.lists.keys()]) this.recent(k, now);
    for (const k of this.lists.keys()) {
      if (this.lists.size <= SWEEP_AT * 0.9) break;
      this.lists.delete(k);
    }
  }

  get size(): number {
    return this.lists.size;
  }

  /** Forgets the failures of `key` that `match` (a success proved them to be the owner's typos). */
  forget(key: string, match: (f: Failure) => boolean): void {
    const list = this.lists.get(key);
    if (!list) return;
    const kept = list.filter((f) => !match(f));
    if (kept.length) this.lists.set(key, kept);
    else this.lists.delete(key);
  }
}

export class FailureLedger {
  /** client address -> failures, each naming its account. */
  private readonly byClient: Window;
  /** account -> failures, each naming its client address. */
  private readonly byAccount: Window;

  constructor(private readonly limits: ThrottleLimits) {
    // Attempts refused as throttled are not recorded, so a list grows past its limit only by
    // the attempts in flight at once; twice the limit keeps every count that matters exact.
    this.byClient = new Window(limits.windowMs, limits.perClient * 2);
    this.byAccount = new Window(limits.windowMs, limits.perAccount * 2);
  }

  fail(client: string, account: string, now = Date.now()): void {
    this.byClient.add(client, { key: account, at: now }, now);
    this.byAccount.add(account, { key: client, at: now }, now);
  }

  /** A success clears only this (address, account) pair: the address's failures at other accounts stay. */
  succeed(client: string, account: string): void {
    this.byClient.forget(client, (f) => f.key === account);
    this.byAccount.forget(account, (f) => f.key === client);
  }

  /** How many client addresses have failures remembered (bounded by the sweep). */
  get clients(): number {
    return this.byClient.size;
  }

  /** The address as a whole has failed too often, whatever account it tries next. */
  clientThrottled(client: string, now = Date.now()): boolean {
    return this.byClient.recent(client, now).length >= this.limits.perClient;
  }

  underAttack(account: string, now = Date.now()): boolean {
    return this.byAccount.recent(account, now).length >= this.limits.perAccount;
  }

  /** Whether `client` may try `account` now. */
  throttled(client: string, account: string, now = Date.now()): boolean {
    const mine = this.byClient.recent(client, now);
    if (mine.length >= this.limits.perClient) return true;
    return this.underAttack(account, now) && mine.some((f) => f.key === account);
  }
}
