/**
 * A gate for agent runtimes: checks a stamp token OFFLINE (signature against the JWKS, state against the signed
 * status list), then records its decision in the ledger, so a trace shows "denied" where there would otherwise
 * be silence. No dependencies beyond node: node:crypto verifies Ed25519, node:zlib unpacks the list.
 *
 *   const gate = new StampGate({ url, apiKey });
 *   const d = await gate.decide(token, 'fs.write');   // verifies, records executed|denied, answers
 *   if (!d.allowed) refuse(d.reason);
 *
 * Freshness: the status list is fetched again once it is `refreshMs` old (default 500 ms, never more than a
 * second), so a tombstone reaches this gate within refreshMs + the server's statusListCacheMs (250 ms) + one
 * round trip. A list older than `maxStalenessMs` (the server is unreachable) is not trusted: every check is denied.
 * Ages are measured from when a list was fetched on this machine's monotonic clock, so neither skew against the
 * server nor a step of the wall clock (NTP setting it back an hour) can make an old list look fresh. Servers behind
 * one load balancer may disagree on the time by up to `maxSkewMs`: which of their lists are taken, and why none
 * reopens a stamp another list closed, is in gate-lists.ts.
 */
import { randomUUID, type KeyObject } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { decodeJws, publicKeyFromJwk, verifyJws, type Ed25519Jwk } from './jws.js';
import { GateLists, type LoadedList } from './gate-lists.js';
import { STATUS_LIST_TYP, StatusBits, type StatusListPayload } from './status-list.js';
import { readClaims, type StampClaims } from './token.js';

export interface GatePrincipal {
  kind: 'agent' | 'worker' | 'service' | 'system' | 'human';
  id: string;
  instance_id?: string;
}

export interface StampGateOptions {
  /** Base URL of a Quittance server, e.g. http://127.0.0.1:7349. */
  url: string;
  /** An API key of the tenant whose stamps this gate checks: read (status list) and write (decisions). */
  apiKey: string;
  /** Refresh the status list once it is this old (ms). Default 500; at most 1000. */
  refreshMs?: number;
  /** Deny everything once the newest status list is this old (ms): the ledger is unreachable. Default 5000. */
  maxStalenessMs?: number;
  /**
   * How far apart the clocks of the ledger's servers may be (ms), default 1000: a list is taken even if its build
   * time is up to this much before that of a list held, and lists that close this near in time are all honoured.
   */
  maxSkewMs?: number;
  /**
   * Longest wait for one request to the ledger (ms), default 2000. A ledger that takes the connection and never
   * answers would otherwise hold every check for minutes (fetch's own limit), not deny it once the list is stale.
   */
  timeoutMs?: number;
  /** Who decides, as recorded in the stamp.event receipts; default the API key. */
  principal?: GatePrincipal;
  fetch?: typeof fetch;
  /** This machine's wall clock in ms, for token expiry. Default Date.now. */
  now?: () => number;
  /**
   * A clock that never steps, in ms, for the ages of the JWKS and status list. Default performance.now, or `now`
   * when only that is given (a test's clock).
   */
  monotonic?: () => number;
}

export type GateReason =
  | 'invalid_token' | 'unknown_key' | 'unknown_stamp' | 'expired' | 'closed' | 'superseded_generation' | 'unknown_generation'
  | 'status_unavailable';

/**
 * Longest status list this gate reads. A list spans the seqs between its tenant's oldest and newest live stamp, so
 * one long-lived stamp under a busy ledger, or many closed stamps, take it far past a token's 16 KB. It comes from
 * the ledger this gate is set up with, is used only once its signature verifies, and unpacks into no more than the
 * size it declares.
 */
const STATUS_LIST_CHARS_MAX = 64 * 1024 * 1024;

/** What decide() sends the ledger to judge in place of a token that is no compact JWS at all: it judges it the same. */
const UNREADABLE_TOKEN = 'unreadable-token';

/** The gate's word for the ledger's inactive_reason about one of the tenant's own stamps. */
const LEDGER_REASONS: Record<string, GateReason> = {
  tombstoned: 'closed', ambiguous: 'closed', expired: 'expired', superseded_generation: 'superseded_generation', unknown_generation: 'unknown_generation',
};

export interface GateDecision {
  allowed: boolean;
  reason?: GateReason;
  /** The stamp the token names; verified only when `claims` is there (a denied forgery names what it claims). */
  stamp_id?: string;
  claims?: StampClaims;
  /** The stamp.event receipt that recorded the decision (decide() only). */
  event_receipt_id?: string;
}

export class StampGate {
  private readonly base: string;
  private readonly refreshMs: number;
  private readonly maxStalenessMs: number;
  private readonly timeoutMs: number;
  private readonly fetch: typeof fetch;
  private readonly now: () => number;
  private readonly monotonic: () => number;
  private keys = new Map<string, KeyObject>();
  private keysAt = -Infinity;
  private readonly lists: GateLists;
  private loadingList: Promise<void> | undefined;
  private loadingKeys: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly options: StampGateOptions) {
    // A bound that is not a number would weaken the rules it sets (NaN compares false: a list never stale, every
    // list within the skew); refused here rather than found out at a check.
    for (const name of ['refreshMs', 'maxStalenessMs', 'maxSkewMs', 'timeoutMs'] as const) {
      const v = options[name];
      if (v !== undefined && !(Number.isFinite(v) && v >= 0)) throw new RangeError(`StampGate ${name} must be a finite number of milliseconds, at least 0, not ${v}`);
    }
    this.base = options.url.replace(/\/+$/, '');
    this.refreshMs = Math.min(options.refreshMs ?? 500, 1000);
    this.maxStalenessMs = options.maxStalenessMs ?? 5000;
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.fetch = options.fetch ?? globalThis.fetch;
    this.now = options.now ?? Date.now;
    this.monotonic = options.monotonic ?? options.now ?? (() => performance.now());
    this.lists = new GateLists(this.maxStalenessMs, options.maxSkewMs ?? 1000);
  }

  /** Keeps the status list warm in the background, so checks do not wait for a fetch. */
  start(): this {
    this.timer ??= setInterval(() => void this.refreshList().catch(() => undefined), this.refreshMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Verifies a token offline. Fetches the JWKS or status list only when they are missing or due. */
  async verify(token: string): Promise<GateDecision> {
    const decoded = decodeJws(token);
    if (!decoded) return { allowed: false, reason: 'invalid_token' };
    // What the token says it is, before anything is verified: a denial names it, as the ledger records it.
    const claimed = typeof decoded.payload['stamp_id'] === 'string' ? { stamp_id: decoded.payload['stamp_id'] } : {};
    let key = this.keys.get(decoded.header.kid);
    if (!key && GateLists.age(this.monotonic(), this.keysAt) >= this.refreshMs) {
      // A ledger that cannot be reached says nothing about the key: denied as unavailable, like a stale list.
      if (!(await this.refreshKeys().then(() => true, () => false))) return { allowed: false, reason: 'status_unavailable', ...claimed };
      key = this.keys.get(decoded.header.kid);
    }
    if (!key) return { allowed: false, reason: 'unknown_key', ...claimed };
    if (!verifyJws(decoded, key)) return { allowed: false, reason: 'invalid_token', ...claimed };
    const claims = readClaims(decoded.payload);
    if (!claims) return { allowed: false, reason: 'invalid_token', ...claimed };
    const known = { stamp_id: claims.stamp_id, claims };
    // Another tenant's token, told by any list this gate has loaded (a list names the gate's tenant, fresh or not).
    const tenant = this.lists.newest?.payload.sub;
    if (tenant !== undefined && claims.tenant !== tenant) return { allowed: false, reason: 'unknown_stamp', ...known };
    if (claims.exp * 1000 <= this.now()) return { allowed: false, reason: 'expired', ...known };

    const list = await this.freshList();
    if (!list) return { allowed: false, reason: 'status_unavailable', ...known };
    if (claims.tenant !== list.payload.sub) return { allowed: false, reason: 'unknown_stamp', ...known };
    let v = this.lists.judge(claims);
    if (v.denied === undefined && v.afterList && GateLists.age(this.monotonic(), list.fetchedAt) >= 50) {
      // Minted after our list was built: one early refresh, so a stamp minted and closed at once is caught.
      await this.refreshList().catch(() => undefined);
      v = this.lists.judge(claims);
    }
    if (v.denied !== undefined) return { allowed: false, reason: v.denied, ...known };
    return { allowed: true, ...known };
  }

  /**
   * Verifies offline and records the decision as a stamp.event (executed or denied). A token whose stamp this
   * gate cannot name (malformed, forged, a key it has not loaded, the JWKS out of reach) is judged by the ledger
   * through introspection with record_action, which records its verdict: that verdict is then the decision, so the
   * answer and the receipt agree (the ledger may already know a key this gate has not fetched).
   *
   * Every decision sent carries an event_id: one whose answer is lost (a reset connection, a timeout, a 5xx) is
   * sent again as it was, with backoff, for up to `timeoutMs`, and the ledger answers the receipt it stored the
   * first time, so the answer agrees with the one receipt (a denial for want of the ledger, `status_unavailable`,
   * is sent once: the ledger is known to be out of reach). A decision the ledger cannot record within that time is
   * still answered: a denial as it was, an allowed action as denied with `status_unavailable`, for it may not run
   * unrecorded. A refusal by the ledger (4xx: an API key without the write scope, say) is a mistake of the set-up
   * and is thrown.
   */
  async decide(token: string, action: string): Promise<GateDecision> {
    const d = await this.verify(token);
    try {
      return await this.record(d, token, action);
    } catch (e) {
      if (!(e instanceof LedgerUnavailable)) throw e;
      const { event_receipt_id: _none, ...decided } = d;
      if (!d.allowed) return decided;
      return { ...decided, allowed: false, reason: 'status_unavailable' };
    }
  }

  /** Has the ledger record the decision `verify` made (or judge and record the token itself); see decide. */
  private async record(d: GateDecision, token: string, action: string): Promise<GateDecision> {
    // Only a stamp known to be this tenant's is reported on from here. Another tenant's (or one whose tenant this
    // gate cannot tell yet: no list loaded) and one the token only claims (unverified) go to the ledger, which
    // judges the token and records the denial in ours, under the claimed stamp when it is one of ours.
    const tenant = this.lists.newest?.payload.sub;
    // A denial for want of the ledger is sent once: resending it would only hold the refusal for timeoutMs.
    const send = <T>(f: () => Promise<T>): Promise<T> => (d.reason === 'status_unavailable' ? f() : this.resending(f));
    if (d.claims !== undefined && tenant !== undefined && d.claims.tenant === tenant && d.reason !== 'unknown_stamp') {
      const body: Record<string, unknown> = { action, outcome: d.allowed ? 'executed' : 'denied', event_id: randomUUID() };
      if (d.reason !== undefined) body['gate_reason'] = d.reason;
      if (d.claims !== undefined) body['generation'] = d.claims.gen;
      if (this.options.principal !== undefined) body['from'] = this.options.principal;
      const r = await send(() => this.call('POST', `/v1/stamps/${encodeURIComponent(d.claims!.stamp_id)}/events`, body));
      d.event_receipt_id = (r as { receipt: { receipt_id: string } }).receipt.receipt_id;
    } else {
      // A token this gate cannot even decode (too long, not a compact JWS, a NUL or lone surrogate in it) names no
      // stamp, and the ledger would judge it as any such token, or refuse to read it (400): it is sent as one.
      const sent = decodeJws(token) ? token : UNREADABLE_TOKEN;
      const body: Record<string, unknown> = { token: sent, record_action: action, event_id: randomUUID() };
      if (this.options.principal !== undefined) body['from'] = this.options.principal;
      const r = (await send(() => this.call('POST', '/v1/stamps/introspect', body))) as Record<string, unknown>;
      const { active, token_type: _type, state: _state, event_receipt_id: eventId, ...rest } = r;
      const claims = active === true ? readClaims(rest) : undefined;
      if (claims) return { allowed: true, stamp_id: claims.stamp_id, claims, ...(typeof eventId === 'string' && { event_receipt_id: eventId }) };
      if (typeof eventId === 'string') d.event_receipt_id = eventId;
      // The ledger names the stamp only for a valid token of this tenant: the token's claims are then verified,
      // and its reason is the one recorded (tombstoned, superseded, ...), not this gate's (a key it lacked).
      if (typeof rest['stamp_id'] === 'string') {
        const own = readClaims(decodeJws(token)?.payload ?? {});
        d.stamp_id = rest['stamp_id'];
        if (own?.stamp_id === d.stamp_id) d.claims = own;
        d.reason = LEDGER_REASONS[String(rest['inactive_reason'])] ?? d.reason;
      }
    }
    return d;
  }

  /** Runs `send` again while the ledger is unavailable, for up to timeoutMs from the first try (backoff 25 ms doubling). */
  private async resending<T>(send: () => Promise<T>): Promise<T> {
    const started = performance.now();
    for (let wait = 25; ; wait = Math.min(wait * 2, 400)) {
      try {
        return await send();
      } catch (e) {
        if (!(e instanceof LedgerUnavailable) || performance.now() - started + wait >= this.timeoutMs) throw e;
      }
      await sleep(wait);
    }
  }

  /** Fetches the JWKS and the status list now. */
  async refresh(): Promise<void> {
    await Promise.all([this.refreshKeys(), this.refreshList()]);
  }

  private async freshList(): Promise<LoadedList | undefined> {
    const l = this.lists.newest;
    if (!l || GateLists.age(this.monotonic(), l.fetchedAt) >= this.refreshMs) await this.refreshList().catch(() => undefined);
    return this.lists.usable(this.monotonic());
  }

  private refreshKeys(): Promise<void> {
    this.loadingKeys ??= (async () => {
      try {
        const doc = (await this.call('GET', '/.well-known/jwks.json')) as { keys: Ed25519Jwk[] };
        const next = new Map<string, KeyObject>();
        for (const jwk of doc.keys) {
          if (jwk.kid === undefined || jwk.kty !== 'OKP' || jwk.crv !== 'Ed25519') continue;
          next.set(jwk.kid, this.keys.get(jwk.kid) ?? publicKeyFromJwk(jwk));
        }
        this.keys = next;
        this.keysAt = this.monotonic();
      } finally {
        this.loadingKeys = undefined;
      }
    })();
    return this.loadingKeys;
  }

  private refreshList(): Promise<void> {
    this.loadingList ??= (async () => {
      try {
        const fetchedAt = this.monotonic();
        const jws = (await this.call('GET', '/v1/stamps/status', undefined, 'text')) as string;
        const decoded = decodeJws(jws, STATUS_LIST_CHARS_MAX);
        if (!decoded || decoded.header.typ !== STATUS_LIST_TYP) throw new Error('the status list is not a statuslist+jwt');
        let key = this.keys.get(decoded.header.kid);
        if (!key) {
          await this.refreshKeys();
          key = this.keys.get(decoded.header.kid);
        }
        if (!key || !verifyJws(decoded, key)) throw new Error('the status list signature does not verify');
        const payload = decoded.payload as unknown as StatusListPayload;
        const lifetimeMs = (payload.exp - payload.iat) * 1000;
        const list = { payload, bits: await StatusBits.unpack(payload.status_list), jws, fetchedAt, usableUntil: fetchedAt + lifetimeMs };
        if (!this.lists.take(list, this.monotonic())) throw new Error('the status list is older than the one held (by more than maxSkewMs)');
      } finally {
        this.loadingList = undefined;
      }
    })();
    return this.loadingList;
  }

  private async call(method: 'GET' | 'POST', path: string, body?: unknown, as: 'json' | 'text' = 'json'): Promise<unknown> {
    const headers: Record<string, string> = { authorization: `Bearer ${this.options.apiKey}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    let text: string;
    try {
      res = await this.fetch(this.base + path, {
        method, headers, ...(body !== undefined && { body: JSON.stringify(body) }), signal: AbortSignal.timeout(this.timeoutMs),
      });
      text = await res.text();
    } catch (e) {
      throw new LedgerUnavailable(`quittance ${method} ${path}: ${e instanceof Error ? e.message : String(e)}`, { cause: e });
    }
    if (res.status >= 500) throw new LedgerUnavailable(`quittance ${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    if (!res.ok) throw new Error(`quittance ${method} ${path}: ${res.status} ${text.slice(0, 300)}`);
    return as === 'text' ? text : JSON.parse(text);
  }
}

/** The ledger could not be asked: unreachable, timed out, or failing (5xx). Not a refusal of the request. */
class LedgerUnavailable extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LedgerUnavailable';
  }
}
