import type { Config } from '../config/types.js';
import { openStore, type Stores } from '../store/open.js';

/** The CLI's store: writes on this thread (a writer thread would cost more than a few writes save). */
export function openCliStore(cfg: Config): Stores {
  return openStore({ dataDir: cfg.data_dir, writer: 'inline' });
}
