import type { Duplex } from 'node:stream';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { QuittanceError, reasonPhrase } from '../errors.js';
import { atMostCharacters } from '../text.js';

/**
 * Every error leaves the server as {statusCode, code, error, message}; bad input is never a 500, and a database
 * that cannot be reached (the store's `unreachable`) is a 503 a client may retry, not an internal error.
 */
export function installErrorHandling(app: FastifyInstance, unreachable: (err: unknown) => string | undefined): void {
  app.setErrorHandler((err: FastifyError | QuittanceError, request, reply) => {
    const why = err instanceof QuittanceError ? undefined : unreachable(err);
    const q = why === undefined ? toQuittanceError(err, request.routeOptions.bodyLimit, request.headers['content-type']) : new QuittanceError('QUITTANCE_ERR_STORE_UNAVAILABLE', [why], { cause: err });
    send(q, err, request, reply);
  });
  const paths = routePaths(app);
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0]!;
    // A path the API has, asked with a method it does not take, is a 405 naming the methods it does (RFC 9110
    // §15.5.6), not a 404 that reads as if the resource were not there.
    const allowed = paths.methodsOf(path);
    if (allowed.length > 0) {
      const q = new QuittanceError('QUITTANCE_ERR_METHOD_NOT_ALLOWED', [request.method, JSON.stringify(atMostCharacters(path, 201)), allowed.join(', ')]);
      void reply.status(405).header('allow', allowed.join(', ')).send(q.toJSON());
      return;
    }
    const q = new QuittanceError('QUITTANCE_ERR_ROUTE_NOT_FOUND', [`${request.method} ${path}`]);
    void reply.status(404).send(q.toJSON());
  });
}

/**
 * The app's routes by path pattern (`/v1/tasks/:id`), gathered as they are declared (so this must be installed
 * before any route): which methods a concrete path takes. A GET route answers HEAD too, as Fastify serves it.
 */
function routePaths(app: FastifyInstance): { methodsOf(path: string): string[] } {
  const byPattern = new Map<string, { match: RegExp; methods: Set<string> }>();
  app.addHook('onRoute', (route) => {
    let entry = byPattern.get(route.url);
    if (!entry) {
      const pattern = route.url.split('/').map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('/');
      entry = { match: new RegExp(`^${pattern}$`), methods: new Set() };
      byPattern.set(route.url, entry);
    }
    for (const m of [route.method].flat()) {
      entry.methods.add(m);
      if (m === 'GET') entry.methods.add('HEAD');
    }
  });
  return {
    methodsOf(path) {
      const methods = new Set<string>();
      for (const { match, methods: m } of byPattern.values()) if (match.test(path)) for (const x of m) methods.add(x);
      return [...methods].sort();
    },
  };
}

/**
 * Requests that reach the server while it closes (pipelined, or on a keep-alive connection busy with an in-flight
 * request) are answered 503 with the coded body. Fastify's own return503OnClosing answered them with a body of its
 * own, {error, message, statusCode} without a code, which the client read as a bare HTTP_ERROR. The refusal is the
 * first onRequest hook: it runs before authentication and before anything is read or written.
 */
export function installClosingRefusal(app: FastifyInstance): void {
  let closing = false;
  app.addHook('preClose', (done) => {
    closing = true;
    done();
  });
  app.addHook('onRequest', (_request, reply, done) => {
    if (!closing) return done();
    const q = new QuittanceError('QUITTANCE_ERR_SERVER_CLOSING');
    void reply.status(q.statusCode).header('connection', 'close').send(q.toJSON());
  });
}

/** The path of a request as an error message may show it: without the query, and cut short when it is long. */
function shownPath(request: FastifyRequest): string {
  const path = request.url.split('?')[0]!;
  return atMostCharacters(path, 201);
}

/**
 * Fastify's `frameworkErrors`: what it refuses before any route runs, hence before setErrorHandler. A path whose
 * percent-encoding does not decode (`/v1/tasks/%zz`) and a path parameter over `maxParamLength` would otherwise
 * leave as Fastify's own uncoded bodies.
 */
export function frameworkErrors(maxParamLength: number) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    const q = err.code === 'FST_ERR_BAD_URL' ? new QuittanceError('QUITTANCE_ERR_BAD_URL', [shownPath(request)], { cause: err })
      : err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? new QuittanceError('QUITTANCE_ERR_PATH_PARAMETER_TOO_LONG', [shownPath(request), maxParamLength], { cause: err })
        : toQuittanceError(err);
    send(q, err, request, reply);
  };
}

/**
 * Fastify's `clientErrorHandler`: what Node's HTTP parser refuses before there is a request (a header line that is
 * not a header, headers over the size limit, a request not received in time). Fastify's own handler answered these
 * with {error, message, statusCode} and no code; they get the coded body too, and the connection is closed.
 */
export function clientErrors(err: NodeJS.ErrnoException, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const q = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? new QuittanceError('QUITTANCE_ERR_REQUEST_TIMEOUT')
    : err.code === 'HPE_HEADER_OVERFLOW' ? new QuittanceError('QUITTANCE_ERR_HEADERS_TOO_LARGE')
      : new QuittanceError('QUITTANCE_ERR_MALFORMED_REQUEST', [`it is not valid HTTP/1.1 (${err.code ?? 'unparsable'}); the connection is closed`]);
  const body = JSON.stringify(q.toJSON());
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${q.statusCode} ${reasonPhrase(q.statusCode)}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy(err);
}

/** Answers with the coded error; a 5xx is a bug or an outage, so the original error is logged. */
function send(q: QuittanceError, err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  if (q.statusCode >= 500) request.log.error({ err }, 'request failed');
  void reply.status(q.statusCode).send(q.toJSON());
}

type SchemaComplaint = { instancePath: string; keyword?: string; params?: Record<string, unknown>; message?: string };

/** Most values an enum complaint lists, and most characters of an unknown property's name it shows (then an ellipsis). */
const ENUM_SHOWN_MAX = 20;
const NAME_SHOWN_MAX = 100;

/** A name or header value from the request as a message quotes it: at most NAME_SHOWN_MAX characters and an ellipsis. */
export function quotedShort(text: string): string {
  return JSON.stringify(atMostCharacters(text, NAME_SHOWN_MAX + 1));
}

/**
 * The validator's complaint, with what its own message leaves out: the name of a property the route does not take
 * (a typo such as ?lmit=5 was "must NOT have additional properties"), and the values an enum allows.
 */
function complaint(first: SchemaComplaint | undefined): string {
  const p = first?.params;
  if (first?.keyword === 'additionalProperties' && typeof p?.['additionalProperty'] === 'string') {
    const name = p['additionalProperty'];
    return `has an unknown property ${quotedShort(name)}`;
  }
  if (first?.keyword === 'enum' && Array.isArray(p?.['allowedValues'])) {
    const values = p['allowedValues'] as unknown[];
    const shown = values.slice(0, ENUM_SHOWN_MAX).map((v) => JSON.stringify(v)).join(', ');
    return `must be one of ${shown}${values.length > ENUM_SHOWN_MAX ? `, … (${values.length} in all)` : ''}`;
  }
  return first?.message ?? 'is invalid';
}

/** RFC 9110 §8.3.1: type "/" subtype, then any parameters. */
const MEDIA_TYPE = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+\/[!#$%&'*+.^_`|~0-9A-Za-z-]+\s*(;.*)?$/;

/**
 * What a 415 says about the content type sent. No route took a syntactically valid type other than JSON's (the
 * evidence route takes every valid one), so that is the hint; text that is no media type at all is said to be so,
 * not told to become JSON, as the evidence route would have told it.
 */
function unsupportedMediaType(contentType: string | undefined): string {
  if (contentType === undefined || contentType === '') return 'none (send application/json)';
  const shown = quotedShort(contentType);
  return MEDIA_TYPE.test(contentType.trim()) ? `${shown} (send application/json)` : `${shown}: not a media type (type/subtype; the JSON routes take application/json)`;
}

export function toQuittanceError(err: unknown, bodyLimit?: number, contentType?: string): QuittanceError {
  if (err instanceof QuittanceError) return err;
  const e = err as FastifyError & { validation?: SchemaComplaint[]; validationContext?: string };
  if (e.validation) {
    const first = e.validation[0];
    const where = `${e.validationContext ?? 'body'}${first?.instancePath ?? ''}`;
    return new QuittanceError('QUITTANCE_ERR_VALIDATION', [`${where} ${complaint(first)}`], { cause: err });
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new QuittanceError('QUITTANCE_ERR_REQUEST_TOO_LARGE', [bodyLimit ?? 'the'], { cause: err });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new QuittanceError('QUITTANCE_ERR_UNSUPPORTED_MEDIA_TYPE', [unsupportedMediaType(contentType)], { cause: err });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new QuittanceError('QUITTANCE_ERR_INVALID_JSON', ['empty body'], { cause: err });
  }
  // Any other refusal of the framework's (a body shorter or longer than its Content-Length, say) is about the
  // request's form, not its schema: it read "Request does not match the schema: Bad Request: …".
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new QuittanceError('QUITTANCE_ERR_MALFORMED_REQUEST', [e.message], { cause: err });
  }
  return new QuittanceError('QUITTANCE_ERR_INTERNAL', [], { cause: err });
}
