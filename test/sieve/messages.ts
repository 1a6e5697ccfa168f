/**
 * Messages the Sieve tests run scripts on, each with the envelope it arrives with: a plain
 * note, a multipart list message (QP text, base64 HTML, an attachment, two Received fields),
 * and an odd one (groups, repeated fields, 8-bit header, no Message-ID or Date).
 */
export interface TestMessage {
  name: string;
  from: string;
  to: string;
  text: string;
}

function crlf(lines: string[]): string {
  return lines.join('\r\n');
}

export const MESSAGES: TestMessage[] = [
  {
    name: 'plain',
    from: 'alice@example.org',
    to: 'me+lists@example.com',
    text: crlf([
      'Return-Path: <alice@example.org>',
      'Received: from mx.example.org (mx.example.org [192.0.2.1]) by mail.example.com; Tue, 1 Jul 2003 10:52:40 +0200',
      'From: "Alice Example" <alice@example.org>',
      'To: Me <me@example.com>',
      'Cc: bob@example.net, carol@Example.COM',
      'Subject: =?UTF-8?Q?Hello_w=C3=B6rld?= meeting',
      'Message-ID: <plain-1@example.org>',
      'Date: Tue, 1 Jul 2003 10:52:37 +0200',
      'X-Spam-Score: 7.5',
      'X-Virus-Score: 3',
      'X-Number: 42',
      'X-Tag: first',
      'X-Tag: second',
      'X-Tag: third',
      'MIME-Version: 1.0',
      'Content-Type: text/plain; charset=utf-8',
      '',
      'Hi,',
      'the meeting is at noon. Bring the report.',
      '-- ',
      'Alice',
      '',
    ]),
  },
  {
    name: 'list',
    from: 'list-bounces@lists.example.net',
    to: 'me+lists@example.com',
    text: crlf([
      'Received: from a.example.net by b.example.net; Wed, 02 Jul 2003 08:00:00 -0500',
      'Received: from c.example.net by a.example.net; Wed, 02 Jul 2003 07:59:00 -0500',
      'From: Dave <dave@lists.example.net>',
      'To: dev@lists.example.net',
      'Subject: [dev] Release 2.0 PLANNING',
      'List-Id: Developers <dev.lists.example.net>',
      'Precedence: list',
      'Message-ID: <list-2@lists.example.net>',
      'Date: Wed, 02 Jul 2003 13:00:00 +0000',
      'X-Spam-Score: 1',
      'X-Virus-Score: 0',
      'X-Number: 0007',
      'MIME-Version: 1.0',
      'Content-Type: multipart/mixed; boundary="outer"',
      '',
      'This is a multi-part message.',
      '--outer',
      'Content-Type: multipart/alternative; boundary="inner"',
      '',
      '--inner',
      'Content-Type: text/plain; charset=iso-8859-1',
      'Content-Transfer-Encoding: quoted-printable',
      '',
      'Caf=E9 plans for the release: ship on Friday.',
      '--inner',
      'Content-Type: text/html; charset=utf-8',
      'Content-Transfer-Encoding: base64',
      '',
      Buffer.from('<html><body><b>Caf\u00e9</b> plans: ship on Friday.</body></html>').toString('base64'),
      '--inner--',
      '--outer',
      'Content-Type: application/pdf; name="plan.pdf"',
      'Content-Disposition: attachment; filename="plan.pdf"',
      'Content-Transfer-Encoding: base64',
      '',
      'JVBERi0xLjQKc2VjcmV0IHBsYW4K',
      '--outer--',
      '',
    ]),
  },
  {
    name: 'odd',
    from: 'bob@example.net',
    to: 'me@example.com',
    text: crlf([
      'From: bob@example.net (Bob)',
      'To: friends: me@example.com, "Zed Q" <zed@example.org>;, MAILER-DAEMON@example.com',
      'Subject: R\u00e9union',
      'X-Tag: alpha',
      'X-Tag: beta',
      'X-Empty:',
      'X-Number: abc',
      'Auto-Submitted: auto-generated',
      '',
      'short',
      '',
    ]),
  },
];
