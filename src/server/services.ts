import { systemClock, type Clock } from '../clock.js';
import { resolveConfig, type ConfigInput, type QuittanceConfig } from '../config.js';
import { Ledger } from '../ledger/ledger.js';
import type { Store } from '../store/types.js';
import { openSqliteStore } from '../store/sqlite/index.js';
import { PostgresStore } from '../store/postgres/index.js';
import { Tenants } from '../tenants/keys.js';
import { TaskEngine } from '../tasks/engine.js';
import { Stamps } from '../stamps/stamps.js';
import { leaseStamps } from '../stamps/lease.js';
import { Sessions } from '../sessions/engine.js';
import { CapabilityEngine } from '../capabilities/engine.js';
import { AutomationEngine } from '../automation/engine.js';

/** Everything a running Quittance needs, built once and shared by the HTTP layer, the CLI and tests. */
export interface Services {
  config: Readonly<QuittanceConfig>;
  clock: Clock;
  store: Store;
  ledger: Ledger;
  tenants: Tenants;
  tasks: TaskEngine;
  stamps: Stamps;
  sessions: Sessions;
  capabilities: CapabilityEngine;
  automation: AutomationEngine;
}

export interface ServicesOptions {
  /** An already opened store; otherwise PostgreSQL at databaseUrl, or else SQLite under dataDir. */
  store?: Store;
  /** postgres://... : the scale-out backend. Migrations run in the background; the first store call awaits them (and a later call runs them again if PostgreSQL could not be reached). */
  databaseUrl?: string;
  dataDir?: string;
  /** SQLite under dataDir: checkpoint the WAL from a thread this often (SqliteStoreOptions.checkpointIntervalMs). */
  checkpointIntervalMs?: number;
  config?: ConfigInput;
  clock?: Clock;
}

export function createServices(options: ServicesOptions = {}): Services {
  const config = resolveConfig(options.config);
  const clock = options.clock ?? systemClock;
  const store = options.store
    ?? (options.databaseUrl !== undefined
      ? new PostgresStore({ connectionString: options.databaseUrl, groupCommitMaxOps: config.groupCommitMaxOps })
      : openSqliteStore({
        dataDir: options.dataDir ?? '.quittance', groupCommitMaxOps: config.groupCommitMaxOps, checkpointIntervalMs: options.checkpointIntervalMs,
      }));
  const ledger = new Ledger(store, config, clock);
  const capabilities = new CapabilityEngine(ledger);
  const tasks = new TaskEngine(ledger);
  const stamps = new Stamps(ledger);
  // Every lease gets a stamp; the gate tombstones it when the lease ends (DESIGN §6).
  tasks.stamps = leaseStamps(stamps, config);
  return {
    config,
    clock,
    store,
    ledger,
    tenants: new Tenants(store, clock, config.apiKeyCacheMs),
    tasks,
    stamps,
    sessions: new Sessions(ledger),
    capabilities,
    // Registers itself with capabilities: sessions end when their capability leaves enabled.
    automation: new AutomationEngine(ledger, capabilities),
  };
}
