import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { QuittanceError, reasonPhrase } from '../errors.js';

/**
 * Every error leaves the server as {statusCode, code, error, message}; bad input is never a 500, and a database
 * that cannot be reached (the store's `unreachable`) is a 503 a client may retry, not an internal error.
 */
export function installErrorHandling(app: FastifyInstance, unreachable: (err: unknown) => string | undefined): void {
  app.setErrorHandler((err: FastifyError | QuittanceError, request, reply) => {
    const why = err instanceof QuittanceError ? undefined : unreachable(err);
    const q = why === undefined ? toQuittanceError(err, request.routeOptions.bodyLimit) : new QuittanceError('QUITTANCE_ERR_STORE_UNAVAILABLE', [why], { cause: err });
    send(q, err, request, reply);
  });
  app.setNotFoundHandler((request, reply) => {
    const q = new QuittanceError('QUITTANCE_ERR_ROUTE_NOT_FOUND', [`${request.method} ${request.url.split('?')[0]}`]);
    void reply.status(404).send(q.toJSON());
  });
}

/** The path of a request as an error message may show it: without the query, and cut short when it is long. */
function shownPath(request: FastifyRequest): string {
  const path = request.url.split('?')[0]!;
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
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

/** Answers with the coded error; a 5xx is a bug or an outage, so the original error is logged. */
function send(q: QuittanceError, err: unknown, request: FastifyRequest, reply: FastifyReply): void {
  if (q.statusCode >= 500) request.log.error({ err }, 'request failed');
  void reply.status(q.statusCode).send(q.toJSON());
}

export function toQuittanceError(err: unknown, bodyLimit?: number): QuittanceError {
  if (err instanceof QuittanceError) return err;
  const e = err as FastifyError & { validation?: { instancePath: string; message?: string }[]; validationContext?: string };
  if (e.validation) {
    const first = e.validation[0];
    const where = `${e.validationContext ?? 'body'}${first?.instancePath ?? ''}`;
    return new QuittanceError('QUITTANCE_ERR_VALIDATION', [`${where} ${first?.message ?? 'is invalid'}`], { cause: err });
  }
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new QuittanceError('QUITTANCE_ERR_REQUEST_TOO_LARGE', [bodyLimit ?? 'the'], { cause: err });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new QuittanceError('QUITTANCE_ERR_UNSUPPORTED_MEDIA_TYPE', ['(send application/json)'], { cause: err });
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new QuittanceError('QUITTANCE_ERR_INVALID_JSON', ['empty body'], { cause: err });
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return new QuittanceError('QUITTANCE_ERR_VALIDATION', [`${reasonPhrase(e.statusCode)}: ${e.message}`], { cause: err });
  }
  return new QuittanceError('QUITTANCE_ERR_INTERNAL', [], { cause: err });
}
