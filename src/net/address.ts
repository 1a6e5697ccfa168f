import type { Socket } from 'node:net';

/**
 * The one spelling of a client address, used for limits, logs, policy and throttling alike.
 * A dual-stack socket shows an IPv4 client as "::ffff:192.0.2.1" (RFC 4291 2.5.5.2); that is
 * the same client as "192.0.2.1" and must share its counters. IPv6 is lower-cased; a Unix
 * socket has no address and is "local".
 */
export function clientAddress(from: Socket | string | undefined): string {
  const ip = typeof from === 'string' || from === undefined ? from : from.remoteAddress;
  if (!ip) return 'local';
  const lower = ip.toLowerCase();
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/.exec(lower);
  return mapped ? mapped[1] : lower;
}
