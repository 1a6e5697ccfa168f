import type { Config } from '../config/types.js';
import { openConfiguredStore } from '../store/configured.js';
import type { Stores } from '../store/open.js';

/** The CLI's store: on SQLite, writes on this thread (a writer thread would cost more than a few writes save). */
export function openCliStore(cfg: Config): Promise<Stores> {
  return openConfiguredStore(cfg, { writer: 'inline' });
}
