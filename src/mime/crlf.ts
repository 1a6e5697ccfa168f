/**
 * IMAP sends messages with CRLF line ends and counts RFC822.SIZE and part sizes in those
 * octets (RFC 3501 2.3.4: the size "in the format the server returns it"). A message that
 * arrives with bare LF (APPEND from a careless client, an imported mbox) is therefore stored
 * with CRLF, so that a FETCH is still a slice of the file and every size matches its bytes.
 * Bare CR is left alone: it is data, not a line end.
 */

/** The input itself when it has no bare LF, otherwise a copy with each bare LF made CRLF. */
export function toCrlf(buf: Buffer): Buffer {
  let bare = 0;
  for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) {
    if (i === 0 || buf[i - 1] !== 13) bare++;
  }
  if (bare === 0) return buf;
  const out = Buffer.allocUnsafe(buf.length + bare);
  let o = 0;
  let from = 0;
  for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) {
    if (i === 0 || buf[i - 1] !== 13) {
      o += buf.copy(out, o, from, i);
      out[o++] = 13;
      out[o++] = 10;
      from = i + 1;
    }
  }
  o += buf.copy(out, o, from);
  return out.subarray(0, o);
}
