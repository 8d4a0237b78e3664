/**
 * The coded error registry: every error a user can see has a stable code, an HTTP status and a message, defined
 * here and nowhere else. docs/errors.md lists the same codes; test/errors.test.ts keeps the two in sync.
 */

const CONTRACTS_NOT_CHAT = 'Receipt bodies are contracts, not chat messages';

export const ERRORS = {
  // ── request shape ──
  QUITTANCE_ERR_VALIDATION: { status: 400, message: 'Request does not match the schema: %s' },
  QUITTANCE_ERR_INVALID_JSON: { status: 400, message: 'Request body is not valid JSON: %s' },
  QUITTANCE_ERR_DUPLICATE_JSON_KEY: {
    status: 400,
    message: 'Duplicate JSON key %s: a document with duplicate keys has no single meaning and is refused',
  },
  QUITTANCE_ERR_JSON_TOO_DEEP: { status: 400, message: 'Request body nests objects and arrays deeper than %s levels (at %s)' },
  QUITTANCE_ERR_JSON_NUMBER_RANGE: {
    status: 400,
    message: 'Request body has a number at %s beyond the range of a 64-bit float: it would read as infinity, which nothing can store. Send a string',
  },
  QUITTANCE_ERR_NUL_CHARACTER: {
    status: 400,
    message: 'Request contains the character U+0000 at %s: no string of a request may hold it (identifiers and bodies alike), so every backend stores the same',
  },
  QUITTANCE_ERR_UNPAIRED_SURROGATE: {
    status: 400,
    message: 'Request contains an unpaired UTF-16 surrogate at %s: every string must be well-formed Unicode, so that what is stored is what was hashed',
  },
  QUITTANCE_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'Unsupported content type %s' },
  QUITTANCE_ERR_UNSUPPORTED_CONTENT_ENCODING: {
    status: 415,
    message: 'Content-Encoding %s is not supported: the server does not decode request bodies, send them uncompressed',
  },
  QUITTANCE_ERR_REQUEST_TOO_LARGE: { status: 413, message: `Request body is over this route's limit of %s bytes. ${CONTRACTS_NOT_CHAT}` },
  QUITTANCE_ERR_INVALID_CURSOR: { status: 400, message: 'Cursor is not one this server issued' },
  QUITTANCE_ERR_CURSOR_MISMATCH: {
    status: 400,
    message: 'Cursor was given out by another list, or by this one with other filters, than %s: a cursor continues the listing it came from (the same path and filters; limit may change). Start again without a cursor',
  },
  QUITTANCE_ERR_ROUTE_NOT_FOUND: { status: 404, message: 'No route %s' },
  QUITTANCE_ERR_METHOD_NOT_ALLOWED: { status: 405, message: 'Method %s is not allowed on %s (allowed: %s)' },
  QUITTANCE_ERR_MALFORMED_REQUEST: { status: 400, message: 'Request is malformed: %s' },
  QUITTANCE_ERR_HEADERS_TOO_LARGE: { status: 431, message: "Request headers are over the server's size limit; the connection is closed" },
  QUITTANCE_ERR_REQUEST_TIMEOUT: { status: 408, message: 'The request was not received in time; the connection is closed. Send it again' },
  QUITTANCE_ERR_BAD_URL: { status: 400, message: 'URL path %s is not valid percent-encoded UTF-8' },
  QUITTANCE_ERR_PATH_PARAMETER_TOO_LONG: { status: 414, message: 'A path parameter of %s is over %s characters' },

  // ── receipt limits (DESIGN §2 rule 1) ──
  QUITTANCE_ERR_BODY_TOO_LARGE: {
    status: 413,
    message: `Receipt body is %s bytes as canonical JSON, over the limit of %s. ${CONTRACTS_NOT_CHAT}: put the product in the evidence store and point at it`,
  },
  QUITTANCE_ERR_TOO_MANY_PARENTS: {
    status: 422,
    message: `Receipt lists %s parents, over the limit of %s. ${CONTRACTS_NOT_CHAT}`,
  },
  QUITTANCE_ERR_TOO_MANY_ARTIFACTS: {
    status: 422,
    message: `Receipt lists %s artifacts, over the limit of %s. ${CONTRACTS_NOT_CHAT}`,
  },
  QUITTANCE_ERR_UNKNOWN_RECEIPT_TYPE: { status: 422, message: 'Unknown receipt type %s' },
  QUITTANCE_ERR_RECEIPT_TYPE_RESERVED: {
    status: 422,
    message: 'Receipt type %s is written by the ledger itself (%s), not through POST /v1/receipts',
  },

  // ── append rules (DESIGN §2 rules 2–4) ──
  QUITTANCE_ERR_IDEMPOTENCY_CONFLICT: {
    status: 409,
    message: 'Idempotency key %s was already used for a receipt with different content',
  },
  QUITTANCE_ERR_TERMINATOR_NEEDS_PARENT: {
    status: 422,
    message: 'Receipt type %s terminates obligations and must list at least one parent',
  },
  QUITTANCE_ERR_PARENT_NOT_FOUND: { status: 422, message: 'Parent receipt %s does not exist' },
  QUITTANCE_ERR_TERMINATOR_ILLEGAL: {
    status: 422,
    message: 'Receipt type %s cannot terminate parent %s of type %s (legal terminators: %s)',
  },
  QUITTANCE_ERR_OBLIGATION_RESERVED: {
    status: 422,
    message: 'Obligation %s (%s) is kept by the %s engine and closed only through its endpoints, not by a receipt from outside it',
  },
  QUITTANCE_ERR_OBLIGATION_CLOSED: {
    status: 409,
    message: 'Obligation %s was already closed by receipt %s: an obligation is closed exactly once',
  },
  QUITTANCE_ERR_LOCATABILITY_REQUIRED: {
    status: 422,
    message: 'Success receipt %s has neither artifacts nor delivery_proof: a success without a locatable product closes nothing',
  },

  // ── resources ──
  QUITTANCE_ERR_RECEIPT_NOT_FOUND: { status: 404, message: 'Receipt %s does not exist' },
  QUITTANCE_ERR_TENANT_EXISTS: { status: 409, message: 'Tenant %s already exists' },
  QUITTANCE_ERR_TENANT_NOT_FOUND: { status: 404, message: 'Tenant %s does not exist' },
  QUITTANCE_ERR_INVALID_TENANT_NAME: {
    status: 400,
    message: 'Tenant name %s must not begin or end with whitespace, nor be empty, nor hold a control character or line break: " acme" would be a tenant apart from "acme", and a name is shown on one line',
  },

  // ── credentials ──
  QUITTANCE_ERR_UNAUTHORIZED: { status: 401, message: 'Missing or unknown API key: send Authorization: Bearer <key>' },
  QUITTANCE_ERR_FORBIDDEN: { status: 403, message: 'This API key lacks the %s scope' },
  QUITTANCE_ERR_INVALID_SCOPE: { status: 400, message: 'Unknown scope %s (scopes: read, write, admin)' },
  QUITTANCE_ERR_API_KEY_NOT_FOUND: { status: 404, message: 'API key %s does not exist' },
  QUITTANCE_ERR_INVALID_KEY_LABEL: { status: 400, message: 'Key label %s must not hold a control character or line break: a label is shown on one line' },

  // ── tasks and leases ──
  QUITTANCE_ERR_TASK_NOT_FOUND: { status: 404, message: 'Task %s does not exist' },
  QUITTANCE_ERR_TASK_EXISTS: { status: 409, message: 'Task %s already exists with different content' },
  QUITTANCE_ERR_TASK_FINISHED: { status: 409, message: 'Task %s already ended (%s)' },
  QUITTANCE_ERR_PAYLOAD_TOO_LARGE: {
    status: 413,
    message: 'Task payload is %s bytes as canonical JSON, over the limit of %s. Receipt bodies are contracts, not chat messages: pass a payload_ref',
  },
  QUITTANCE_ERR_LEASE_LOST: {
    status: 409,
    message: 'Lease %s no longer holds task %s (%s): the work was requeued or ended; stop and drop this result',
  },
  QUITTANCE_ERR_LEASE_RENEWAL_LIMIT: { status: 409, message: 'Lease %s was renewed %s times, the limit' },
  QUITTANCE_ERR_LEASE_LIFETIME_LIMIT: { status: 409, message: 'Lease %s would live past its total lifetime limit of %s seconds' },
  QUITTANCE_ERR_LEASE_RENEWAL_OUT_OF_ORDER: {
    status: 409,
    message: 'Lease %s has been renewed %s times: renewal %s is neither the next one nor the last one sent again with the same TTL',
  },

  // ── sessions and events (DESIGN §7) ──
  QUITTANCE_ERR_AMBIGUOUS_SESSION_OWNERSHIP: { status: 409, message: 'Ambiguous session ownership: %s. A session has exactly one owner' },
  QUITTANCE_ERR_SESSION_NOT_FOUND: { status: 404, message: 'Session %s does not exist' },
  QUITTANCE_ERR_SESSION_REOPEN_CONFLICT: {
    status: 409,
    message: 'Session %s already exists with a different %s: opening it again is idempotent only with the same fields (add correlation keys with PATCH /v1/sessions/{id})',
  },
  QUITTANCE_ERR_SESSION_KEY_CONFLICT: { status: 409, message: 'Session %s already has %s %s: a correlation key can be added, not changed' },
  QUITTANCE_ERR_SESSION_CLOSED: { status: 409, message: 'Session %s is closed: its correlation keys can no longer change' },
  QUITTANCE_ERR_EVENT_ID_CONFLICT: {
    status: 409,
    message: 'Event %s is already node %s of session %s with different content: an event id names one event',
  },

  // ── capabilities and browser automation (DESIGN §8) ──
  QUITTANCE_ERR_CAPABILITY_NOT_FOUND: { status: 404, message: 'Capability %s has not been declared (POST /v1/capabilities)' },
  QUITTANCE_ERR_PLANE_NOT_NEGOTIATED: {
    status: 422,
    message: 'Plane %s takes no part in negotiating %s (required: %s; optional: %s; policy always does): re-declare the capability with it',
  },
  QUITTANCE_ERR_POLICY_DECISION_REQUIRED: {
    status: 422,
    message: 'A policy plane report on %s must carry policyDecisionRef (urn:srcos:decision:<id>): a policy decision nobody can point at is not accountable',
  },
  QUITTANCE_ERR_AUTOMATION_SESSION_NOT_FOUND: { status: 404, message: 'Automation session %s does not exist' },
  QUITTANCE_ERR_AUTOMATION_SESSION_OWNER: {
    status: 409,
    message: 'Session %s is owned by %s, not %s: ambiguous session ownership (a session has exactly one owner)',
  },
  QUITTANCE_ERR_AUTOMATION_SESSION_EXISTS: {
    status: 409,
    message: 'Session %s already has automation session %s (%s): a different start under the same sessionRef is refused',
  },
  QUITTANCE_ERR_AUTOMATION_NOT_ACTIVE: { status: 409, message: 'Automation session %s is %s, not active' },
  QUITTANCE_ERR_AUTOMATION_START_DENIED: {
    status: 403,
    message: 'Automation session %s was not started: %s. The denial is recorded: a BrowserAutomationReceipt with terminalState denied',
  },
  QUITTANCE_ERR_AUTOMATION_ACTION_DENIED: { status: 403, message: 'Action %s denied in automation session %s: %s. The attempt is recorded' },

  // ── Git workspaces (DESIGN §8) ──
  QUITTANCE_ERR_WORKSPACE_PATH_NOT_ALLOWED: {
    status: 403,
    message: 'Path refused: %s. POST /v1/workspace/git-state classifies only existing paths under the workspace roots the server was started with (quittance serve --workspace-root DIR, QUITTANCE_WORKSPACE_ROOTS, or the setting workspace.allowedRoots)',
  },

  // ── stamps ──
  QUITTANCE_ERR_STAMP_NOT_FOUND: { status: 404, message: 'Stamp %s does not exist' },
  QUITTANCE_ERR_STAMP_TOMBSTONED: {
    status: 409,
    message: 'Stamp %s was already tombstoned with outcome %s (closed by %s): a stamp is closed by exactly one tombstone',
  },
  QUITTANCE_ERR_STAMP_NOT_ACTIVE: { status: 409, message: 'Stamp %s is %s: only an active stamp can %s' },
  QUITTANCE_ERR_STAMP_GENERATION: {
    status: 422,
    message: 'Stamp %s has issued generations 1 to %s: no token of generation %s was ever issued, so no gate decided on one',
  },
  QUITTANCE_ERR_STAMP_TTL: {
    status: 422,
    message: 'ttl_seconds %s is outside the allowed %s to %s seconds (TTL is the safety net; the tombstone closes the stamp)',
  },

  // ── storage ──
  QUITTANCE_ERR_SCHEMA_TOO_NEW: {
    status: 500,
    message: 'The database schema is at version %s but this Quittance knows only up to %s: upgrade Quittance',
  },
  QUITTANCE_ERR_CONFIG: { status: 500, message: 'Invalid configuration: %s' },
  QUITTANCE_ERR_INTERNAL: { status: 500, message: 'Internal error' },
  QUITTANCE_ERR_STORE_UNAVAILABLE: {
    status: 503,
    message: "The ledger's database cannot be reached now (%s). Retry: a write sent again with the same content answers what the first one stored, if it was stored",
  },
  QUITTANCE_ERR_SERVER_CLOSING: {
    status: 503,
    message: 'This server is shutting down and did nothing with the request: send it again (to another server, or to this one once it is back)',
  },

  // ── contracts ──
  QUITTANCE_ERR_CONTRACT_INVALID: { status: 422, message: 'Contract document is invalid: %s' },
  QUITTANCE_ERR_SCHEMA_NOT_FOUND: { status: 404, message: 'No contract schema named %s (schemas: %s)' },
  QUITTANCE_ERR_CONTRACT_CONFLICT: {
    status: 409,
    message: 'Contract %s is already stored with different content (receipt %s): one id names one document; give a changed document a new id',
  },
  QUITTANCE_ERR_CONTRACT_NOT_FOUND: { status: 404, message: 'Contract %s does not exist' },

  // ── evidence and runtime installs ──
  QUITTANCE_ERR_EVIDENCE_TOO_LARGE: {
    status: 413,
    message: 'Evidence is over the limit of %s bytes (evidence.blobMaxBytes)',
  },
  QUITTANCE_ERR_EVIDENCE_NOT_FOUND: { status: 404, message: 'Evidence %s does not exist' },
  QUITTANCE_ERR_EVIDENCE_CORRUPT: {
    status: 500,
    message: 'Evidence %s failed verification on read (%s): the stored bytes are not the bytes that were put, so none are returned',
  },
  QUITTANCE_ERR_RUNTIME_INSTALL_NOT_FOUND: { status: 404, message: 'Runtime install %s does not exist' },
} as const satisfies Record<string, { status: number; message: string }>;

export type ErrorCode = keyof typeof ERRORS;

const REASONS: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 408: 'Request Timeout', 409: 'Conflict', 413: 'Payload Too Large',
  414: 'URI Too Long', 415: 'Unsupported Media Type', 422: 'Unprocessable Entity', 429: 'Too Many Requests', 431: 'Request Header Fields Too Large', 500: 'Internal Server Error',
  503: 'Service Unavailable',
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? 'Error';
}

function format(template: string, args: readonly unknown[]): string {
  let i = 0;
  return template.replace(/%s/g, () => (i < args.length ? String(args[i++]) : '%s'));
}

/** An expected failure a user can see. `details` is extra, machine-readable context added to the HTTP body. */
export class QuittanceError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, args: readonly unknown[] = [], options?: { cause?: unknown; details?: Record<string, unknown> }) {
    super(format(ERRORS[code].message, args), options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'QuittanceError';
    this.code = code;
    this.statusCode = ERRORS[code].status;
    this.details = options?.details;
  }

  /** The HTTP body: the four fixed keys first, then any details (a detail never replaces a fixed key). */
  toJSON(): { statusCode: number; code: string; error: string; message: string } & Record<string, unknown> {
    const body: { statusCode: number; code: string; error: string; message: string } & Record<string, unknown> = {
      statusCode: this.statusCode, code: this.code, error: reasonPhrase(this.statusCode), message: this.message,
    };
    for (const [k, v] of Object.entries(this.details ?? {})) if (!(k in body)) body[k] = v;
    return body;
  }
}

export function qerr(code: ErrorCode, ...args: unknown[]): QuittanceError {
  return new QuittanceError(code, args);
}

export function isQuittanceError(e: unknown): e is QuittanceError {
  return e instanceof QuittanceError;
}
