import type { Config } from '../config/types.js';
import type { Logger } from '../log/logger.js';
import { AccessMap, parseAccess } from './access.js';
import { DomainList, parseLocalHostNames, parseRelayDomains } from './domains.js';
import { Virtusertable, parseVirtusertable } from './virtusertable.js';
import { WatchedFile } from './watched.js';

/** The map files of `[maps]` that the policy and recipient resolution read, each re-read on change. */
export interface Maps {
  access: WatchedFile<AccessMap>;
  virtusertable: WatchedFile<Virtusertable>;
  relayDomains: WatchedFile<DomainList>;
  localHostNames: WatchedFile<DomainList>;
}

export function openMaps(config: Config, log: Logger | null): Maps {
  const m = config.maps;
  return {
    access: new WatchedFile('access', m.access, parseAccess, () => new AccessMap(), log),
    virtusertable: new WatchedFile('virtusertable', m.virtusertable, parseVirtusertable, () => new Virtusertable(), log),
    relayDomains: new WatchedFile('relay-domains', m.relay_domains, parseRelayDomains, () => new DomainList(), log),
    localHostNames: new WatchedFile('local-host-names', m.local_host_names, parseLocalHostNames, () => new DomainList(), log),
  };
}
