import type { Command } from './ast.js';
import { addHeader, deleteHeader } from './editheader.js';
import { Return, Stop, type Runtime } from './interpreter.js';
import { isRedirectAddress } from './validate.js';
import { buildVacation } from './vacation.js';
import type { Flags, IncludeLocation } from './types.js';

/** Action and control commands (RFC 5228 3-4 and the extensions); `if` is in interpreter.ts. */
export async function executeCommand(rt: Runtime, c: Command): Promise<void> {
  switch (c.name) {
    case 'require': return;
    case 'stop': throw new Stop();
    case 'return': throw new Return();
    case 'keep': return rt.actions.keep(actionFlags(rt, c), rt.editedMessage());
    case 'discard': return rt.actions.discard();
    case 'fileinto': return fileinto(rt, c);
    case 'redirect': return redirect(rt, c);
    case 'reject':
    case 'ereject':
      return rt.actions.reject(rt.str(c.pos[0]), c.name === 'ereject');
    case 'vacation': return rt.actions.vacation(buildVacation(rt, c));
    case 'set': return setVariable(rt, c);
    case 'setflag':
    case 'addflag':
    case 'removeflag':
      return flagCommand(rt, c);
    case 'include': return include(rt, c);
    case 'global':
      for (const n of rt.list(c.pos[0])) rt.frame.globals.add(n.toLowerCase());
      return;
    case 'addheader': return addHeader(rt, c);
    case 'deleteheader': return deleteHeader(rt, c);
    default: rt.fail(`unknown command "${c.name}"`);
  }
}

function actionFlags(rt: Runtime, c: Command): Flags {
  return c.tags.flags !== undefined ? normalizeFlags(rt.list(c.tags.flags)) : rt.flags.slice();
}

function fileinto(rt: Runtime, c: Command): void {
  const mailbox = rt.str(c.pos[0]);
  // RFC 3501 5.1 names; a NUL or an empty name cannot be a mailbox
  if (mailbox === '' || mailbox.includes('\0') || mailbox.length > 1000) rt.fail(`fileinto: invalid mailbox name "${mailbox.slice(0, 100)}"`);
  rt.actions.fileinto(mailbox, c.tags.copy === true, c.tags.create === true, actionFlags(rt, c), rt.editedMessage());
}

/** RFC 5228 4.2: the address must be a valid RFC 5322 addr-spec. */
function redirect(rt: Runtime, c: Command): void {
  let address = rt.str(c.pos[0]).trim();
  if (!isRedirectAddress(address)) rt.fail(`redirect: invalid address "${address.slice(0, 200)}"`);
  const angle = /^[^<>]*<([^<>]*)>\s*$/.exec(address);
  if (angle !== null) address = angle[1];
  rt.actions.redirect(address, c.tags.copy === true, rt.editedMessage());
}

/** RFC 5229 4: modifiers applied by precedence: case (40), first letter (30), quoting (20), length (10). */
function setVariable(rt: Runtime, c: Command): void {
  const name = rt.str(c.pos[0]);
  let v = rt.str(c.pos[1]);
  if (c.tags.lower === true) v = v.toLowerCase();
  if (c.tags.upper === true) v = v.toUpperCase();
  if (c.tags.lowerfirst === true) v = v.slice(0, 1).toLowerCase() + v.slice(1);
  if (c.tags.upperfirst === true) v = v.slice(0, 1).toUpperCase() + v.slice(1);
  if (c.tags.quotewildcard === true) v = v.replace(/[*?\\]/g, '\\$&');
  if (c.tags.quoteregex === true) v = v.replace(/[*?\\.^$[\](){}|+]/g, '\\$&');
  if (c.tags.length === true) v = String([...v].length);
  rt.setVar(name, v);
}

/** RFC 5232 3: flags are space-separated; names compare case-insensitively. */
export function normalizeFlags(list: string[]): Flags {
  const out: Flags = [];
  for (const item of list) {
    for (const f of item.split(/\s+/)) {
      if (f !== '' && !out.some((g) => g.toLowerCase() === f.toLowerCase())) out.push(f);
    }
  }
  return out;
}

function flagCommand(rt: Runtime, c: Command): void {
  const vars = rt.list(c.pos[0]);
  const given = normalizeFlags(rt.list(c.pos[1]));
  const current = vars.length === 0 ? rt.flags : normalizeFlags([rt.getVar(vars[0]) ?? '']);
  let next: Flags;
  if (c.name === 'setflag') next = given;
  else if (c.name === 'addflag') next = normalizeFlags([...current, ...given]);
  else next = current.filter((f) => !given.some((g) => g.toLowerCase() === f.toLowerCase()));
  if (vars.length === 0) rt.flags = next;
  else rt.setVar(vars[0], next.join(' '));
}

async function include(rt: Runtime, c: Command): Promise<void> {
  const location: IncludeLocation = c.tags.global === true ? 'global' : 'personal';
  await rt.include(rt.str(c.pos[0]), location, c.tags.once === true, c.tags.optional === true);
}
