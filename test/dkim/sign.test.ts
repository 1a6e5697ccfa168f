import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPrivateKey } from 'node:crypto';
import { dkimSign } from '../../src/dkim/sign.js';
import { relaxedBody, relaxedHeader } from '../../src/dkim/canon.js';
import { dnsRecordValue, generateDkimKey, zoneLine } from '../../src/dkim/keys.js';
import { verifyDkim } from './verify.js';

const MESSAGES = [
  'Received: from x by y; Thu, 1 Jan 2026 00:00:00 +0000\r\nFrom: Ana <ana@example.test>\r\nTo: bob@remote.test\r\nSubject: hola\r\nDate: Thu, 1 Jan 2026 00:00:00 +0000\r\nMessage-ID: <1@example.test>\r\n\r\nHello\r\n',
  // folded headers, odd spacing, trailing blank lines and white space in the body
  'From:   "Ana"\r\n  <ana@example.test>\r\nSubject:\tA  long\r\n\tsubject   \r\nTo: a@b.test,\r\n c@d.test\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n  indented  line \t\r\nñandú\r\n\r\n\r\n',
  // empty body
  'From: ana@example.test\r\nSubject: empty\r\n\r\n',
  // a long h= list and several Received lines
  'Received: a\r\nReceived: b\r\nFrom: ana@example.test\r\nSender: s@example.test\r\nReply-To: r@example.test\r\nCc: c@remote.test\r\nIn-Reply-To: <0@x>\r\nReferences: <0@x>\r\nList-Id: <l.example.test>\r\nContent-ID: <c@x>\r\nSubject: s\r\n\r\nbody without final newline',
];

for (const algorithm of ['rsa', 'ed25519'] as const) {
  test(`${algorithm}: signatures verify with an independent verifier (mailauth), and break when the message changes`, { timeout: 30_000 }, async () => {
    const key = createPrivateKey(generateDkimKey(algorithm));
    const records = { 'sel._domainkey.example.test': dnsRecordValue(key) };
    for (const text of MESSAGES) {
      const msg = Buffer.from(text, 'utf8');
      const sig = dkimSign(msg, { domain: 'example.test', selector: 'sel', privateKey: key });
      assert.match(sig, new RegExp(`^DKIM-Signature: v=1; a=${algorithm}-sha256; c=relaxed/relaxed; d=example\\.test;\\s+s=sel;`));
      assert.ok(sig.split('\r\n').every((l) => l.length <= 78), 'folded lines');
      const signed = Buffer.concat([Buffer.from(sig), msg]);
      const [r] = await verifyDkim(signed, records);
      assert.equal(r.status.result, 'pass', `${JSON.stringify(text.slice(0, 40))}: ${r.status.comment}`);
      assert.equal(r.signingDomain, 'example.test');

      const tampered = Buffer.concat([signed, Buffer.from('one more line\r\n')]);
      const [t] = await verifyDkim(tampered, records);
      assert.notEqual(t.status.result, 'pass', 'a changed body fails');
      const added = Buffer.from(signed.toString('utf8').replace(/^From:/m, 'From: evil@bad.test\r\nFrom:'), 'utf8');
      const [a] = await verifyDkim(added, records);
      assert.notEqual(a.status.result, 'pass', 'a second From (oversigned) fails');
    }
  });
}

test('relaxed canonicalization (RFC 6376 3.4.5 example)', () => {
  assert.equal(relaxedHeader('A: X'), 'a:X\r\n');
  assert.equal(relaxedHeader('B : Y\t\r\n\tZ  '), 'b:Y Z\r\n');
  assert.equal(relaxedBody(Buffer.from(' C \r\nD \t E\r\n\r\n\r\n')).toString(), ' C\r\nD E\r\n');
  assert.equal(relaxedBody(Buffer.from('')).length, 0);
  assert.equal(relaxedBody(Buffer.from('\r\n\r\n')).length, 0);
  assert.equal(relaxedBody(Buffer.from('x')).toString(), 'x\r\n');
});

test('the DNS record: RSA as SubjectPublicKeyInfo, Ed25519 as the raw 32-octet key, cut into 255-octet strings', () => {
  const rsa = dnsRecordValue(createPrivateKey(generateDkimKey('rsa')));
  assert.match(rsa, /^v=DKIM1; k=rsa; p=MIIBIjAN[A-Za-z0-9+/=]+$/);
  const ed = dnsRecordValue(createPrivateKey(generateDkimKey('ed25519')));
  assert.match(ed, /^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
  const line = zoneLine('example.test', 's1', rsa);
  assert.match(line, /^s1\._domainkey\.example\.test\. IN TXT \( "v=DKIM1; k=rsa; p=[^"]{200,}" "[^"]+" \)$/);
  assert.ok(line.match(/"[^"]*"/g)!.every((s) => s.length - 2 <= 255));
});
