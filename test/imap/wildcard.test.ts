import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Wildcard } from '../../src/imap/wildcard.js';
import { loggedIn, imapServer } from './client.js';
import { RawSmtp } from '../smtp/client.js';
import type { TestServer } from '../helpers/server.js';

/** RFC 9051 6.3.9: "*" matches anything, "%" anything but the hierarchy separator. */
const CASES: [pattern: string, name: string, match: boolean][] = [
  ['*', 'INBOX', true],
  ['*', 'a/b/c', true],
  ['*', '', true],
  ['%', 'a', true],
  ['%', 'a/b', false],
  ['a/%', 'a/b', true],
  ['a/%', 'a/b/c', false],
  ['a/%', 'a', false],
  ['a/%', 'a/', true],
  ['a*', 'a', true],
  ['a*', 'abc/d/e', true],
  ['a*', 'ba', false],
  ['%/%', 'a/b', true],
  ['%/%', 'a', false],
  ['%/%', 'a/b/c', false],
  ['*/%', 'a/b/c', true],
  ['*/%', 'a', false],
  ['a%c', 'abc', true],
  ['a%c', 'ac', true],
  ['a%c', 'a/c', false],
  ['a*c', 'a/c', true],
  ['x*y%z', 'x/q/yabz', true],
  ['x*y%z', 'x/qy/z', false],
  ['%*', 'a/b', true], // "%*" is "*"
  ['*%', 'a/b', true],
  ['%%', 'a/b', false], // "%%" is "%"
  ['', '', true],
  ['', 'a', false],
  ['a', '', false],
  // Regex metacharacters are plain characters.
  ['a.b', 'axb', false],
  ['a.b', 'a.b', true],
  ['(x)+[y]?$^|\\{1}', '(x)+[y]?$^|\\{1}', true],
  ['.*', 'anything', false],
  // Unicode names (UTF8=ACCEPT or decoded mUTF-7): one character is one character.
  ['Ä%', 'Äpfel', true],
  ['%ü', 'Grüße/ü', false],
  ['?', 'x', false],
  // The attack patterns.
  ['*a*a*a*a*a*b', 'a'.repeat(130), false],
  ['*a*a*a*a*a*b', 'a'.repeat(129) + 'b', true],
  ['%*'.repeat(30000), 'a/b/c', true],
  ['%*'.repeat(30000) + 'x', 'a/b/c', false],
  ['a'.repeat(1000), 'a'.repeat(999), false],
];

test('wildcard: pattern/name table (RFC 9051 6.3.9)', () => {
  for (const [pattern, name, want] of CASES) {
    assert.equal(new Wildcard(pattern, '/').matches(name), want, `${JSON.stringify(pattern.slice(0, 40))} vs ${JSON.stringify(name.slice(0, 40))}`);
  }
});

let srv: TestServer;
before(async () => {
  srv = await imapServer(['usr1@example.test']);
});
after(async () => {
  await srv?.stop();
});

test('wildcard: LIST "*a*a*a*a*a*b" against 300-character names answers, and SMTP greets while it runs', { timeout: 60000 }, async () => {
  const c = await loggedIn(srv);
  try {
    const long = 'a'.repeat(300);
    for (const n of [long, `x/${long}`, `${'a'.repeat(150)}/${'a'.repeat(150)}b`]) assert.match((await c.cmd(`CREATE "${n}"`)).tagged, /OK/);
    // The attack, and a pattern of 30,000 "%*" (it overflowed the regex stack), sent together.
    const t1 = c.nextTag();
    const t2 = c.nextTag();
    c.write(`${t1} LIST "" "*a*a*a*a*a*b"\r\n${t2} LIST "" "${'%*'.repeat(30000)}"\r\n`);
    // Another service on the same event loop: its greeting must not wait for the LIST.
    const smtp = await RawSmtp.connect(srv.ports.smtp);
    try {
      const greet = await smtp.reply(20000);
      assert.equal(greet.code, 220);
    } finally {
      smtp.destroy();
    }
    const r1 = await c.until(t1, 20000);
    assert.match(r1.tagged, new RegExp(`^${t1} OK`));
    assert.deepEqual(r1.untagged, [`* LIST (\\HasNoChildren) "/" ${'a'.repeat(150)}/${'a'.repeat(150)}b`]);
    const r2 = await c.until(t2, 20000);
    assert.match(r2.tagged, new RegExp(`^${t2} OK`));
    const names = r2.untagged.map((l) => l.replace(/^\* LIST \([^)]*\) "\/" /, ''));
    for (const n of ['INBOX', long, `x/${long}`, 'x']) assert.ok(names.includes(n), `${n.slice(0, 20)} listed`);
    // "%" stops at the separator, through the protocol too.
    const r3 = await c.cmd('LIST "" "x/%"');
    assert.deepEqual(r3.untagged, [`* LIST (\\HasNoChildren) "/" x/${long}`]);
    const r4 = await c.cmd('LIST "" "%"');
    assert.ok(!r4.untagged.some((l) => l.includes(`x/${long}`)));
    assert.ok(r4.untagged.some((l) => l.endsWith(' x')));
  } finally {
    c.close();
  }
});
