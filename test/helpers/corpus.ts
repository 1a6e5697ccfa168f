/**
 * The shared IMAP/MIME corpus (messages, Dovecot's recorded answers, replay.py), found one way
 * for tests and benches: $CORREO_CORPUS when set, else `../shared/corpus` beside the checkout.
 * No machine's absolute path is written anywhere; without the corpus, what needs it is skipped
 * (tests) or refused (benches) with this reason.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** `../shared/corpus` beside the checkout (this file runs from dist/test/helpers/). */
const BESIDE = fileURLToPath(new URL('../../../../shared/corpus', import.meta.url));

/** Where the corpus is looked for. */
export const CORPUS_DIR = process.env.CORREO_CORPUS || BESIDE;

/** Why the corpus cannot be used here, or false when it can (its manifest is there). */
export const corpusMissing: string | false = existsSync(`${CORPUS_DIR}/manifest.json`)
  ? false
  : `needs the corpus: no manifest.json in ${CORPUS_DIR} (put the corpus at ../shared/corpus beside the checkout, or set CORREO_CORPUS)`;
