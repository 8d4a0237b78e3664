import { systemClock, type Clock } from '../clock.js';
import { resolveConfig, type ConfigInput, type QuittanceConfig } from '../config.js';
import { Ledger } from '../ledger/ledger.js';
import type { Store } from '../store/types.js';
import { openSqliteStore } from '../store/sqlite/index.js';
import { Tenants } from '../tenants/keys.js';
import { TaskEngine } from '../tasks/engine.js';

/** Everything a running Quittance needs, built once and shared by the HTTP layer, the CLI and tests. */
export interface Services {
  config: Readonly<QuittanceConfig>;
  clock: Clock;
  store: Store;
  ledger: Ledger;
  tenants: Tenants;
  tasks: TaskEngine;
}

export interface ServicesOptions {
  /** An already opened store; otherwise SQLite under dataDir. */
  store?: Store;
  dataDir?: string;
  config?: ConfigInput;
  clock?: Clock;
}

export function createServices(options: ServicesOptions = {}): Services {
  const config = resolveConfig(options.config);
  const clock = options.clock ?? systemClock;
  const store = options.store ?? openSqliteStore({ dataDir: options.dataDir ?? '.quittance', groupCommitMaxOps: config.groupCommitMaxOps });
  const ledger = new Ledger(store, config, clock);
  return {
    config,
    clock,
    store,
    ledger,
    tenants: new Tenants(store, clock, config.apiKeyCacheMs),
    tasks: new TaskEngine(ledger),
  };
}
