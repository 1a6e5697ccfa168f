import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { imapServer, PASS } from './client.js';
import { CORPUS_DIR as CORPUS, corpusMissing } from '../helpers/corpus.js';
import { missingPeers } from '../helpers/peers.js';

/**
 * Where Correo's answers differ from the recorded Dovecot ones, each for a reason given in
 * docs/DECISIONS.md ("IMAP" and "MIME"): the RFC wins over Dovecot, or the RFC leaves room.
 * Anything else that differs is a regression.
 */
const KNOWN: Record<string, string> = {
  '011-qp-malformed-sequences.txt': 'BINARY of invalid QP: NO [PARSE] without Dovecot\'s extra untagged FETCH (UID)',
  '014-base64-malformed.txt': 'BINARY of invalid base64: NO [PARSE] without the extra untagged FETCH (UID)',
  '018-cte-unknown-x-uuencode.txt': 'NO [UNKNOWN-CTE] without the extra untagged FETCH (UID)',
  '021-content-type-uppercase.txt': 'MIME: parameter values as written',
  '024-content-type-missing-subtype.txt': 'RFC 2045 5.2: invalid Content-Type is text/plain',
  '025-content-type-garbage.txt': 'RFC 2045 5.2: invalid Content-Type is text/plain',
  '060-rfc2231-filename-utf8.txt': 'RFC 9051 7.5.2: RFC 2231 values decoded',
  '061-rfc2231-encoded-continuations.txt': 'RFC 9051 7.5.2: RFC 2231 values decoded',
  '062-rfc2231-language-tag.txt': 'RFC 9051 7.5.2: RFC 2231 values decoded',
  '063-rfc2231-name-on-content-type.txt': 'RFC 9051 7.5.2: RFC 2231 values decoded',
  '064-rfc2231-both-plain-and-extended.txt': 'RFC 9051 7.5.2: RFC 2231 values decoded',
  '073-mixed-alternative-attachment.txt': 'MIME: the CRLF before a boundary belongs to the boundary (RFC 2046 5.1.1)',
  '074-nested-3-levels.txt': 'MIME: CRLF before a boundary',
  '075-nested-4-levels.txt': 'MIME: CRLF before a boundary',
  '076-nested-5-levels.txt': 'MIME: CRLF before a boundary',
  '077-nested-20-levels.txt': 'MIME: CRLF before a boundary',
  '092-boundary-prefix-collision.txt': 'MIME: CRLF before a boundary',
  '098-multipart-boundary-in-body-text.txt': 'MIME: only whole delimiter lines are boundaries',
  '100-rfc822-attached-multipart.txt': 'MIME: CRLF before a boundary',
  '104-rfc822-nested-in-multipart-in-rfc822.txt': 'MIME: CRLF before a boundary',
  '105-rfc822-base64-encoded.txt': 'MIME: message/rfc822 with base64 CTE',
  '106-rfc822-empty-body.txt': 'MIME: CRLF before a boundary',
  '108-message-global.txt': 'RFC 9051: message/global encapsulates a message like message/rfc822',
  '156-addr-invalid.txt': 'MIME: broken address lists',
  '160-addr-obsolete-syntax.txt': 'RFC 5322 4.4: obsolete dotted local parts are addresses',
  '217-malformed-nested-same-boundary.txt': 'malformed MIME: no RFC result',
  '220-malformed-boundary-too-long.txt': 'malformed MIME: no RFC result',
  'UID SEARCH CHARSET UTF-8 SUBJECT "café"': '137: raw 8-bit header read as windows-1252 when not UTF-8',
  'UID SEARCH CHARSET UTF-8 FROM "José"': '137: raw 8-bit header read as windows-1252',
  'UID SEARCH CHARSET ISO-8859-1 SUBJECT "café"(latin-1 bytes)': '137: raw 8-bit header read as windows-1252',
  'UID SEARCH BODY "quick brown fox"': '24, 25: invalid Content-Type is text/plain (RFC 2045 5.2), so searched',
  'UID SEARCH TEXT "zebra"': '24, 25: invalid Content-Type is text/plain',
  'UID SEARCH SENTBEFORE 1-Jan-2000': '209: 1901 is 1901 (Dovecot wraps at 2^31)',
  'UID SEARCH SENTBEFORE 1-Jan-2025': '209: 1901',
  'UID SEARCH SENTSINCE 1-Jan-2030': '209: 1901',
  'UID SEARCH SENTSINCE 1-Dec-2025': '209: 1901',
  'UID SORT (DATE) UTF-8 ALL': '208 (1970) and 209 (1901) sorted by their dates (corpus README: the RFC wins)',
  'UID SORT (REVERSE DATE) UTF-8 ALL': '208, 209',
  'UID SORT (DATE) UTF-8 HEADER "X-Corpus-Case" "date"': '208, 209',
  'SORT (DATE) UTF-8 ALL': '208, 209',
  'UID THREAD REFERENCES UTF-8 ALL': '208, 209 dated as written',
  'UID THREAD ORDEREDSUBJECT UTF-8 ALL': '208, 209',
  'THREAD REFERENCES UTF-8 ALL': '208, 209',
  'THREAD ORDEREDSUBJECT UTF-8 ALL': '208, 209',
  'UID SORT (FROM) UTF-8 ALL': '160: obsolete dotted local part is an address',
  'UID SORT (SUBJECT) UTF-8 ALL': '49: invalid encoded words stay as written',
  'UID SORT (SUBJECT DATE) UTF-8 ALL': '49',
  'UID THREAD REFS UTF-8 HEADER "X-Corpus-Case" "thread"': 'REFS is a Dovecot draft extension: BAD',
};

test('corpus replay: Correo answers like Dovecot except where docs/DECISIONS.md says why', { timeout: 240000, skip: corpusMissing || missingPeers('python3') }, async () => {
  const srv = await imapServer(['corpus@example.test']);
  const out = mkdtempSync(join(tmpdir(), 'correo-replay-'));
  try {
    const r = await new Promise<{ code: number | null; stdout: string }>((res, rej) => {
      const p = spawn('python3', [join(CORPUS, 'replay.py'), '127.0.0.1', String(srv.ports.imap), 'corpus@example.test', PASS, '--quiet', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      p.stdout.on('data', (d) => (stdout += d));
      p.stderr.on('data', (d) => (stdout += d));
      const t = setTimeout(() => { p.kill('SIGKILL'); rej(new Error(`replay timed out\n${stdout}`)); }, 220000);
      p.on('exit', (code) => { clearTimeout(t); res({ code, stdout }); });
    });
    assert.notEqual(r.code, 2, r.stdout);
    const summary = /summary: (\d+) same, (\d+) differ, (\d+) without/.exec(r.stdout);
    assert.ok(summary, r.stdout);
    const differing = r.stdout.split('\n').filter((l) => / DIFFERS | MISSING/.test(l)).map((l) => l.replace(/\s+(DIFFERS|MISSING).*$/, '').trim());
    const unexpected = differing.filter((d) => !(d in KNOWN));
    assert.deepEqual(unexpected, [], `new differences from Dovecot:\n${r.stdout}`);
    assert.equal(Number(summary[1]) + Number(summary[2]), 340);
    assert.ok(Number(summary[1]) >= 340 - Object.keys(KNOWN).length);
  } finally {
    await srv.stop();
    rmSync(out, { recursive: true, force: true });
  }
});
