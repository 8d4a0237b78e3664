import assert from 'node:assert/strict';
import { validateDocument, validateDocuments } from '../../src/contracts/validate.js';
import type { Harness } from '../helpers.js';

export const CAP = 'urn:srcos:capability:browser-automation@1.0.0';
export const DECISION = 'urn:srcos:decision:allow-automation-1';
export const EVIDENCE = 'sha256:' + 'b'.repeat(64);

export const capPath = (ref: string = CAP) => `/v1/capabilities/${encodeURIComponent(ref)}`;

/** The seed's declaration: config and UI declare it; runtime, server and policy negotiate it; a plugin is optional. */
export async function declareSeed(h: Harness, ref: string = CAP, extra: Record<string, unknown> = {}) {
  const r = await h.req('POST', '/v1/capabilities', {
    capabilityRef: ref, declaredBy: ['config', 'ui'], requiredPlanes: ['runtime', 'server'], optionalPlanes: ['plugin'], ...extra,
  });
  assert.ok(r.status === 201 || r.status === 200, JSON.stringify(r.json));
  return r;
}

export async function report(h: Harness, plane: string, status: string, ref: string = CAP, extra: Record<string, unknown> = {}) {
  const body = { status, evidenceRefs: [EVIDENCE], ...(plane === 'policy' && { policyDecisionRef: DECISION }), ...extra };
  const r = await h.req('POST', `${capPath(ref)}/planes/${plane}`, body);
  assert.equal(r.status, 200, JSON.stringify(r.json));
  return r;
}

/** Declares and negotiates a capability up to enabled. */
export async function enabledCapability(h: Harness, ref: string = CAP) {
  await declareSeed(h, ref);
  await report(h, 'runtime', 'supported', ref);
  await report(h, 'server', 'supported', ref);
  const r = await report(h, 'policy', 'supported', ref);
  assert.equal(r.json.capability.effectiveState, 'enabled');
  return r.json.capability;
}

let sessions = 0;

export function startBody(extra: Record<string, unknown> = {}) {
  return {
    sessionRef: `urn:srcos:session:s-${++sessions}`,
    ownerRef: 'urn:srcos:agent:browser-agent',
    capabilityRef: CAP,
    transport: 'cdp',
    permissionScope: ['read_page', 'click', 'enter_text'],
    origin: 'local',
    controlledScope: { tabRef: 'tab-7', urlOrigin: 'https://example.com' },
    ...extra,
  };
}

/** Every receipt of a type in the tenant, oldest first. */
export async function receiptsOfType(h: Harness, type: string): Promise<any[]> {
  const out: any[] = [];
  let cursor: string | null = null;
  do {
    const q: string = `/v1/receipts?type=${type}&limit=1000${cursor ? `&cursor=${cursor}` : ''}`;
    const r = await h.req('GET', q);
    assert.equal(r.status, 200);
    out.push(...r.json.receipts);
    cursor = r.json.cursor;
  } while (cursor);
  return out;
}

/** Each document valid on its own and all of them together (one owner per session across the set). */
export function assertValidContracts(docs: unknown[], schema: 'CapabilityLedger' | 'BrowserAutomationReceipt'): void {
  assert.ok(docs.length > 0, 'no documents to check');
  for (const d of docs) {
    const v = validateDocument(d);
    assert.equal(v.type, schema);
    assert.ok(v.valid, JSON.stringify(v.errors));
  }
  const set = validateDocuments(docs);
  assert.ok(set.valid, JSON.stringify(set.results.flatMap((r) => r.errors)));
}
