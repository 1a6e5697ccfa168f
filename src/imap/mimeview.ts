import type { Session } from './session.js';
import type { ViewMessage } from './selected.js';
import type { Section } from './commands/fetch.js';
import type { Value } from './writer.js';
import { no } from './errors.js';
import { headerEnd } from './message.js';

/** The octets of one part, and whether its transfer encoding could not be undone (BINARY). */
export interface PartBytes {
  bytes: Buffer;
  unknownCte?: boolean;
}

/**
 * FETCH items that need the message's MIME structure (ENVELOPE, BODY, BODYSTRUCTURE,
 * BODY[part], BINARY[part]). They come from src/mime's tree, parsed once at delivery.
 * Until that module is in the tree, only what needs no MIME parse is answered: part 1 of a
 * message is its body, 1.MIME its header (RFC 9051 6.4.5 for non-multipart messages).
 */
export async function bodyPart(_s: Session, _m: ViewMessage, raw: Buffer, sec: Section, binary: boolean): Promise<PartBytes | null> {
  if (sec.part.length === 1 && sec.part[0] === 1 && !binary && !isMultipart(raw)) {
    const he = headerEnd(raw);
    if (sec.text === '' || sec.text === 'TEXT') return { bytes: raw.subarray(he) };
    if (sec.text === 'MIME' || sec.text === 'HEADER') return { bytes: raw.subarray(0, he) };
  }
  throw no('this part of the message cannot be served yet (MIME index missing)', 'CANNOT');
}

function isMultipart(raw: Buffer): boolean {
  const h = raw.subarray(0, headerEnd(raw)).toString('latin1');
  return /^content-type:\s*multipart\//im.test(h);
}

export async function envelopeOf(_s: Session, _m: ViewMessage, _raw: Buffer): Promise<Value> {
  throw no('ENVELOPE is not available yet (MIME index missing)', 'CANNOT');
}

export async function structureOf(_s: Session, _m: ViewMessage, _raw: Buffer, _ext: boolean): Promise<Value> {
  throw no('BODYSTRUCTURE is not available yet (MIME index missing)', 'CANNOT');
}
