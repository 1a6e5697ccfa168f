import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { to7bit, quotedPrintable } from '../../src/outbound/eightbit.js';
import { has8bit } from '../../src/outbound/data.js';
import { needs } from '../helpers/peers.js';

/** Python's email package (an independent MIME reader): each leaf part's decoded payload, hex. */
function decodedParts(message: Buffer): string[] {
  const py = `
import sys, email, email.policy
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=email.policy.compat32)
for p in m.walk():
    if p.is_multipart() or p.get_content_type() == 'message/rfc822':
        continue
    print(p.get_content_type(), (p.get_payload(decode=True) or b'').hex())
`;
  return execFileSync('python3', ['-c', py], { input: message }).toString().trim().split('\n');
}

const BINARY = Buffer.from([0, 1, 2, 0xff, 0xfe, 13, 10, 0x80, 0x2e, 13, 10]);
const MIXED = Buffer.concat([
  Buffer.from(
    'From: a@example.test\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\nContent-Transfer-Encoding: 8bit\r\n\r\n' +
      'preamble ñ\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n' +
      'Hola ñandú, = signo, línea con espacio final \r\n.dot line\r\n' + 'x'.repeat(200) + 'é\r\n' +
      '--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: binary\r\n\r\n',
    'utf8',
  ),
  BINARY,
  Buffer.from(
    '\r\n--b1\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<p>café</p>\r\n' +
      '--b1\r\nContent-Type: text/plain\r\n\r\nplain ascii part\r\n--b1--\r\nepilogue\r\n',
    'utf8',
  ),
]);

test('8-bit parts become quoted-printable (text) or base64 (other), and decode to the same octets', needs('python3'), () => {
  const before = decodedParts(MIXED);
  const c = to7bit(MIXED);
  assert.ok(c.ok);
  assert.ok(!has8bit(c.message), 'no 8-bit octet left');
  assert.deepEqual(decodedParts(c.message), before, 'every part decodes to what it was');
  const text = c.message.toString('latin1');
  assert.match(text, /Content-Type: text\/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nHola =C3=B1and=C3=BA, =3D signo/);
  assert.match(text, /Content-Type: application\/octet-stream\r\nContent-Transfer-Encoding: base64\r\n/);
  assert.match(text, /plain ascii part\r\n--b1--\r\nepilogue\r\n$/, 'untouched parts stay as they were');
  assert.ok(text.split('\r\n').every((l) => l.length <= 998), 'line length limit');
});

test('a 7-bit message is returned as it is, and what cannot be converted is 5.6.3', () => {
  const ascii = Buffer.from('Subject: x\r\n\r\nplain\r\n');
  const c = to7bit(ascii);
  assert.ok(c.ok && c.message === ascii);
  const bad = to7bit(Buffer.from('Subject: ñ\r\n\r\nbody é\r\n', 'utf8'));
  assert.ok(!bad.ok && bad.status === '5.6.3');
  const claims = to7bit(Buffer.from('Content-Transfer-Encoding: base64\r\n\r\n\u00ff\r\n', 'latin1'));
  assert.ok(!claims.ok && claims.status === '5.6.3');
});

test('quoted-printable: soft breaks within 76 columns, trailing white space encoded', () => {
  const qp = quotedPrintable(Buffer.from('a'.repeat(100) + ' \r\nb\t', 'latin1')).toString();
  assert.ok(qp.split('\r\n').every((l) => l.length <= 76), qp);
  assert.match(qp, /=20\r\nb=09$/);
});
