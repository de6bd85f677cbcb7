/**
 * The hosted pay page behind `paymentLink`, for whoever holds the link (no API key):
 *
 * - `GET /pay/{code}`: what is asked and by whom, amounts in the reader's locale, the expiry with
 *   a live countdown, the status; in test mode a "Simulate payment" button; a link back to the
 *   store, and on to `redirectUrls.success` once paid.
 * - `GET /pay/{code}/events`: a read-only Server-Sent Events stream of that one request's public
 *   status (`status`, `amount`, `amountPaid`, `currency`), so the page turns to paid, partly
 *   paid, expired or failed without a reload. It reads through the process's event feed: a
 *   request's stream re-reads it only when an event of that request arrives.
 * - `GET /pay/{code}/transactions?wallet=0x…&currency=…`: the transactions a wallet signs to pay
 *   all that is owed on chain (the `/v1` pay call's, quantities in hex for EIP-1193), behind the
 *   page's "Pay with wallet" ({@link PAY_PAGE_SCRIPT}).
 * - `POST /pay/{code}/simulate`: test mode only, pays what is owed (an external payment).
 *
 * Safe to expose: only the request's public fields, a strict Content-Security-Policy (scripts
 * and styles only with the response's nonce), no framing, and every `/pay` route rate-limited
 * per client address so codes cannot be enumerated. Unknown or malformed codes get a plain 404.
 */
import { randomBytes } from 'node:crypto';
import rateLimit from '@fastify/rate-limit';
import { clientErrorStatus, isJsonError, normalizeError } from './errors.js';
import QRCode from 'qrcode';
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import type { Deps } from '../app/deps.js';
import { type EventFeed, LOOKBACK_MS, type StreamSlots } from '../app/event-stream.js';
import { findRequestByCode, preparePaymentByCode, publicStatus, simulatePayment } from '../app/pay-page.js';
import { presentPaymentRequest } from '../app/present.js';
import { isDomainError } from '../domain/errors.js';
import { formatAmount, formatForReader } from '../domain/money.js';
import { PAY_PAGE_SCRIPT } from './pay-page-script.js';
import { STATUS_OF } from './problem.js';
import { clientAddress } from './rate-limit.js';

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** The reader's locale: the first tag of `Accept-Language` (`de-CH,de;q=0.9` → `de-CH`), else `en`. */
export function readerLocale(acceptLanguage: string | undefined): string {
  const first = acceptLanguage?.split(',')[0]?.split(';')[0]?.trim();
  if (!first || first === '*') return 'en';
  try {
    return Intl.getCanonicalLocales(first)[0] ?? 'en';
  } catch {
    return 'en';
  }
}

/** Options of the pay page routes. */
export interface PayPageOptions {
  deps: Deps;
  /** Requests per minute per client address on every `/pay` route (default 120). */
  rateLimitPerMinute?: number;
  /** The process's event feed: an open status stream re-reads its request only when an event of that request arrives. */
  feed: EventFeed;
  /** The process's count of live streams, shared with `/v1/events/stream`. */
  slots: StreamSlots;
  /** Status streams (`/pay/{code}/events`) open at once per client address in this process; 0: no cap. */
  maxStreamsPerAddress: number;
}

const NOT_FOUND = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Not found</title></head><body><main><h1>No such payment request</h1><p>Check the link you were given.</p></main></body></html>';

function securityHeaders(reply: FastifyReply, nonce: string): void {
  void reply
    .header('content-security-policy', `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', 'no-store');
}

const STATUS_WORDS: Record<string, string> = {
  pending: 'Waiting for payment',
  processing: 'Processing',
  paid: 'Paid',
  failed: 'Failed',
  cancelled: 'Cancelled',
  declined: 'Declined',
  expired: 'Expired',
  refunded: 'Refunded',
  partial: 'Partially paid',
};

/**
 * The pay page's error handler. Its errors are `{error, detail}` with the code's status (the
 * page is no API and has no problem documents): its handlers' refusals, and what Fastify refuses
 * before a handler runs (a body that is not JSON, or too large, or of another media type, a
 * broken path…) with that refusal's 4xx status.
 */
export async function sendPayPageError(error: unknown, request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const err = normalizeError(error);
  if (isDomainError(err)) return void (await reply.code(STATUS_OF[err.code]).send({ error: err.code, detail: err.message }));
  const status = clientErrorStatus(err);
  // The rate limit's refusal, with its retry-after header already set.
  if (status === 429) return void (await reply.code(429).type('text/plain; charset=utf-8').send('Too many requests: try again in a minute.'));
  if (status !== undefined) {
    const code = status === 413 ? 'payload_too_large' : status === 415 ? 'unsupported_media_type' : status === 414 ? 'uri_too_long' : status === 400 && isJsonError(err) ? 'malformed_json' : 'bad_request';
    return void (await reply.code(status).send({ error: code, detail: code === 'malformed_json' ? 'the body is not valid JSON' : (err as Error).message }));
  }
  // Anything else is a bug.
  request.log.error({ err }, 'pay page failed');
  await reply.code(500).type('text/plain; charset=utf-8').send('Something went wrong.');
}

/** Registers the pay page routes (their own scope, rate-limited). */
export const payPageRoutes: FastifyPluginAsync<PayPageOptions> = async (scope: FastifyInstance, options) => {
  const { deps } = options;
  await scope.register(rateLimit, { max: options.rateLimitPerMinute ?? 120, timeWindow: 60_000 });
  scope.setErrorHandler(sendPayPageError);
  const readable = (amount: string, code: string, locale: string) => {
    const currency = deps.currencies.get(code);
    return formatForReader(amount, { ...currency, symbol: currency.token?.symbol }, locale);
  };

  scope.get<{ Params: { code: string } }>('/pay/:code', { schema: { hide: true } }, async (request, reply) => {
    const nonce = randomBytes(16).toString('base64');
    securityHeaders(reply, nonce);
    const pr = await findRequestByCode(deps, request.params.code);
    if (!pr) return reply.code(404).type('text/html; charset=utf-8').send(NOT_FOUND);
    const now = deps.clock();
    const view = presentPaymentRequest(pr, deps, now);
    const locale = readerLocale(request.headers['accept-language']);
    const merchant = view.payee.name ?? (typeof view.merchant?.['name'] === 'string' ? view.merchant['name'] : null);
    const pending = view.status === 'pending';
    const options = (
      await Promise.all(
        view.paymentOptions.map(async (o) => {
          const amount = escapeHtml(readable(o.amount, o.currency, locale));
          if (!o.uri || !o.address || o.chainId === null) return `<li class="option"><p class="option-amount">${amount}</p></li>`;
          const network = escapeHtml(o.network ?? '');
          const symbol = escapeHtml(deps.currencies.get(o.currency).token?.symbol ?? o.currency);
          const wallet = pending ? `<p><button type="button" class="wallet" data-action data-currency="${escapeHtml(o.currency)}" data-chain-id="${o.chainId}" data-network="${network}">Pay ${amount} with wallet</button></p>` : '';
          // A mobile wallet scans the option's EIP-681 URI; the address, amount and reference are there to copy too.
          const qr = await QRCode.toDataURL(o.uri, { errorCorrectionLevel: 'M', margin: 2, width: 240 });
          return `<li class="option"><p class="option-amount">${amount} on ${network}</p>${wallet}<figure><img src="${qr}" width="240" height="240" alt="QR code: pay ${amount} with a mobile wallet" data-uri="${escapeHtml(o.uri)}"><figcaption>Or scan it with a mobile wallet: it calls Request Network's payment proxy with the payment reference.</figcaption></figure>
<dl><dt>Payee address</dt><dd><code>${escapeHtml(o.address)}</code> <button type="button" class="copy" data-copy="${escapeHtml(o.address)}">Copy address</button></dd>
<dt>Amount</dt><dd><code>${escapeHtml(o.amount)}</code> ${symbol} <button type="button" class="copy" data-copy="${escapeHtml(o.amount)}">Copy amount</button></dd>
<dt>Payment reference</dt><dd><code>${escapeHtml(o.paymentReference ?? '')}</code></dd></dl></li>`;
        }),
      )
    ).join('');
    const items = view.lineItems?.length
      ? `<table><caption>Items</caption><thead><tr><th scope="col">Item</th><th scope="col">Qty</th><th scope="col">Price</th></tr></thead><tbody>${view.lineItems
          .map((li) => `<tr><td>${escapeHtml(li.name)}</td><td>${escapeHtml(li.qty)}</td><td>${escapeHtml(readable(li.price, view.currency, locale))}</td></tr>`)
          .join('')}</tbody></table>`
      : '';
    const success = view.redirectUrls?.success;
    const partial = pending && pr.amountPaid > 0n;
    const html = `<!doctype html>
<html lang="${escapeHtml(locale)}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Pay ${escapeHtml(readable(view.amount, view.currency, locale))}${merchant ? ` to ${escapeHtml(merchant)}` : ''}</title>
<style nonce="${nonce}">
body{font-family:system-ui,sans-serif;color:#111;background:#fff;max-width:32rem;margin:0 auto;padding:1.5rem 1rem;line-height:1.5}
h1{font-size:1.1rem;font-weight:500;margin:0}.amount{font-size:2.4rem;font-weight:650;margin:.25rem 0;overflow-wrap:anywhere}
.status{font-weight:600}.muted{color:#444}code{overflow-wrap:anywhere}table{width:100%;border-collapse:collapse}td,th{text-align:left;padding:.25rem 0}
button,a.button{display:inline-block;font:inherit;padding:.7rem 1.1rem;border-radius:.4rem;border:2px solid #0b5394;background:#0b5394;color:#fff;text-decoration:none;cursor:pointer}
a.secondary,button.copy{background:#fff;color:#0b5394}button.copy{padding:.15rem .5rem;font-size:.9rem}
button:disabled{opacity:.6;cursor:wait}ul.options{list-style:none;padding:0}li.option{border-top:1px solid #ccc;padding:.5rem 0}
figure{margin:.5rem 0}dd{margin:0 0 .4rem}dt{font-weight:600}.steps li[data-state=error]{color:#a30000;font-weight:600}button:focus-visible,a:focus-visible{outline:3px solid #f4b400;outline-offset:2px}
</style></head>
<body><main id="pay" data-code="${escapeHtml(view.code)}" data-status="${escapeHtml(view.status)}" data-expires-at="${escapeHtml(view.expiresAt)}" data-success="${escapeHtml(success ?? '')}" data-words="${escapeHtml(JSON.stringify(STATUS_WORDS))}">
<h1>${merchant ? `${escapeHtml(merchant)} asks you to pay` : 'Payment requested'}</h1>
<p class="amount" data-testid="amount">${escapeHtml(readable(view.amount, view.currency, locale))}</p>
${view.description ? `<p data-testid="description">${escapeHtml(view.description)}</p>` : ''}
${items}
<p>Status: <span class="status" id="status" data-testid="status" role="status" aria-live="polite">${escapeHtml((partial ? STATUS_WORDS['partial'] : STATUS_WORDS[view.status]) ?? view.status)}</span></p>
<p>Paid so far: <span id="paid">${escapeHtml(readable(view.amountPaid, view.currency, locale))}</span></p>
<p id="expiry" ${view.status === 'paid' || view.status === 'refunded' ? 'hidden' : ''}>Expires <time datetime="${escapeHtml(view.expiresAt)}">${escapeHtml(new Date(view.expiresAt).toLocaleString(locale, { timeZone: 'UTC', dateStyle: 'medium', timeStyle: 'short' }))} UTC</time>, in <span id="countdown" aria-label="time left">…</span></p>
<h2>Pay with</h2><ul class="options">${options}</ul>
<ol id="wallet-steps" class="steps" aria-label="Wallet payment progress" aria-live="polite" hidden></ol>
${pending && view.mode === 'test' ? '<p><button type="button" id="simulate" data-action>Simulate payment (test mode)</button></p>' : ''}
${success ? `<p><a class="button" id="continue" href="${escapeHtml(success)}" ${view.status === 'paid' ? '' : 'hidden'}>Continue</a></p>` : ''}
${view.redirectUrls?.store ? `<p><a class="button secondary" href="${escapeHtml(view.redirectUrls.store)}">Back to the store</a></p>` : ''}
<p class="muted">Reference <code>${escapeHtml(view.paymentReference)}</code></p>
</main>
<script nonce="${nonce}">${PAY_PAGE_SCRIPT}</script>
</body></html>`;
    return reply.type('text/html; charset=utf-8').send(html);
  });

  scope.get<{ Params: { code: string } }>('/pay/:code/events', { schema: { hide: true } }, async (request, reply) => {
    const first = await findRequestByCode(deps, request.params.code);
    if (!first) return reply.code(404).type('application/json').send({ error: 'not_found' });
    const locale = readerLocale(request.headers['accept-language']);
    const release = options.slots.take([[`address:${clientAddress(request)}`, options.maxStreamsPerAddress, 'per client address']]);
    const raw = reply.raw;
    reply.hijack();
    raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache, no-transform', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    let last = '';
    let reading = false;
    const send = async (): Promise<void> => {
      if (reading || raw.writableEnded) return;
      reading = true;
      try {
        const pr = await findRequestByCode(deps, request.params.code);
        if (!pr) return;
        const status = publicStatus(deps, pr, deps.clock());
        const text = JSON.stringify({ ...status, amountPaidText: readable(status.amountPaid, status.currency, locale) });
        if (text !== last) {
          last = text;
          raw.write(`event: status\ndata: ${text}\n\n`);
        }
      } catch (err) {
        request.log.warn({ err }, 'pay page status stream read failed');
      } finally {
        reading = false;
      }
    };
    // Re-read only when the feed brings an event of this request (from any process), and once at
    // the expiry, which the page shows as soon as it is due. The floor looks back so that an event
    // committed late, just before this stream opened, is not missed.
    const unsubscribe = options.feed.subscribe(first.orgId, first.mode, {
      floor: { createdAt: deps.clock() - LOOKBACK_MS, id: '' },
      deliver: (event) => {
        if (event.paymentRequestId === first.id) void send();
      },
    });
    const untilExpiry = first.expiresAt - deps.clock() + 50;
    const atExpiry = untilExpiry > 0 && untilExpiry < 2 ** 31 - 1 ? setTimeout(() => void send(), untilExpiry) : undefined;
    const heartbeat = setInterval(() => raw.write(': heartbeat\n\n'), 15_000);
    const end = (): void => {
      unsubscribe();
      clearTimeout(atExpiry);
      clearInterval(heartbeat);
      release();
    };
    raw.on('close', end);
    // A client gone before the listener was on: its 'close' has been and gone.
    if (raw.destroyed || request.raw.socket.destroyed) end();
    raw.write('retry: 2000\n\n');
    await send();
  });

  scope.get<{ Params: { code: string }; Querystring: Record<string, unknown> }>('/pay/:code/transactions', { schema: { hide: true } }, async (request, reply) => {
    const { wallet, currency } = request.query;
    if (typeof wallet !== 'string' || (currency !== undefined && typeof currency !== 'string')) {
      return reply.code(400).send({ error: 'validation_failed', detail: 'give wallet (an address) and at most one currency' });
    }
    const prepared = await preparePaymentByCode(deps, request.params.code, { wallet, currency });
    const { onChain, intent, reference } = prepared;
    return reply.send({
      chainId: onChain.chain.chainId,
      // EIP-1193's eth_sendTransaction takes quantities as hex.
      transactions: prepared.transactions.map((t) => ({ to: t.to, data: t.data, value: `0x${t.value.toString(16)}` })),
      metadata: prepared.metadata,
      payment: {
        currency: reference.currency,
        symbol: onChain.token.symbol,
        network: onChain.chain.network,
        amount: formatAmount(intent.amount, onChain.token.decimals),
        confirmations: onChain.chain.confirmations,
      },
    });
  });

  scope.post<{ Params: { code: string } }>('/pay/:code/simulate', { schema: { hide: true } }, async (request, reply) => {
    const pr = await simulatePayment(deps, request.params.code);
    return reply.send(publicStatus(deps, pr, deps.clock()));
  });
};
