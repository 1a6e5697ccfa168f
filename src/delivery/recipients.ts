/** The RCPT-time verdict on one address (S2): syntax, local or remote, exists, allowed. */
export type RecipientVerdict =
  | { ok: true; address: string; local: boolean }
  | { ok: false; code: number; enhanced: string; text: string };

export interface RecipientSession {
  clientAddress: string;
  /** An authenticated client: may relay. */
  authUser?: string;
  /**
   * The policy found another reason to relay this recipient (S25 access RELAY, S26
   * relay-domains or relay_based_on_MX): a non-local address is accepted for delivery out.
   */
  relay?: boolean;
}

export interface Recipients {
  /** Addresses are already syntax-checked RFC 5321 paths without angle brackets. */
  check(address: string, session: RecipientSession): Promise<RecipientVerdict>;
}
