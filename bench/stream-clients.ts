/**
 * The stream bench's subscribers, in a process of their own: opens `perParty` live streams
 * (`GET /v1/events/stream?partyId=…`) for each party of the spec (a JSON file named by the first
 * argument: `{base, key, partyIds, perParty}`), in batches, and prints `ready <n>` once all are
 * open. Each `payment_request.created` message's latency is its receipt time minus the event's
 * `createdAt`. On SIGTERM it prints one JSON line `{open, received, p50, p99}` (ms) and exits.
 */
import { readFileSync } from 'node:fs';
import { request } from 'node:http';

const spec = JSON.parse(readFileSync(process.argv[2] as string, 'utf8')) as { base: string; key: string; partyIds: string[]; perParty: number };
const latencies: number[] = [];
let open = 0;

function subscribe(partyId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const url = new URL(`/v1/events/stream?partyId=${partyId}&types=payment_request.created`, spec.base);
    const req = request(url, { agent: false, headers: { authorization: `Bearer ${spec.key}`, accept: 'text/event-stream' } }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`stream answered ${res.statusCode}`));
      open++;
      res.setEncoding('utf8');
      let buffer = '';
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const message = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = /^data: (.*)$/m.exec(message)?.[1];
          if (data) latencies.push(Date.now() - Date.parse((JSON.parse(data) as { createdAt: string }).createdAt));
        }
      });
      res.on('close', () => open--);
      resolve();
    });
    req.on('error', reject);
    req.end();
  });
}

const all = spec.partyIds.flatMap((id) => Array.from({ length: spec.perParty }, () => id));
for (let i = 0; i < all.length; i += 250) await Promise.all(all.slice(i, i + 250).map(subscribe));
process.stdout.write(`ready ${open}\n`);
process.once('SIGTERM', () => {
  const sorted = [...latencies].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? null;
  process.stdout.write(`${JSON.stringify({ open, received: sorted.length, p50: at(0.5), p99: at(0.99) })}\n`);
  process.exit(0);
});
