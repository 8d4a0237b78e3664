/**
 * The effective state of a capability, computed from its planes' reports by one documented precedence. Pure: no
 * clock, no store. Every surface (UI, runtime, shell, browser) shows this one state; a surface claiming "enabled"
 * while it is anything else is capability split-brain.
 *
 * Who takes part: the REQUIRED planes and the OPTIONAL planes the capability was declared with, and always the
 * POLICY plane (listing `policy` as required or optional changes nothing: it is always required). Only the
 * latest report of each plane counts; reports of planes outside the negotiation are ignored.
 *
 * The first rule that matches decides (the README shows the same table):
 *
 * | # | effective state          | when                                                                                       |
 * |---|--------------------------|--------------------------------------------------------------------------------------------|
 * | 1 | `blocked_by_policy`      | any plane reported `blocked`, or policy reported `unsupported`/`missing` (deny by default)  |
 * | 2 | `failed`                 | a required plane or policy reported `failed`                                               |
 * | 3 | `unsupported_by_server`  | required `server` reported `unsupported`/`missing`                                         |
 * | 4 | `unsupported_by_runtime` | required `runtime`, or a plane of the local runtime (`config`, `ui`, `transport`, `user`,   |
 * |   |                          | `agent`, `workspace`), reported `unsupported`/`missing`                                    |
 * | 5 | `missing_plugin`         | required `plugin` reported `unsupported`/`missing`                                         |
 * | 6 | `missing_schema`         | required `schema` reported `unsupported`/`missing`                                         |
 * | 7 | `requested` / `declared` | no plane has reported yet: `requested` when a session asked for it (sessionRef), else `declared` |
 * | 8 | `negotiating`            | some required plane has not reported yet                                                   |
 * | 9 | `available`              | every required plane reported `supported`/`degraded`; policy has not decided yet           |
 * |10 | `degraded`               | policy allowed, but a required plane or policy reported `degraded`, or an optional plane    |
 * |   |                          | reported anything but `supported`                                                          |
 * |11 | `enabled`                | every required plane reported `supported`, policy reported `supported`, no optional plane   |
 * |   |                          | reported trouble                                                                           |
 *
 * Why this order: a policy block beats everything (DESIGN §8), and a refusal anywhere is known at once, without
 * waiting for the planes still to answer; among refusals, the one least in the user's hands comes first (the
 * server, then the runtime to upgrade, then a plugin to install, then a schema to load). An optional plane can
 * only block (rule 1) or degrade (rule 10), never refuse.
 */
import type { EffectiveState, Plane, PlaneStatus } from './types.js';

/** What the rules read of one plane's latest report. */
export interface PlaneInput {
  status: PlaneStatus;
  reason?: string | null | undefined;
}

export interface NegotiationInput {
  requiredPlanes: readonly Plane[];
  optionalPlanes?: readonly Plane[] | undefined;
  /** The latest report of each plane that has reported. */
  reports: Readonly<Partial<Record<Plane, PlaneInput>>>;
  /** A session asked for the capability (it was declared with a sessionRef). */
  requested?: boolean | undefined;
}

export interface EffectiveOutcome {
  state: EffectiveState;
  /** The precedence rule (1–11) that decided. */
  rule: number;
  /** The planes that made the rule match (the refusing planes, the pending ones, the degraded ones, ...). */
  planes: Plane[];
  /** Why, for people: names the planes and their reasons. */
  reason: string;
}

/** Which refusal a required plane's `unsupported`/`missing` means. Planes of the local runtime count as the runtime. */
export const REFUSAL_STATE: Readonly<Record<Exclude<Plane, 'policy'>, EffectiveState>> = Object.freeze({
  server: 'unsupported_by_server',
  runtime: 'unsupported_by_runtime',
  config: 'unsupported_by_runtime',
  ui: 'unsupported_by_runtime',
  transport: 'unsupported_by_runtime',
  user: 'unsupported_by_runtime',
  agent: 'unsupported_by_runtime',
  workspace: 'unsupported_by_runtime',
  plugin: 'missing_plugin',
  schema: 'missing_schema',
});

const REFUSALS: readonly EffectiveState[] = ['unsupported_by_server', 'unsupported_by_runtime', 'missing_plugin', 'missing_schema'];

/** The precedence as data: what each rule means, for documentation and for tests that check the table is complete. */
export const PRECEDENCE: readonly { rule: number; states: readonly EffectiveState[]; when: string }[] = Object.freeze([
  { rule: 1, states: ['blocked_by_policy'], when: 'any plane reported blocked, or policy reported unsupported/missing (deny by default)' },
  { rule: 2, states: ['failed'], when: 'a required plane or policy reported failed' },
  { rule: 3, states: ['unsupported_by_server'], when: 'required server reported unsupported/missing' },
  { rule: 4, states: ['unsupported_by_runtime'], when: 'required runtime (or config, ui, transport, user, agent, workspace) reported unsupported/missing' },
  { rule: 5, states: ['missing_plugin'], when: 'required plugin reported unsupported/missing' },
  { rule: 6, states: ['missing_schema'], when: 'required schema reported unsupported/missing' },
  { rule: 7, states: ['requested', 'declared'], when: 'no plane has reported yet (requested when a session asked for it)' },
  { rule: 8, states: ['negotiating'], when: 'some required plane has not reported yet' },
  { rule: 9, states: ['available'], when: 'every required plane reported supported/degraded; policy has not decided' },
  { rule: 10, states: ['degraded'], when: 'policy allowed, but a required plane or policy degraded, or an optional plane reported anything but supported' },
  { rule: 11, states: ['enabled'], when: 'every required plane and policy reported supported, no optional plane reported trouble' },
]);

const REFUSED: ReadonlySet<PlaneStatus> = new Set(['unsupported', 'missing']);

function describe(planes: readonly Plane[], reports: NegotiationInput['reports']): string {
  return planes
    .map((p) => {
      const r = reports[p]!;
      return r.reason ? `${p} reported ${r.status} (${r.reason})` : `${p} reported ${r.status}`;
    })
    .join('; ');
}

/** The negotiating planes, normalised: policy apart, optional planes that are also required count as required. */
export function negotiationPlanes(requiredPlanes: readonly Plane[], optionalPlanes: readonly Plane[] = []): { required: Plane[]; optional: Plane[] } {
  const required = [...new Set(requiredPlanes)].filter((p) => p !== 'policy').sort();
  const optional = [...new Set(optionalPlanes)].filter((p) => p !== 'policy' && !required.includes(p)).sort();
  return { required, optional };
}

/** The effective state of a capability: the first rule of the precedence table that matches. */
export function effectiveState(input: NegotiationInput): EffectiveOutcome {
  const { reports } = input;
  const { required, optional } = negotiationPlanes(input.requiredPlanes, input.optionalPlanes);
  const policy = reports.policy;
  const status = (p: Plane): PlaneStatus | undefined => reports[p]?.status;
  const all: Plane[] = [...required, ...optional, 'policy'];
  const outcome = (state: EffectiveState, rule: number, planes: Plane[], reason: string): EffectiveOutcome => ({ state, rule, planes, reason });

  // 1. A policy block beats everything, whichever plane enforces it.
  const blocked = all.filter((p) => status(p) === 'blocked');
  if (policy && REFUSED.has(policy.status)) blocked.push('policy');
  if (blocked.length > 0) return outcome('blocked_by_policy', 1, blocked, describe(blocked, reports));

  // 2. A required plane (or the policy engine) failed: negotiation cannot conclude.
  const failed = [...required, 'policy' as const].filter((p) => status(p) === 'failed');
  if (failed.length > 0) return outcome('failed', 2, failed, describe(failed, reports));

  // 3–6. A required plane refused: the first refusal in REFUSALS order decides.
  const refusing = required.filter((p) => REFUSED.has(status(p)!)) as Exclude<Plane, 'policy'>[];
  for (const [i, state] of REFUSALS.entries()) {
    const planes = refusing.filter((p) => REFUSAL_STATE[p] === state);
    if (planes.length > 0) return outcome(state, 3 + i, planes, describe(planes, reports));
  }

  // 7. Nobody has answered yet: the lifecycle before negotiation.
  if (all.every((p) => reports[p] === undefined)) {
    return input.requested
      ? outcome('requested', 7, [], 'a session requested the capability; no plane has reported yet')
      : outcome('declared', 7, [], 'declared; no plane has reported yet');
  }

  // 8. Some required planes still have to answer.
  const pending = required.filter((p) => reports[p] === undefined);
  if (pending.length > 0) return outcome('negotiating', 8, pending, `waiting for ${pending.join(', ')}`);

  // Every required plane answered supported or degraded (anything else matched above).
  const degraded = [
    ...required.filter((p) => status(p) === 'degraded'),
    ...optional.filter((p) => reports[p] !== undefined && status(p) !== 'supported'),
  ];

  // 9. The planes can provide it; the policy decision is still to come.
  if (!policy) {
    const also = degraded.length > 0 ? `; meanwhile ${describe(degraded, reports)}` : '';
    return outcome('available', 9, ['policy'], `every required plane can provide it; waiting for the policy decision${also}`);
  }

  // 10. Allowed, but not at full strength.
  if (policy.status === 'degraded') degraded.push('policy');
  if (degraded.length > 0) return outcome('degraded', 10, degraded.sort(), describe(degraded, reports));

  // 11. Every plane agrees.
  return outcome('enabled', 11, [...required, 'policy'], 'every required plane reported supported and policy allowed it');
}
