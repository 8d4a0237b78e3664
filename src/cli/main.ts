import { existsSync } from 'node:fs';
import { delimiter, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { QuittanceError } from '../errors.js';
import { createServices, startServer, type Services } from '../server/index.js';
import { postgresLedgerExists, redactDatabaseUrl } from '../store/postgres/index.js';
import { SQLITE_FILE_NAME, sqliteFileFor, sqliteLedgerExists } from '../store/sqlite/index.js';
import { checkKeyLabel, checkTenantName, parseScopes, type Scope } from '../tenants/keys.js';
import { processIo, progress, type CliIo } from './io.js';
import { runGitState } from './git-state.js';
import { runKeysRotate } from '../stamps/cli.js';
import { runValidate } from './validate.js';
import { quotedOneLine, shownOneLine } from '../text.js';
import { WorkspaceRoots } from '../workspace/roots.js';

/** pino's levels (Fastify's logger), quietest last: any other QUITTANCE_LOG_LEVEL would fail the start after the store opened. */
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

const USAGE = `Usage: quittance <command> [options]

Commands:
  serve [--host 127.0.0.1] [--port 7349] [--data DIR | --db URL] [--locatability lenient|strict]
        [--workspace-root DIR ...]
                                      run the HTTP server (SQLite under DIR, default ./.quittance;
                                      or PostgreSQL at URL, postgres://..., shared by any number of servers);
                                      POST /v1/workspace/git-state classifies only paths under a
                                      --workspace-root (repeat it for several; none: the route is off)
  tenant create NAME [--data DIR | --db URL] [--json]
                                      create a tenant and print its first admin API key
  key create --tenant NAME --scopes read,write[,admin] [--label TEXT] [--data DIR | --db URL] [--json]
                                      create an API key for a tenant
  key list --tenant NAME [--data DIR | --db URL] [--json]
                                      the tenant's API keys: id, scopes, label, created, revoked (never secrets)
  key revoke KEY_ID [--tenant NAME] [--data DIR | --db URL] [--json]
                                      revoke a key (KEY_ID as key list shows it; the API key itself,
                                      qk_KEY_ID.SECRET, or qk_KEY_ID name the same key);
                                      servers refuse it within apiKeyCacheMs (1 s by default); revoking it
                                      again changes nothing. With --tenant, another tenant's key is not found
  verify [--data DIR | --db URL] [--json]
                                      re-hash every tenant's chain; exit 1 naming the first bad seq
  keys rotate [--data DIR | --db URL] [--json]
                                      rotate the stamp signing key (old tokens verify until their stamps end)
  validate FILE|DIR ... [--schema TYPE] [--json]
                                      check documents against the contracts' JSON Schemas and rules
                                      (exit 0 valid, 1 invalid, 2 unreadable)
  git-state PATH [--operation OP] [--command-class C] [--no-git] [--json]
                                      classify a path before running Git there (no git process is spawned)

Environment: QUITTANCE_DATA_DIR, QUITTANCE_DATABASE_URL, QUITTANCE_HOST, QUITTANCE_PORT, QUITTANCE_LOCATABILITY,
QUITTANCE_WORKSPACE_ROOTS (folders separated by "${delimiter}", like PATH),
QUITTANCE_LOG_LEVEL (${LOG_LEVELS.join(', ')}; default info).
A flag beats its variable; a variable set to "" counts as unset.
`;

type Command = (args: string[], io: CliIo) => Promise<number>;

/** Commands that answer --help with their own, more detailed usage. */
const OWN_HELP = new Set(['validate', 'git-state']);
/**
 * How often `quittance serve` checkpoints an SQLite WAL from its checkpoint thread (see WalCheckpointer). Small
 * checkpoints: a checkpoint ends with an fsync of the database file, and commits' WAL fsyncs wait behind it
 * (batch appends' p99 in alternating runs: every 500 ms 95–111 ms, 1,000 ms 91–125, 2,500 ms 172, 250 ms 58–86,
 * against 78–103 ms with checkpoints left to the commits).
 */
const SERVER_WAL_CHECKPOINT_MS = 250;

const COMMANDS: Record<string, Command> = {
  serve,
  'tenant create': tenantCreate,
  'key create': keyCreate,
  'key list': keyList,
  'key revoke': keyRevoke,
  verify,
  'keys rotate': keysRotate,
  'git-state': (args, io) => runGitState(args, io),
  validate: (args, io) => runValidate(args, { stdout: io.stdout, stderr: io.stderr, isTTY: io.isTTY }),
};

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const [a, b] = argv;
  const two = `${a} ${b}`;
  const command = COMMANDS[two] ? two : a && COMMANDS[a] ? a : undefined;
  const help = argv.includes('--help') || argv.includes('-h');
  if (!command) {
    // No command: the overview, on stdout when asked for (or when there are no arguments), else as a usage error.
    const asked = help || a === undefined;
    (asked ? io.stdout : io.stderr).write(USAGE);
    return asked ? 0 : 2;
  }
  // Commands with a usage of their own print it; the others answer --help with the overview.
  if (help && !OWN_HELP.has(command)) {
    io.stdout.write(USAGE);
    return 0;
  }
  const rest = argv.slice(command.split(' ').length);
  try {
    return await COMMANDS[command]!(rest, io);
  } catch (e) {
    if (e instanceof QuittanceError) {
      io.stderr.write(`quittance: ${e.code}: ${e.message}\n`);
      return e.statusCode >= 500 ? 2 : 1;
    }
    if ((e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`quittance: ${(e as Error).message}\n\n${USAGE}`);
      return 2;
    }
    throw e;
  }
}

function args<T extends NonNullable<ParseArgsConfig['options']>>(argv: string[], options: T, allowPositionals = false) {
  return parseArgs({ args: argv, options, allowPositionals, strict: true });
}

type Storage = { dataDir: string } | { databaseUrl: string };

/** A bad option value: main prints the message and the usage, and exits 2. */
function usageError(message: string): Error {
  return Object.assign(new Error(message), { code: 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' });
}

/**
 * Runs `check` on an argument's value before anything is opened. A coded error it throws (an unknown scope, say)
 * is a usage error: printed with its code, exit 2. Undefined when the value is fine.
 */
function badArgument(io: CliIo, check: () => void): number | undefined {
  try {
    check();
    return undefined;
  } catch (e) {
    if (!(e instanceof QuittanceError)) throw e;
    io.stderr.write(`quittance: ${e.code}: ${e.message}\n`);
    return 2;
  }
}

/**
 * A QUITTANCE_* environment variable. Set but empty means unset, as with most tools: an empty QUITTANCE_HOST must
 * not mean every interface, nor an empty QUITTANCE_DATA_DIR the working folder itself.
 */
function setting(io: CliIo, name: string): string | undefined {
  return io.env[name] || undefined;
}

/** Where the ledger lives: --db / QUITTANCE_DATABASE_URL (PostgreSQL) or --data / QUITTANCE_DATA_DIR (SQLite); a flag beats the environment. */
function storage(v: { data?: string | undefined; db?: string | undefined }, io: CliIo): Storage {
  if (v.data !== undefined && v.db !== undefined) throw usageError('--data and --db name two different ledgers: give one of them');
  if (v.data === '') throw usageError('--data takes a folder (the default is ./.quittance), not ""');
  const url = v.db ?? (v.data === undefined ? setting(io, 'QUITTANCE_DATABASE_URL') : undefined);
  if (url === undefined) return { dataDir: v.data ?? setting(io, 'QUITTANCE_DATA_DIR') ?? '.quittance' };
  if (!/^postgres(ql)?:\/\//.test(url)) throw usageError(`--db takes a postgres:// URL, not ${JSON.stringify(url)}`);
  return { databaseUrl: url };
}

/**
 * Folders POST /v1/workspace/git-state may classify under: every --workspace-root (one folder each, so any folder
 * name works), else QUITTANCE_WORKSPACE_ROOTS split like PATH; a flag beats the environment. Relative folders are
 * taken from the working folder the server starts in.
 */
function workspaceRoots(flags: string[] | undefined, io: CliIo): string[] {
  // resolve('') is the working folder: an empty flag (an unset variable in a script) must not open it to every key.
  if (flags?.includes('')) throw usageError('--workspace-root takes a folder, not ""');
  const given = flags ?? (setting(io, 'QUITTANCE_WORKSPACE_ROOTS') ?? '').split(delimiter).filter((r) => r !== '');
  return given.map((r) => resolve(r));
}

function describeStorage(s: Storage): string {
  return 'databaseUrl' in s ? `postgres: ${redactDatabaseUrl(s.databaseUrl)}` : `sqlite: ${s.dataDir}`;
}

async function serve(argv: string[], io: CliIo): Promise<number> {
  const { values } = args(argv, {
    host: { type: 'string' }, port: { type: 'string' }, data: { type: 'string' }, db: { type: 'string' }, locatability: { type: 'string' },
    'workspace-root': { type: 'string', multiple: true },
  });
  // An empty host is every interface to Node's listen: as a flag (an unset variable in a script) it is refused.
  if (values.host === '') throw usageError('--host takes a host name or address (the default is 127.0.0.1; 0.0.0.0 or :: for every interface), not ""');
  const host = values.host ?? setting(io, 'QUITTANCE_HOST') ?? '127.0.0.1';
  const portText = values.port ?? setting(io, 'QUITTANCE_PORT') ?? '7349';
  // Checked before anything opens: a bad port or log level must not leave a new ledger behind.
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw usageError(`${values.port !== undefined ? '--port' : 'QUITTANCE_PORT'} takes a port number from 0 to 65535, not ${JSON.stringify(portText)}`);
  }
  const port = Number(portText);
  const logLevel = setting(io, 'QUITTANCE_LOG_LEVEL') ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw usageError(`QUITTANCE_LOG_LEVEL takes one of ${LOG_LEVELS.join(', ')}, not ${JSON.stringify(logLevel)}`);
  const locatability = (values.locatability ?? setting(io, 'QUITTANCE_LOCATABILITY') ?? 'lenient') as 'lenient' | 'strict';
  const allowedRoots = workspaceRoots(values['workspace-root'], io);
  new WorkspaceRoots(allowedRoots); // a root that is not a folder stops the start here, before anything is created
  const where = storage(values, io);
  // A server writes for as long as it runs: its WAL is checkpointed by a thread, off the event loop.
  const services = createServices({ ...where, checkpointIntervalMs: SERVER_WAL_CHECKPOINT_MS, config: { locatability, workspace: { allowedRoots } } });

  // Reach the database before listening: one that cannot be reached stopped the start only after Fastify had
  // printed "Server listening at …". (SQLite's file is open already.)
  try {
    await services.store.schemaVersion();
  } catch (e) {
    await services.store.close();
    const why = services.store.unreachable(e);
    if (why === undefined) throw e;
    io.stderr.write(`quittance: cannot reach the database (${why}): ${(e as Error).message}\n`);
    return 2;
  }

  // Listen first: a start that cannot bind creates nothing, so no "shown once" key is printed by a server that
  // then fails to start.
  let server: Awaited<ReturnType<typeof startServer>>;
  try {
    server = await startServer({ services, host, port, logger: { level: logLevel } });
  } catch (e) {
    await services.store.close();
    const code = (e as { code?: string }).code;
    // A host name that does not resolve (ENOTFOUND; EAI_AGAIN without DNS) is an address to choose again, too.
    if (!['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL', 'ENOTFOUND', 'EAI_AGAIN'].includes(code ?? '')) throw e;
    io.stderr.write(`quittance: cannot listen on ${host}:${port} (${code}): ${(e as Error).message}\n`
      + 'Choose another address with --port N / --host H (or QUITTANCE_PORT / QUITTANCE_HOST).\n');
    return 2;
  }
  try {
    // Tenant "default" and its key are made in one transaction, so another server starting on the same database
    // sees both or neither. A database from before that (whose first start stopped between the two writes) may hold
    // a "default" no key opens: a later start makes the key. A key, once made, is never deleted (revoked ones are
    // listed), so an empty list means no key was ever printed.
    const tenants = await services.store.listTenants();
    if (tenants.length === 0) {
      const made = await services.tenants.createTenantWithKey('default', ['admin'], 'created on first start');
      io.stdout.write(`Created tenant "default". Its admin API key (shown once, keep it):\n  ${made.api_key}\n`);
    }
    const keyless = tenants.find((t) => t.name === 'default');
    if (keyless !== undefined && (await services.tenants.listKeys(keyless.tenant_id)).length === 0) {
      const key = await services.tenants.createKey(keyless.tenant_id, ['admin'], 'created on first start');
      io.stdout.write(`Tenant "default" had no API key (its first start stopped before making one). Its admin API key (shown once, keep it):\n  ${key.api_key}\n`);
    }
  } catch (e) {
    // Another server sharing the database created it first: it printed the key.
    if (!(e instanceof QuittanceError && e.code === 'QUITTANCE_ERR_TENANT_EXISTS')) {
      await server.close();
      throw e;
    }
  }
  if (allowedRoots.length > 0) io.stdout.write(`POST /v1/workspace/git-state classifies paths under: ${allowedRoots.join(', ')}\n`);
  io.stdout.write(`Quittance listening on ${server.url} (${describeStorage(where)})\n`);

  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
}

/**
 * Opens the ledger that --data / --db (or the environment) names for one command, and closes it however it ends.
 * Only `create` commands may start a new ledger: any other, given a folder or a database schema that holds none
 * (a mistyped --data or --db, say), would create an empty one there and answer from it, and `quittance verify`
 * would pass.
 */
async function withLedger(values: { data?: string | undefined; db?: string | undefined }, io: CliIo, run: (s: Services) => Promise<number>, create = false): Promise<number> {
  const where = storage(values, io);
  const missing = create ? undefined : await missingLedger(where);
  if (missing !== undefined) {
    io.stderr.write(`quittance: no ledger in ${missing}, or create one with \`quittance serve\` or \`quittance tenant create\`\n`);
    return 2;
  }
  const s = createServices(where);
  try {
    return await run(s);
  } finally {
    await s.store.close();
  }
}

/** Where a ledger was looked for and not found, and which option names it; undefined when there is one. */
async function missingLedger(where: Storage): Promise<string | undefined> {
  if ('dataDir' in where) {
    const file = sqliteFileFor({ dataDir: where.dataDir });
    if (!existsSync(file)) return `${resolve(where.dataDir)} (no ${SQLITE_FILE_NAME}): check --data`;
    return sqliteLedgerExists(file) ? undefined : `${resolve(where.dataDir)} (${SQLITE_FILE_NAME} holds none): check --data`;
  }
  return (await postgresLedgerExists(where.databaseUrl)) ? undefined : `${redactDatabaseUrl(where.databaseUrl)} (no schema_migrations table on its search_path): check --db`;
}

/** The one positional argument a command takes, or undefined once the usage error is printed. */
function onePositional(positionals: string[], usage: string, io: CliIo): string | undefined {
  if (positionals.length === 1 && positionals[0]) return positionals[0];
  io.stderr.write(`quittance: ${usage}\n`);
  return undefined;
}

async function tenantCreate(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = args(argv, { data: { type: 'string' }, db: { type: 'string' }, json: { type: 'boolean' } }, true);
  const name = onePositional(positionals, 'tenant create takes exactly one NAME', io);
  if (name === undefined) return 2;
  const bad = badArgument(io, () => checkTenantName(name));
  if (bad !== undefined) return bad;
  return withLedger(values, io, async (s) => {
    const { tenant, ...key } = await s.tenants.createTenantWithKey(name, ['admin'], 'created with the tenant');
    if (values.json) io.stdout.write(JSON.stringify({ tenant_id: tenant.tenant_id, api_key: key.api_key }) + '\n');
    else io.stdout.write(`Created tenant "${name}" (${tenant.tenant_id}). Admin API key (shown once):\n  ${key.api_key}\n`);
    return 0;
  }, true);
}

async function keyCreate(argv: string[], io: CliIo): Promise<number> {
  const { values } = args(argv, {
    tenant: { type: 'string' }, scopes: { type: 'string' }, label: { type: 'string' }, data: { type: 'string' }, db: { type: 'string' }, json: { type: 'boolean' },
  });
  const tenantName = values.tenant;
  if (!tenantName || !values.scopes) {
    io.stderr.write('quittance: key create needs --tenant NAME and --scopes read,write,admin\n');
    return 2;
  }
  let scopes: Scope[] = [];
  const bad = badArgument(io, () => {
    scopes = parseScopes(values.scopes!);
    checkKeyLabel(values.label ?? null);
  });
  if (bad !== undefined) return bad;
  // "," or " " parses to no scope at all: such a key would be refused (403) on every route.
  if (scopes.length === 0) {
    io.stderr.write(`quittance: --scopes names no scope (${JSON.stringify(values.scopes)}): give read, write and/or admin, e.g. --scopes read,write\n`);
    return 2;
  }
  return withLedger(values, io, async (s) => {
    const tenant = await s.tenants.tenantByName(tenantName);
    const key = await s.tenants.createKey(tenant.tenant_id, scopes, values.label ?? null);
    const out = { tenant_id: tenant.tenant_id, key_id: key.key_id, scopes, api_key: key.api_key };
    if (values.json) io.stdout.write(JSON.stringify(out) + '\n');
    else io.stdout.write(`Created key ${key.key_id} for tenant "${tenantName}" with scopes ${scopes.join(',')} (shown once):\n  ${key.api_key}\n`);
    return 0;
  });
}

async function keyList(argv: string[], io: CliIo): Promise<number> {
  const { values } = args(argv, { tenant: { type: 'string' }, data: { type: 'string' }, db: { type: 'string' }, json: { type: 'boolean' } });
  const tenantName = values.tenant;
  if (!tenantName) {
    io.stderr.write('quittance: key list needs --tenant NAME\n');
    return 2;
  }
  return withLedger(values, io, async (s) => {
    const tenant = await s.tenants.tenantByName(tenantName);
    // Picked field by field: what is shown stays these five, whatever the stored row grows.
    const keys = (await s.tenants.listKeys(tenant.tenant_id)).map((k) => ({
      key_id: k.key_id, scopes: k.scopes, label: k.label, created_at: k.created_at, revoked_at: k.revoked_at,
    }));
    if (values.json) {
      io.stdout.write(JSON.stringify(keys) + '\n');
    } else {
      for (const k of keys) {
        const state = k.revoked_at === null ? 'active' : `revoked ${k.revoked_at}`;
        // The label is quoted (JSON) so that whatever it holds, a key stays one line.
        const label = k.label === null ? '' : `  label ${quotedOneLine(k.label)}`;
        io.stdout.write(`${k.key_id}  ${k.scopes.join(',').padEnd(16)}  created ${k.created_at}  ${state.padEnd(32)}${label}`.trimEnd() + '\n');
      }
      if (keys.length === 0) io.stdout.write(`tenant "${tenantName}" has no API keys\n`);
    }
    return 0;
  });
}

/**
 * An API key as an operator holding a leaked one has it, `qk_<key_id>.<secret>`, or its part before the dot: the key
 * id is the 16 characters after `qk_`. Neither form is itself a key id (those are 16 characters), so no id is misread.
 */
const API_KEY_FORM = /^qk_([A-Za-z0-9_-]{16})(?:\..*)?$/s;

async function keyRevoke(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = args(argv, { tenant: { type: 'string' }, data: { type: 'string' }, db: { type: 'string' }, json: { type: 'boolean' } }, true);
  const given = onePositional(positionals, 'key revoke takes exactly one KEY_ID', io);
  if (given === undefined) return 2;
  const keyId = API_KEY_FORM.exec(given)?.[1] ?? given;
  return withLedger(values, io, async (s) => {
    const onlyTenant = values.tenant === undefined ? undefined : (await s.tenants.tenantByName(values.tenant)).tenant_id;
    const { key, revokedNow } = await s.tenants.revokeKey(keyId, onlyTenant);
    if (values.json) {
      io.stdout.write(JSON.stringify({ key_id: key.key_id, tenant_id: key.tenant_id, revoked_at: key.revoked_at, already_revoked: !revokedNow }) + '\n');
    } else {
      const name = shownOneLine((await s.store.tenantById(key.tenant_id))?.name ?? key.tenant_id);
      io.stdout.write(revokedNow
        ? `Revoked key ${key.key_id} of tenant "${name}" at ${key.revoked_at}; running servers refuse it within their key cache time.\n`
        : `Key ${key.key_id} of tenant "${name}" was already revoked at ${key.revoked_at}; nothing changed.\n`);
    }
    return 0;
  });
}

async function keysRotate(argv: string[], io: CliIo): Promise<number> {
  const { values } = args(argv, { data: { type: 'string' }, db: { type: 'string' }, json: { type: 'boolean' } });
  return withLedger(values, io, async (s) => {
    return await runKeysRotate(s, io, values.json === true);
  });
}

async function verify(argv: string[], io: CliIo): Promise<number> {
  const { values } = args(argv, { data: { type: 'string' }, db: { type: 'string' }, json: { type: 'boolean' } });
  return withLedger(values, io, async (s) => {
    const results = [];
    const check = async (tenantId: string, label: string) => {
      const bar = progress(io, `verifying ${shownOneLine(label)}`);
      const r = await s.ledger.verify(tenantId, (done, total) => bar.update(done, total), { offline: true });
      bar.end();
      return r;
    };
    const tenants = await s.store.listTenants();
    for (const t of tenants) results.push({ tenant: t.name as string | null, ...(await check(t.tenant_id, t.name)) });
    // A chain whose tenants row is gone is checked too, and is itself a defect: deleting the row must not hide it.
    const named = new Set(tenants.map((t) => t.tenant_id));
    for (const id of (await s.store.ledgerTenantIds()).filter((id) => !named.has(id))) {
      const r = await check(id, id);
      const missing = 'receipts of a tenant with no tenants row (deleted?)';
      results.push({ tenant: null, ...r, ok: false, reason: r.ok ? missing : `${missing}; ${r.reason}` });
    }
    const bad = results.filter((r) => !r.ok);
    if (values.json) {
      io.stdout.write(JSON.stringify({ ok: bad.length === 0, tenants: results }) + '\n');
    } else {
      for (const r of results) {
        const at = r.first_bad_seq !== undefined ? `first bad seq ${r.first_bad_seq}: ` : '';
        io.stdout.write(r.ok
          ? `ok    ${shownOneLine(r.tenant!)}: ${r.receipts} receipts, head seq ${r.head_seq}\n`
          : `BROKEN ${r.tenant === null ? '(no tenants row)' : shownOneLine(r.tenant)} (${r.tenant_id}): ${at}${r.reason}\n`);
      }
      if (results.length === 0) io.stdout.write('no tenants\n');
    }
    return bad.length === 0 ? 0 : 1;
  });
}
