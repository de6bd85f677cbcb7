/**
 * The `payreq` commands that talk to a running server, on top of the SDK (`sdk/`): keys,
 * parties, accounts, requests, `events tail` and `webhooks listen`. The server is `--url` or
 * `PAYREQ_URL` (default `http://127.0.0.1:3000`), the key `--api-key` or `PAYREQ_API_KEY`.
 * Output is a table for people, or JSON with `--json`; a refusal prints the problem and exits 1.
 */
import { type Command, InvalidArgumentError } from 'commander';
import { createClient, type Event, EVENT_TYPES, type EventType, type PayreqClient, PayreqConnectionError, PayreqError } from '../../sdk/src/index.js';
import { standardPayload } from '../webhooks/standard-payload.js';
import { generateWebhookSecret, signWebhook } from '../webhooks/signing.js';

/** Options every client command takes. */
interface GlobalOptions {
  url?: string;
  apiKey?: string;
  json?: boolean;
}

type Row = Record<string, unknown>;

/** Prints rows as an aligned table (the given columns), or as JSON (`options.json`). */
export function print(options: GlobalOptions, value: unknown, columns: string[]): void {
  if (options.json) {
    process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
    return;
  }
  const rows = (Array.isArray(value) ? value : [value]) as Row[];
  const cell = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'string' ? v : typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd();
  process.stdout.write(`${line(columns.map((c) => c.toUpperCase()))}\n${rows.map((r) => line(columns.map((c) => cell(r[c])))).join('\n')}\n`);
}

function clientOf(command: Command): { payreq: PayreqClient; options: GlobalOptions } {
  const options = command.optsWithGlobals<GlobalOptions>();
  const apiKey = options.apiKey ?? process.env['PAYREQ_API_KEY'];
  if (!apiKey) throw new UsageError('an API key is needed: --api-key or PAYREQ_API_KEY');
  const baseUrl = options.url ?? process.env['PAYREQ_URL'] ?? 'http://127.0.0.1:3000';
  return { payreq: createClient({ baseUrl, apiKey }), options };
}

/** A mistake in how the command was called: exit code 2. */
export class UsageError extends Error {}

/**
 * Runs a command's body, turning failures into a message on stderr and an exit code: 1 for a
 * refusal by the server or an unreachable server, 2 for a usage mistake.
 */
function action<A extends unknown[]>(fn: (...args: A) => Promise<void>): (...args: A) => Promise<void> {
  return async (...args: A) => {
    try {
      await fn(...args);
    } catch (err) {
      if (err instanceof PayreqError) {
        process.stderr.write(`error: ${err.status} ${err.problem.code}: ${err.problem.detail}\n${(err.problem.errors ?? []).map((e) => `  ${e.path}: ${e.message}\n`).join('')}`);
        process.exitCode = 1;
      } else if (err instanceof PayreqConnectionError || err instanceof UsageError) {
        process.stderr.write(`error: ${err.message}\n`);
        process.exitCode = err instanceof UsageError ? 2 : 1;
      } else {
        throw err;
      }
    }
  };
}

/**
 * Parses a `--grant` option, added to the `previous` ones (it repeats): `permission`,
 * `permission:account:<id>` or `permission:party:<id>`. The permission's name is the server's to check.
 * @throws InvalidArgumentError (a usage mistake) when the text has none of these shapes.
 */
export function parseGrant(text: string, previous: { permission: string; accountId?: string; partyId?: string }[] = []) {
  const match = /^([a-z_]+(?::[a-z_]+)?)(?::(account|party):([^:]+))?$/.exec(text);
  if (!match?.[1]) throw new InvalidArgumentError(`"${text}" is not permission, permission:account:<id> or permission:party:<id>`);
  const grant = match[2] === undefined ? { permission: match[1] } : { permission: match[1], [match[2] === 'account' ? 'accountId' : 'partyId']: match[3] ?? '' };
  return [...previous, grant];
}

function parseTypes(text: string): EventType[] {
  const types = text.split(',').map((t) => t.trim());
  for (const type of types) if (!(EVENT_TYPES as readonly string[]).includes(type)) throw new InvalidArgumentError(`"${type}" is not an event type`);
  return types as EventType[];
}

function positiveInt(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a positive integer');
  return n;
}

/** One readable line for an event: time, type, request, status, amount. */
export function eventLine(event: Event): string {
  const data = event.data as { paymentRequest?: { status?: string; amount?: string; currency?: string; amountPaid?: string } };
  const pr = data.paymentRequest;
  const what = pr ? `${pr.status ?? ''} ${pr.amountPaid ?? ''}/${pr.amount ?? ''} ${pr.currency ?? ''}` : '';
  return `${event.createdAt}  ${event.type.padEnd(27)} ${event.paymentRequestId ?? '-'}  ${what}`.trimEnd();
}

const REQUEST_COLUMNS = ['id', 'number', 'status', 'amount', 'currency', 'amountPaid', 'expiresAt', 'paymentLink'];

/** Adds the client commands to `program`. */
export function addClientCommands(program: Command): void {
  program
    .option('--url <url>', 'the Payreq server (default: PAYREQ_URL or http://127.0.0.1:3000)')
    .option('--api-key <key>', 'the API key (default: PAYREQ_API_KEY)')
    .option('--json', 'print JSON instead of a table');

  const keys = program.command('keys').description('API keys');
  keys
    .command('create')
    .description('create an API key (its secret is printed once)')
    .requiredOption('--grant <grant>', 'a grant: permission, or permission:account:<id> / permission:party:<id> (repeatable)', parseGrant)
    .option('--name <name>', 'a name to recognize it by')
    .option('--signing-secret', 'also issue a signing secret (AlphaPo request signatures)')
    .option('--expires-in <seconds>', 'seconds until the key stops authenticating (default: never)', positiveInt)
    .action(action(async (opts: { grant: { permission: string; accountId?: string; partyId?: string }[]; name?: string; signingSecret?: boolean; expiresIn?: number }, command: Command) => {
      const { payreq, options } = clientOf(command);
      const key = await payreq.apiKeys.create({ grants: opts.grant as never, ...(opts.name ? { name: opts.name } : {}), ...(opts.signingSecret ? { signingSecret: true } : {}), ...(opts.expiresIn === undefined ? {} : { expiresIn: opts.expiresIn }) });
      print(options, key, ['id', 'mode', 'name', 'expiresAt', 'secret', 'signingSecret']);
    }));
  keys
    .command('list')
    .description("list the org's API keys in the key's mode (never their secrets)")
    .action(action(async (_opts: unknown, command: Command) => {
      const { payreq, options } = clientOf(command);
      print(options, (await payreq.apiKeys.list({ limit: 100 })).data, ['id', 'name', 'prefix', 'createdAt', 'expiresAt', 'lastUsedAt', 'revokedAt']);
    }));
  keys
    .command('revoke <id>')
    .description('revoke an API key at once')
    .action(action(async (id: string, _opts: unknown, command: Command) => {
      const { payreq, options } = clientOf(command);
      print(options, await payreq.apiKeys.revoke(id), ['id', 'name', 'revokedAt']);
    }));

  program
    .command('parties')
    .description('parties (users and legal entities)')
    .command('create')
    .description('create a party')
    .requiredOption('--type <type>', 'user or legal_entity')
    .option('--username <username>')
    .option('--phone <phone>', 'an international number, such as +14155550100')
    .option('--email <email>')
    .option('--name <name>', 'a legal entity\'s name')
    .action(action(async (opts: { type: string; username?: string; phone?: string; email?: string; name?: string }, command: Command) => {
      const { payreq, options } = clientOf(command);
      if (opts.type !== 'user' && opts.type !== 'legal_entity') throw new UsageError('--type is user or legal_entity');
      const party = await payreq.parties.create({ type: opts.type, ...(opts.username ? { username: opts.username } : {}), ...(opts.phone ? { phone: opts.phone } : {}), ...(opts.email ? { email: opts.email } : {}), ...(opts.name ? { name: opts.name } : {}) });
      print(options, party, ['id', 'number', 'type', 'username', 'name']);
    }));

  const accounts = program.command('accounts').description('accounts');
  accounts
    .command('create')
    .description('open an account for a party (a wallet account with --address)')
    .requiredOption('--party <id>', 'the party')
    .requiredOption('--currency <code>', 'an ISO 4217 code or a token id (USDC-mainnet)')
    .option('--address <address>', 'a wallet account\'s EVM address')
    .action(action(async (opts: { party: string; currency: string; address?: string }, command: Command) => {
      const { payreq, options } = clientOf(command);
      const account = await payreq.accounts.create({ partyId: opts.party, currency: opts.currency, ...(opts.address ? { address: opts.address } : {}) });
      print(options, account, ['id', 'number', 'currency', 'type', 'balance']);
    }));
  accounts
    .command('fund <id> <amount>')
    .description('test mode: credit an account (a decimal string)')
    .action(action(async (id: string, amount: string, _opts: unknown, command: Command) => {
      const { payreq, options } = clientOf(command);
      print(options, await payreq.accounts.fund(id, amount), ['id', 'currency', 'balance']);
    }));

  const requests = program.command('requests').description('payment requests');
  requests
    .command('create')
    .description('create a payment request')
    .requiredOption('--amount <amount>', 'a decimal string, such as 25.50')
    .requiredOption('--currency <code>')
    .requiredOption('--payee <accountId>', 'the account that receives')
    .option('--payer-username <username>')
    .option('--payer-party <id>')
    .option('--payer-account <id>')
    .option('--expires-in <seconds>', 'lifetime in seconds', positiveInt, 3600)
    .option('--description <text>')
    .option('--external-id <id>')
    .action(action(async (opts: { amount: string; currency: string; payee: string; payerUsername?: string; payerParty?: string; payerAccount?: string; expiresIn: number; description?: string; externalId?: string }, command: Command) => {
      const { payreq, options } = clientOf(command);
      const payers = [opts.payerUsername && { username: opts.payerUsername }, opts.payerParty && { partyId: opts.payerParty }, opts.payerAccount && { accountId: opts.payerAccount }].filter(Boolean);
      if (payers.length > 1) throw new UsageError('name the payer once: --payer-username, --payer-party or --payer-account');
      const pr = await payreq.paymentRequests.create({
        amount: opts.amount,
        currency: opts.currency,
        payee: { accountId: opts.payee },
        expiresIn: opts.expiresIn,
        ...(payers[0] ? { payer: payers[0] } : {}),
        ...(opts.description ? { description: opts.description } : {}),
        ...(opts.externalId ? { externalId: opts.externalId } : {}),
      });
      print(options, pr, REQUEST_COLUMNS);
    }));
  requests
    .command('get <id>')
    .description('show a payment request')
    .action(action(async (id: string, _opts: unknown, command: Command) => {
      const { payreq, options } = clientOf(command);
      print(options, await payreq.paymentRequests.get(id), REQUEST_COLUMNS);
    }));
  requests
    .command('list')
    .description('list payment requests, most recent first')
    .option('--status <status>')
    .option('--limit <n>', '1 to 100', positiveInt, 20)
    .action(action(async (opts: { status?: string; limit: number }, command: Command) => {
      const { payreq, options } = clientOf(command);
      const page = await payreq.paymentRequests.list({ limit: opts.limit, ...(opts.status ? { status: opts.status as never } : {}) });
      print(options, options.json ? page : page.data, REQUEST_COLUMNS);
    }));
  requests
    .command('cancel <id>')
    .description('the payee cancels a pending request')
    .action(action(async (id: string, _opts: unknown, command: Command) => {
      const { payreq, options } = clientOf(command);
      print(options, await payreq.paymentRequests.cancel(id), REQUEST_COLUMNS);
    }));
  requests
    .command('approve <id>')
    .description('the payer pays from a ledger account')
    .requiredOption('--account <id>', 'the paying account')
    .action(action(async (id: string, opts: { account: string }, command: Command) => {
      const { payreq, options } = clientOf(command);
      print(options, await payreq.paymentRequests.approve(id, { accountId: opts.account }), REQUEST_COLUMNS);
    }));

  program
    .command('events')
    .description('events')
    .command('tail')
    .description('follow the live stream, one line per event (Ctrl-C ends)')
    .option('--party <id>', 'only events of requests this party is payee or payer of')
    .option('--types <types>', 'comma-separated event types', parseTypes)
    .action(action(async (opts: { party?: string; types?: EventType[] }, command: Command) => {
      const { payreq, options } = clientOf(command);
      for await (const event of payreq.events.stream({ ...(opts.party ? { partyId: opts.party } : {}), ...(opts.types ? { types: opts.types } : {}) })) {
        process.stdout.write(`${options.json ? JSON.stringify(event) : eventLine(event)}\n`);
      }
    }));

  program
    .command('webhooks')
    .description('webhooks')
    .command('listen')
    .description('forward each live event to a local URL as a signed Standard Webhooks delivery (no public URL needed)')
    .requiredOption('--forward-to <url>', 'where to POST each event, such as http://localhost:4000/hook')
    .option('--party <id>', 'only events of requests this party is payee or payer of')
    .option('--types <types>', 'comma-separated event types', parseTypes)
    .action(action(async (opts: { forwardTo: string; party?: string; types?: EventType[] }, command: Command) => {
      const { payreq, options } = clientOf(command);
      let target: URL;
      try {
        target = new URL(opts.forwardTo);
      } catch {
        throw new UsageError(`--forward-to ${opts.forwardTo} is not a URL`);
      }
      const secret = generateWebhookSecret();
      // With --json: JSON lines, the first naming the secret, then one per delivery.
      const report = (line: string, json: Row) => process.stdout.write(`${options.json ? JSON.stringify(json) : line}\n`);
      report(`Forwarding events to ${target.href}\nSigning secret (verify with it): ${secret}`, { forwardTo: target.href, secret });
      for await (const event of payreq.events.stream({ ...(opts.party ? { partyId: opts.party } : {}), ...(opts.types ? { types: opts.types } : {}) })) {
        // The body Payreq's own standard webhooks carry ({type, timestamp, data}), rendered by the same function.
        const body = standardPayload({ type: event.type, data: event.data, sequence: event.sequence, createdAt: Date.parse(event.createdAt) });
        const headers = signWebhook(event.id, new Date(), body, [secret]);
        const started = Date.now();
        try {
          const res = await fetch(target, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body, signal: AbortSignal.timeout(15_000) });
          await res.body?.cancel();
          const ms = Date.now() - started;
          report(`${event.type.padEnd(27)} ${event.id}  -> ${res.status} (${ms} ms)`, { eventId: event.id, type: event.type, status: res.status, ms });
        } catch (err) {
          const error = err instanceof Error ? err.message : String(err);
          report(`${event.type.padEnd(27)} ${event.id}  -> failed: ${error}`, { eventId: event.id, type: event.type, status: null, error });
        }
      }
    }));
}
