/** A small Server-Sent Events client over `fetch`, for tests. */
import { waitUntil } from './wait.js';

/** One message: `id`, `event` and parsed `data`. */
export interface SseMessage {
  id: string;
  event: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- an event is whatever Payreq sent
  data: any;
  at: number;
}

/** An open stream: the messages and comments so far, and a way to wait and to close. */
export interface SseStream {
  status: number;
  messages: SseMessage[];
  comments: string[];
  waitFor(predicate: (messages: SseMessage[]) => boolean, timeoutMs?: number): Promise<void>;
  close(): void;
}

/** Opens `url` with the bearer `key` (and `Last-Event-ID` when given). */
export async function openSse(url: string, key: string, lastEventId?: string): Promise<SseStream> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${key}`, accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) }, signal: controller.signal });
  const stream: SseStream = {
    status: res.status,
    messages: [],
    comments: [],
    waitFor: (predicate, timeoutMs = 5000) => waitUntil(() => predicate(stream.messages), timeoutMs, 'sse condition', 10),
    close: () => controller.abort(),
  };
  if (res.status !== 200 || !res.body) return stream;
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  void (async () => {
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let cut: number;
        while ((cut = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const fields: Record<string, string> = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) stream.comments.push(line.slice(1).trim());
            const match = /^(\w+): ?(.*)$/.exec(line);
            if (match?.[1]) fields[match[1]] = match[2] ?? '';
          }
          if (fields['data'] !== undefined) stream.messages.push({ id: fields['id'] ?? '', event: fields['event'] ?? '', data: JSON.parse(fields['data']), at: Date.now() });
        }
      }
    } catch {
      // aborted
    }
  })();
  return stream;
}
