import type { Session } from './session.js';

/**
 * RFC 7162 3.1: a CONDSTORE-enabling command (SELECT/EXAMINE (CONDSTORE), FETCH MODSEQ or
 * CHANGEDSINCE, SEARCH MODSEQ, STORE UNCHANGEDSINCE, STATUS HIGHESTMODSEQ, ENABLE) turns
 * CONDSTORE on; the first one while a mailbox is selected also reports the mailbox's
 * HIGHESTMODSEQ, for the client had no value to start from (issue 10.6).
 */
export function enableCondstore(s: Session): void {
  if (s.enabled.has('CONDSTORE')) return;
  s.enabled.add('CONDSTORE');
  if (s.selected) s.untagged(`OK [HIGHESTMODSEQ ${s.selected.highestModSeq}] highest`);
}
