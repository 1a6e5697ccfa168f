/**
 * The full-text index (issue 10, "Search that scales"): what the store keeps of each body's
 * decoded text so that IMAP SEARCH reads only the messages that may match.
 *
 * The contract, for every backend (SQLite FTS5 trigram here; PostgreSQL can use pg_trgm):
 * - The caller hands over text already folded by `foldSearch` (src/mime/search-text.ts): the
 *   same fold the IMAP matcher applies to both sides of a comparison. The store only has to
 *   answer "does this column contain this string", as a plain substring test on that text.
 * - The index only narrows. `candidates` returns a SUPERSET of the messages whose text
 *   contains the needles: every message whose body was not indexed completely (not yet, too
 *   long, or failed) is a candidate whatever the query. The IMAP matcher then confirms each
 *   candidate, so a SEARCH answer never depends on the index being up to date.
 * - Text is per body (blob), shared by every message that holds the body, written with the
 *   `blob.text` write op (src/store/batch.ts) in the batch that records the body (IMAP APPEND,
 *   the SMTP fast path) or later by the background indexer; removed with the body's row.
 */

/** The folded text of one body. */
export interface IndexedText {
  /** Every header field of the top-level message, decoded, plus the parsed addresses. */
  header: string;
  /** Part headers and the text of text/* parts (encapsulated messages included). */
  body: string;
  /** False when `header`/`body` hold only a prefix: the body then stays a candidate for every query. */
  complete: boolean;
}

/** Which indexed text a needle must be found in. */
export type TextField = 'header' | 'body' | 'any';

/** A necessary condition on a message's text, from the search keys (src/imap/search.ts). */
export type TextQuery =
  | { k: 'contains'; field: TextField; text: string }
  | { k: 'and' | 'or'; qs: TextQuery[] };

/** Needles shorter than this (in code points, after folding) cannot narrow: a trigram index needs 3. */
export const MIN_NEEDLE = 3;

export interface SearchIndex {
  /**
   * UIDs (ascending) of the messages of `mailboxId` that may satisfy `q`: those whose indexed
   * text satisfies it, and every message whose body is not completely indexed. Each
   * `contains` needle is at least MIN_NEEDLE code points long.
   */
  textCandidates(mailboxId: number, q: TextQuery): Promise<number[]>;
  /** Up to `limit` bodies held by some message and not indexed yet (the background indexer's work). */
  unindexedBodies(limit: number): Promise<{ blobId: string; size: number }[]>;
}
