/**
 * Errors that say PostgreSQL cannot be reached now: the server is down, restarting or full, or the network to it
 * broke. They are an outage, not a bug and not bad input, so the HTTP layer answers them 503, and a client may
 * retry (a repeated write answers what the first one stored, if it was stored).
 */

/** Socket errors of the connection itself. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH']);

/**
 * SQLSTATEs: class 08 (connection exception), the server shutting down or starting (57P01–57P03), too many
 * connections (53300).
 */
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);

/** node-postgres's own words for a connection that ended or never came (it gives them no code). */
const DRIVER_MESSAGES = /^(Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error)/;

/**
 * When `err`, or an error it was caused by (a commit whose outcome is unknown, say), is one of those: its code, or
 * "connection lost" for the driver's own. Not its message, which names the database's host and port.
 */
export function unreachableReason(err: unknown): string | undefined {
  for (let e = err, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (NETWORK_CODES.has(code) || UNAVAILABLE_STATES.has(code) || code.startsWith('08'))) return code;
    if (DRIVER_MESSAGES.test(e.message)) return 'connection lost';
  }
  return undefined;
}
