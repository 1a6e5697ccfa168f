import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/config/errors.js';
import { starterConfig } from '../../src/cli/init.js';

function withFile(text: string, fn: (file: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'correo-cfg-'));
  try {
    const f = join(dir, 'correo.toml');
    writeFileSync(f, text);
    fn(f);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Asserts loading fails with FILE:LINE and a message matching `re`. */
function failsAt(text: string, line: number, re: RegExp): void {
  withFile(text, (f) => {
    assert.throws(() => loadConfig(f), (e: unknown) => {
      assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${e}`);
      assert.equal(e.file, f);
      assert.equal(e.line, line, `line of: ${e.message}`);
      assert.match(e.message, re);
      assert.ok(e.message.startsWith(`${f}:${line}: `));
      return true;
    });
  });
}

test('the issue\'s example config loads with every value in place', () => {
  withFile(`hostname = "mail.example.test"
data_dir = "./data"
domains  = ["example.test"]
admins   = ["admin@example.test"]
[smtp]
listen = ["127.0.0.1:25"]
max_message_size = 26214400
[submission]
listen = ["127.0.0.1:587"]
listen_tls = ["127.0.0.1:465"]
[imap]
listen = ["127.0.0.1:143"]
listen_tls = ["127.0.0.1:993"]
[pop3]
listen = ["127.0.0.1:110"]
listen_tls = ["127.0.0.1:995"]
[tls]
cert = "/etc/correo/cert.pem"
key  = "/etc/correo/key.pem"
[log]
level = 9
file  = "/var/log/correo/mail.log"
[maps]
aliases = "/etc/correo/aliases"
[dns]
servers = ["127.0.0.1:5353"]
`, (f) => {
    const c = loadConfig(f);
    assert.equal(c.hostname, 'mail.example.test');
    assert.deepEqual(c.domains, ['example.test']);
    assert.deepEqual(c.smtp.listen.map((l) => [l.host, l.port]), [['127.0.0.1', 25]]);
    assert.deepEqual(c.pop3.listen_tls.map((l) => l.port), [995]);
    assert.equal(c.tls.cert, '/etc/correo/cert.pem');
    assert.equal(c.tls.self_signed, false);
    assert.equal(c.log.level, 9);
    assert.equal(c.maps.aliases, '/etc/correo/aliases');
    assert.deepEqual(c.dns.servers, ['127.0.0.1:5353']);
    assert.equal(c.data_dir, join(f, '..', 'data'));
  });
});

test('defaults: loopback only (S13), VRFY/EXPN closed (S17), plaintext refused before TLS (S18), self-signed TLS', () => {
  withFile('hostname = "mx.example.test"\n', (f) => {
    const c = loadConfig(f);
    for (const l of [...c.smtp.listen, ...c.submission.listen, ...c.submission.listen_tls, ...c.imap.listen, ...c.imap.listen_tls, ...c.pop3.listen, ...c.pop3.listen_tls]) {
      assert.equal(l.host, '127.0.0.1');
    }
    assert.equal(c.smtp.novrfy, true);
    assert.equal(c.smtp.noexpn, true);
    assert.equal(c.auth.plaintext_without_tls, false);
    assert.equal(c.tls.self_signed, true);
    assert.ok(c.tls.cert.startsWith(c.data_dir));
  });
});

test('the starter file written by "correo init" loads as it is', () => {
  withFile(starterConfig('mail.example.org', 'example.org'), (f) => {
    const c = loadConfig(f);
    assert.equal(c.hostname, 'mail.example.org');
    assert.deepEqual(c.admins, ['admin@example.org']);
  });
});

test('bad input: each mistake is reported as FILE:LINE with what is wrong', () => {
  failsAt('hostname = "a.b"\n\n[smtp]\nlisten = ["127.0.0.1"]\n', 4, /not HOST:PORT/);
  failsAt('hostname = "a.b"\n[smtp]\nlisten = ["127.0.0.1:99999"]\n', 3, /out of range/);
  failsAt('hostname = "a.b"\n[smtp]\nmax_message_size = "big"\n', 3, /whole number/);
  failsAt('hostname = "a.b"\n[smtp]\nmaxsize = 10\n', 3, /unknown setting "maxsize" in \[smtp\]/);
  failsAt('hostname = "a.b"\ncolour = "blue"\n', 2, /unknown setting "colour"/);
  failsAt('hostname = "a.b"\ndomains = ["ok.test", "bad domain"]\n', 2, /not a valid domain/);
  failsAt('hostname = "a.b"\n[log]\nlevel = 150\n', 3, /outside 0..99/);
  failsAt('data_dir = "/tmp/x"\n', 1, /hostname is required/);
  failsAt('hostname = "a.b"\n[tls]\ncert = "/x.pem"\n', 2, /both cert and key/);
  failsAt('hostname = "a.b"\n[smtp\nlisten = []\n', 2, /invalid TOML/);
  failsAt('hostname = "a.b"\n[dns]\nservers = ["dns.example"]\n', 3, /IP address/);
  failsAt('hostname = "a.b"\n[auth]\nplaintext_without_tls = "yes"\n', 3, /true or false/);
});

test('admins must be addresses: "not an address" is refused with FILE:LINE (issue 9 item 12)', () => {
  failsAt('hostname = "a.b"\ndomains = ["example.test"]\nadmins = ["admin@example.test", "not an address"]\n', 3, /admins: "not an address" is not an address \(user@domain\)/);
  failsAt('hostname = "a.b"\n\nadmins = ["root"]\n', 3, /"root" is not an address/);
  failsAt('hostname = "a.b"\nadmins = ["a@bad domain"]\n', 2, /not an address/);
  withFile('hostname = "a.b"\nadmins = ["Admin@Example.TEST"]\n', (f) => assert.deepEqual(loadConfig(f).admins, ['admin@example.test']));
});

test('IMAP limits before login: defaults, and too small values refused (issue 9 item 1)', () => {
  withFile('hostname = "a.b"\n', (f) => {
    const im = loadConfig(f).imap;
    assert.deepEqual([im.max_literal_before_login, im.max_command_before_login, im.max_literals_before_login], [8192, 16384, 8]);
  });
  failsAt('hostname = "a.b"\n[imap]\nmax_literal_before_login = 0\n', 3, /max_literal_before_login/);
  failsAt('hostname = "a.b"\n[imap]\nmax_literals_before_login = 1\n', 3, /max_literals_before_login/);
});
