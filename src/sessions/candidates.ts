/**
 * Which session does an event belong to? Pure ranking of the sessions that share a correlation key with it.
 *
 * - An event that names its session (session_id) belongs to that session and no other: an explicit claim beats
 *   every correlation key. The engine looks that session up; this module is not asked.
 * - Otherwise a session is a candidate when it agrees with the event on at least one key (conversation_id,
 *   workspace_ref, task_ref, or holding the event's parent as a DAG node) and contradicts it on none (both carry
 *   the key with different values). Among candidates the ones agreeing on the most keys remain: a session that
 *   gains a key narrows the choice. Exactly one left → the event attaches; several → it waits, listing them.
 */
import { SESSION_KEYS, type EventKeys, type MatchKey, type SessionKey } from './types.js';

export type SessionKeys = { session_id: string } & Record<SessionKey, string | null>;

export interface Candidate {
  session_id: string;
  /** The keys the event and the session agree on. */
  matched: MatchKey[];
}

export function rankCandidates(event: EventKeys, sessions: readonly SessionKeys[], parentSessionId: string | null): Candidate[] {
  const seen = new Set<string>();
  let best: Candidate[] = [];
  let bestScore = 0;
  for (const s of sessions) {
    if (seen.has(s.session_id)) continue;
    seen.add(s.session_id);
    const matched: MatchKey[] = [];
    let contradicts = false;
    for (const k of SESSION_KEYS) {
      const mine = event[k];
      const theirs = s[k];
      if (mine === null || theirs === null) continue;
      if (mine === theirs) matched.push(k);
      else contradicts = true;
    }
    if (parentSessionId !== null && parentSessionId === s.session_id) matched.push('parent_id');
    if (contradicts || matched.length === 0) continue;
    if (matched.length > bestScore) {
      best = [];
      bestScore = matched.length;
    }
    if (matched.length === bestScore) best.push({ session_id: s.session_id, matched });
  }
  return best.sort((a, b) => (a.session_id < b.session_id ? -1 : a.session_id > b.session_id ? 1 : 0));
}
