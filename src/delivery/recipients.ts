/** The RCPT-time verdict on one address (S2): syntax, local or remote, exists, allowed. */
export type RecipientVerdict =
  | { ok: true; address: string; local: boolean }
  | { ok: false; code: number; enhanced: string; text: string };

export interface Recipients {
  /**
   * `authUser` set: an authenticated client (may relay, later issues). Addresses are
   * already syntax-checked RFC 5321 paths without angle brackets.
   */
  check(address: string, session: { clientAddress: string; authUser?: string }): Promise<RecipientVerdict>;
}
