import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * What a proxy does with one request: loses it before the server sees it, loses the server's answer, answers a status
 * itself, or holds the request or the server's answer back for a while (and then, with thenLose, loses the answer).
 * With answerAtOnce, the proxy answers that status itself at once and still passes the request on after
 * delayRequestMs, its answer lost: a request that overtakes the one sent again after it.
 */
export type Fault = 'lose request' | 'lose answer' | number | { delayRequestMs?: number; delayAnswerMs?: number; thenLose?: true; answerAtOnce?: number };

/**
 * A proxy in front of `target`: `fault` decides each request's fate (undefined: passed through, answer and all).
 * The worker tests' stand-in for a network or gateway between the worker and the server.
 */
export async function faultyProxy(target: string, fault: (method: string, path: string) => Fault | undefined): Promise<{ url: string; close: () => void }> {
  const proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const f = fault(req.method!, req.url!);
      if (f === 'lose request') return void req.socket.destroy();
      if (typeof f === 'number') return void res.writeHead(f, { 'content-type': 'text/plain' }).end('slow down');
      if (typeof f === 'object' && f.answerAtOnce !== undefined) res.writeHead(f.answerAtOnce, { 'content-type': 'text/plain' }).end('slow down');
      const answered = typeof f === 'object' && f.answerAtOnce !== undefined;
      const forward = () => httpRequest(target + req.url, { method: req.method, headers: req.headers }, (answer) => {
        const body: Buffer[] = [];
        answer.on('data', (c: Buffer) => body.push(c));
        answer.on('end', () => {
          if (answered) return;
          if (f === 'lose answer') return void req.socket.destroy();
          setTimeout(() => {
            if (typeof f === 'object' && f.thenLose) return void req.socket.destroy();
            res.writeHead(answer.statusCode!, answer.headers);
            res.end(Buffer.concat(body));
          }, typeof f === 'object' ? f.delayAnswerMs ?? 0 : 0);
        });
      }).end(Buffer.concat(chunks));
      setTimeout(forward, typeof f === 'object' ? f.delayRequestMs ?? 0 : 0);
    });
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  return { url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, close: () => proxy.close() };
}
