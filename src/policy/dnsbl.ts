import type { DnsListConfig } from '../config/types.js';
import { dnsListName } from './ip.js';
import type { LookupFn } from './dns.js';

/**
 * DNS block and allow lists (S28, RFC 5782): the client address, reversed, under each zone.
 * A listed address has an A record in 127.0.0.0/8 (127.0.0.1 is "not listed" by RFC 5782 5,
 * used by lists for testing; 127.255.255.x are the lists' own error answers). A list that
 * fails or does not answer in time says nothing: it never blocks mail.
 */

export type ListAnswer =
  | { kind: 'listed'; zone: string; answers: string[]; message: string }
  | { kind: 'clear'; zone: string }
  | { kind: 'error'; zone: string; error: string };

/** sendmail's dnsbl texts use $&{client_addr}; ours %s; both become the address. */
export function listMessage(template: string, ip: string): string {
  return template.replace(/\$&\{client_addr\}/g, ip).replace(/%s/g, ip);
}

export function countsAsListed(answers: string[], wanted: string[]): string[] {
  return answers.filter((a) => {
    if (wanted.length) return wanted.includes(a);
    return a.startsWith('127.') && a !== '127.0.0.1' && !a.startsWith('127.255.255.');
  });
}

export async function queryList(lookup: LookupFn, ip: string, list: DnsListConfig): Promise<ListAnswer> {
  const name = dnsListName(ip, list.zone);
  if (!name) return { kind: 'error', zone: list.zone, error: `not an IP address: ${ip}` };
  try {
    const answers = countsAsListed((await lookup(name, 'A')) as string[], list.answers);
    return answers.length ? { kind: 'listed', zone: list.zone, answers, message: listMessage(list.message, ip) } : { kind: 'clear', zone: list.zone };
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOTFOUND' || code === 'ENODATA') return { kind: 'clear', zone: list.zone };
    return { kind: 'error', zone: list.zone, error: code ?? (e as Error).message };
  }
}

/** Every list at once; answers in the configured order. */
export function queryLists(lookup: LookupFn, ip: string, lists: DnsListConfig[]): Promise<ListAnswer[]> {
  return Promise.all(lists.map((l) => queryList(lookup, ip, l)));
}
