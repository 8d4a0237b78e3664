/**
 * The contract validator: picks a document's schema from its `type` (or the schema the caller names), checks it
 * with the compiled schema, then with the semantic rules; a set of documents validated together is also checked
 * for session ownership across documents. Expected failures are values (a result with errors); only a schema
 * name that does not exist, passed by the caller, throws.
 */
import { QuittanceError } from '../errors.js';
import { compiledValidator } from './compile.js';
import { fromAjvErrors, type ContractError } from './messages.js';
import { CROSS_DOCUMENT_RULE, RULES_BY_TYPE, ownershipClaim, type OwnershipClaim } from './rules.js';
import { loadSchemas, schemaByName } from './schemas.js';
import type { ContractTypeMap, ContractTypeName } from './types.js';

export type { ContractError } from './messages.js';

export interface ValidationResult {
  valid: boolean;
  /** The schema the document was checked against; null when none could be picked. */
  type: string | null;
  errors: ContractError[];
}

export interface ValidateOptions {
  /**
   * Check against this schema instead of the one the document's `type` names. Needed for the ledger's own types
   * (Receipt, Task, ...), whose `type` is a receipt or task type, not a schema name.
   */
  schema?: string;
}

export interface ValidateSetOptions extends ValidateOptions {
  /** How to name document i in messages about other documents (file names, say); default "document i". */
  names?: readonly string[];
}

export interface SetValidationResult {
  valid: boolean;
  /** One result per document, in order. */
  results: ValidationResult[];
}

/** The SourceOS type a document names in its `type`, or undefined when it names none. */
export function documentType(doc: unknown): string | undefined {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) return undefined;
  const t = (doc as { type?: unknown }).type;
  return typeof t === 'string' && loadSchemas().sourceOsTypes.includes(t) ? t : undefined;
}

function unpickable(doc: unknown): ValidationResult {
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    return { valid: false, type: null, errors: [{ path: '', keyword: 'type', message: 'must be object: a contract document is a JSON object' }] };
  }
  const known = loadSchemas().sourceOsTypes.join(', ');
  const t = (doc as { type?: unknown }).type;
  if (t === undefined) {
    return {
      valid: false,
      type: null,
      errors: [{
        path: '/type', keyword: 'required',
        message: `is required: it names the document's schema (${known}); the ledger's own objects (Receipt, Task, ...) carry none: name their schema (quittance validate --schema Receipt, or ?schema=Receipt over HTTP)`,
      }],
    };
  }
  const hint = loadSchemas().byName.has(String(t))
    ? `; ${String(t)} documents carry no type discriminator: name their schema explicitly (quittance validate --schema ${String(t)})`
    : "; the ledger's own objects (Receipt, Task, ...) are checked by naming their schema (quittance validate --schema Receipt)";
  return {
    valid: false,
    type: null,
    errors: [{ path: '/type', keyword: 'documentType', message: `unknown document type ${JSON.stringify(t)}: expected one of ${known}${hint}` }],
  };
}

/** One document; also reports whether it passed its schema, which the cross-document rule needs. */
function check(doc: unknown, schema: string | undefined): { result: ValidationResult; schemaValid: boolean } {
  const name = schema ?? documentType(doc);
  if (name === undefined) return { result: unpickable(doc), schemaValid: false };
  const validate = compiledValidator(name);
  if (!validate) schemaByName(name); // throws the coded not-found error
  if (!validate!(doc)) return { result: { valid: false, type: name, errors: fromAjvErrors(validate!.errors ?? []) }, schemaValid: false };
  const errors: ContractError[] = [];
  const rules = RULES_BY_TYPE.get(name);
  if (rules !== undefined) for (const r of rules) r.check(doc, errors);
  return { result: { valid: errors.length === 0, type: name, errors }, schemaValid: true };
}

/** Validates one document against its schema and the semantic rules of its type. */
export function validateDocument(doc: unknown, options?: ValidateOptions): ValidationResult {
  return check(doc, options?.schema).result;
}

/**
 * Validates documents together: each on its own, plus session ownership across them (one sessionRef claimed by
 * two different owners fails every document making one of the conflicting claims).
 */
export function validateDocuments(docs: readonly unknown[], options?: ValidateSetOptions): SetValidationResult {
  const results: ValidationResult[] = new Array(docs.length);
  let claims: Map<string, { index: number; claim: OwnershipClaim }[]> | undefined;
  for (let i = 0; i < docs.length; i++) {
    const { result, schemaValid } = check(docs[i], options?.schema);
    results[i] = result;
    if (!schemaValid) continue;
    const claim = ownershipClaim(result.type!, docs[i]);
    if (claim === undefined) continue;
    claims ??= new Map();
    const list = claims.get(claim.session);
    if (list === undefined) claims.set(claim.session, [{ index: i, claim }]);
    else list.push({ index: i, claim });
  }
  if (claims !== undefined) {
    for (const [session, list] of claims) {
      if (list.length < 2 || list.every((c) => c.claim.owner === list[0]!.claim.owner)) continue;
      for (const { index, claim } of list) {
        const others = new Map<string, number>();
        for (const o of list) if (o.claim.owner !== claim.owner && !others.has(o.claim.owner)) others.set(o.claim.owner, o.index);
        const where = [...others].map(([owner, j]) => `${owner} in ${options?.names?.[j] ?? `document ${j}`}`).join(', ');
        const r = results[index]!;
        r.errors.push({
          path: claim.path,
          keyword: CROSS_DOCUMENT_RULE.keyword,
          message: `ambiguous session ownership: session ${session} is claimed by ${claim.owner} here and by ${where}; a session has exactly one owner`,
        });
        r.valid = false;
      }
    }
  }
  let valid = true;
  for (const r of results) if (!r.valid) valid = false;
  return { valid, results };
}

/**
 * Returns the document typed when it is valid; otherwise throws QUITTANCE_ERR_CONTRACT_INVALID (422) with the
 * errors as details, for callers that store contracts (POST /v1/contracts) and must store nothing invalid.
 */
export function assertValidDocument<T extends ContractTypeName>(doc: unknown, options: { schema: T }): ContractTypeMap[T];
export function assertValidDocument(doc: unknown, options?: ValidateOptions): ContractTypeMap[ContractTypeName];
export function assertValidDocument(doc: unknown, options?: ValidateOptions): ContractTypeMap[ContractTypeName] {
  const r = validateDocument(doc, options);
  if (!r.valid) {
    const first = r.errors[0]!;
    throw new QuittanceError('QUITTANCE_ERR_CONTRACT_INVALID', [`${first.path || '(document)'}: ${first.message}`], {
      details: { type: r.type, errors: r.errors },
    });
  }
  return doc as ContractTypeMap[ContractTypeName];
}
