import type { CommandSpec } from '../session.js';
import { capabilities } from '../capabilities.js';
import { bad } from '../errors.js';
import { OTHER_USERS, SEP } from '../names.js';

const ALL = ['not-authenticated', 'authenticated', 'selected'] as const;
const AUTHED = ['authenticated', 'selected'] as const;

/** RFC 9051 6.1: commands valid in any state. */
export const anyState: Record<string, CommandSpec> = {
  CAPABILITY: {
    states: [...ALL],
    async run(s, c) {
      c.args.end();
      s.untagged(`CAPABILITY ${capabilities(s).join(' ')}`);
    },
  },

  // RFC 9051 6.1.2: also the client's way to ask for news (the session announces after each command).
  NOOP: {
    states: [...ALL],
    async run(s, c) {
      c.args.end();
      if (s.selected) s.selected.dirty = true;
    },
  },

  LOGOUT: {
    states: [...ALL],
    async run(s, c) {
      c.args.end();
      s.untagged('BYE Logging out');
      s.write([`${c.tag} OK LOGOUT completed\r\n`]);
      await s.out.flush();
      s.close();
    },
  },

  // RFC 2971
  ID: {
    states: [...ALL],
    async run(s, c) {
      const t = c.args.peek();
      if (t?.kind === 'list') {
        const l = c.args.list('ID parameters');
        const fields: string[] = [];
        while (!l.done) {
          const k = l.nstring('field')?.toString('utf8') ?? '';
          const v = l.nstring('value')?.toString('utf8') ?? 'NIL';
          fields.push(`${k}=${v}`);
        }
        if (fields.length > 60) throw bad('too many ID fields');
        s.log.info(null, `${s.id}: client id ${fields.join(', ').slice(0, 400)}`);
      } else c.args.nstring('ID parameters');
      c.args.end();
      s.untagged('ID ("name" "Correo" "vendor" "Correo")');
    },
  },

  // RFC 5161; RFC 9051 6.3.1 (IMAP4rev2), RFC 7162 (CONDSTORE, QRESYNC), RFC 6855 (UTF8=ACCEPT)
  ENABLE: {
    states: [...AUTHED],
    async run(s, c) {
      const known = ['IMAP4REV2', 'CONDSTORE', 'QRESYNC', 'UTF8=ACCEPT'];
      const done: string[] = [];
      const hadCondstore = s.enabled.has('CONDSTORE');
      if (c.args.done) throw bad('ENABLE needs at least one capability');
      while (!c.args.done) {
        const cap = c.args.keyword('capability');
        if (!known.includes(cap) || s.enabled.has(cap)) continue;
        s.enabled.add(cap);
        done.push(cap === 'IMAP4REV2' ? 'IMAP4rev2' : cap);
        // RFC 7162 3.2.3: enabling QRESYNC implies CONDSTORE.
        if (cap === 'QRESYNC' && !s.enabled.has('CONDSTORE')) s.enabled.add('CONDSTORE');
      }
      s.untagged(`ENABLED${done.map((d) => ' ' + d).join('')}`);
      // RFC 7162 3.1: the first CONDSTORE-enabling command in a selected mailbox reports HIGHESTMODSEQ.
      if (!hadCondstore && s.enabled.has('CONDSTORE') && s.selected) s.untagged(`OK [HIGHESTMODSEQ ${s.selected.highestModSeq}] highest`);
    },
  },

  // RFC 2342 / RFC 9051 6.3.10
  NAMESPACE: {
    states: [...AUTHED],
    async run(s, c) {
      c.args.end();
      s.untagged(`NAMESPACE (("" "${SEP}")) (("${OTHER_USERS}${SEP}" "${SEP}")) NIL`);
    },
  },
};
