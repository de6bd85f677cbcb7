/**
 * The contract of a dialect: a provider's API spoken over Payreq's use cases, served under its
 * own prefix with its own auth, error shapes and webhook format (docs/adding-a-dialect.md). The
 * http layer owns the contract and never names a dialect: `buildApp` registers the list it is
 * given (src/dialects/index.ts `DIALECTS` in the server), and the hardening suites read the same
 * list, so a dialect is its folder plus one line in that list.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ZodType } from 'zod';
import type { Deps } from '../app/deps.js';
import type { WebhookFormatModule } from '../webhooks/formats.js';

/** The environment a dialect reads its settings from (`process.env`, or a test's own). */
export type Env = Readonly<Record<string, string | undefined>>;

/** Answers an error in a route family's own format (a Fastify error handler). */
export type ErrorSender = (err: unknown, request: FastifyRequest, reply: FastifyReply) => Promise<void>;

/** What a dialect's routes plugin is registered with. */
export interface DialectRouteOptions<S> {
  /** The use cases' dependencies. */
  deps: Deps;
  /** The dialect's own settings, as its {@link Dialect.readSettings} returned them. */
  settings: S;
}

/**
 * An OpenAPI 3.1 Security Scheme Object (https://spec.openapis.org/oas/v3.1.0#security-scheme-object)
 * of the kinds a dialect uses: a key in a header, query or cookie, or an HTTP scheme (bearer).
 */
export type SecurityScheme =
  | { type: 'apiKey'; in: 'header' | 'query' | 'cookie'; name: string; description?: string }
  | { type: 'http'; scheme: string; bearerFormat?: string; description?: string };

/** An API key and, for dialects whose requests are signed with it, the key's signing secret. */
export interface Credentials {
  /** The API key's secret (`prq_test_…`). */
  key: string;
  /** The key's signing secret; absent: a signature a dialect needs cannot be right. */
  signingSecret?: string | undefined;
}

/** How a caller authenticates on a dialect: what the hardening suites send with a key. */
export interface DialectAuth {
  /** A short name for the suites' reports (`x-api-key`, `processing-key`). */
  family: string;
  /**
   * The request headers that carry `credentials` for a request with `body` (the exact bytes
   * sent, or undefined when there is none): e.g. `{"x-api-key": key}`, or a key plus a
   * signature of the body made with the signing secret.
   */
  headers(credentials: Credentials, body: string | undefined): Record<string, string>;
  /** True when requests are signed with the key's signing secret, so callers need a key that has one. */
  signed?: boolean;
}

/** A route of the dialect, relative to its prefix. */
export interface DialectProbe {
  method: 'GET' | 'POST';
  /** The path below the prefix (`/v2/request`), with its query if it needs one. */
  path: string;
  /** What the route answers a body over the server's limit (default 413; Centrapay answers 400). */
  tooLargeStatus?: number;
}

/** What the hardening suites (test/hardening) need to know of a dialect. */
export interface DialectHardening {
  /** How a caller authenticates on the dialect's routes. */
  auth: DialectAuth;
  /**
   * Paths below the prefix (`/.well-known/`) whose routes need no credentials; the isolation
   * suite does not send them a key.
   */
  publicPaths?: readonly string[];
  /**
   * True when `body` (parsed JSON, or text) is a refusal in the dialect's documented error format
   * for `status` (docs/dialects/<name>.md).
   */
  isDocumentedError(status: number, contentType: string, body: unknown): boolean;
  /** An authenticated route the rate-limit suite may call repeatedly with a key (a cheap read). */
  read: DialectProbe;
  /** An authenticated route taking a JSON body, for the body-limit suite. */
  write: DialectProbe;
}

/**
 * A dialect. `S` is the type of its own settings. Each dialect folder exports one
 * (`src/dialects/<name>/dialect.ts`), listed once in `DIALECTS` (src/dialects/index.ts).
 */
export interface Dialect<S = unknown> {
  /** The dialect's name, as in its prefix and docs (`pismo`, `request-network`). */
  name: string;
  /** Where its routes are served, without a trailing slash (`/compat/pismo`). */
  prefix: string;
  /**
   * Reads and validates the dialect's own `PAYREQ_<NAME>_*` variables from `env` (defaults for
   * the absent ones); the server reads them once at start, so a bad value stops it.
   * @throws Error naming the variable and the expected form, for an invalid value.
   */
  readSettings(env: Env): S;
  /**
   * The Fastify plugin registering its routes, on a scope of their own under {@link prefix}: it
   * sets its scope's error and not-found handlers and its auth hook.
   */
  routes(scope: FastifyInstance, options: DialectRouteOptions<S>, done: (err?: Error) => void): void;
  /**
   * Answers in the dialect's format the refusals Fastify makes before routing (a broken
   * percent-escape, an overlong path parameter) to paths under its prefix.
   */
  sendError: ErrorSender;
  /** Its webhook formats by name (the `format` of a `/v1` webhook endpoint); absent: none. */
  webhookFormats?: Readonly<Record<string, WebhookFormatModule>>;
  /** The OpenAPI security schemes its routes name, merged into `components.securitySchemes`. */
  securitySchemes?: Readonly<Record<string, SecurityScheme>>;
  /** What the hardening suites need to know of it. */
  hardening: DialectHardening;
  /**
   * The schema of its own data on a payment request: the slice `dialectData[name]` that its
   * routes write on create and read back (fields Payreq's model has no place for), kept apart from
   * the caller's `metadata`, never shown or accepted on `/v1` (docs/api.md, "Metadata"). Absent:
   * the dialect keeps no data of its own (AlphaPo).
   */
  dataSchema?: ZodType;
}

/** A dialect with the settings read for it. */
export interface ConfiguredDialect<S = unknown> {
  dialect: Dialect<S>;
  settings: S;
}

/**
 * Reads each dialect's settings from `env`.
 * @throws Error from the first dialect whose settings are invalid, or when two dialects share a
 *   name or a prefix.
 */
export function configureDialects(dialects: readonly Dialect[], env: Env): ConfiguredDialect[] {
  const names = new Set<string>();
  const prefixes = new Set<string>();
  for (const d of dialects) {
    if (names.has(d.name) || prefixes.has(d.prefix)) throw new Error(`two dialects are named ${d.name} or served under ${d.prefix}`);
    names.add(d.name);
    prefixes.add(d.prefix);
  }
  return dialects.map((dialect) => ({ dialect, settings: dialect.readSettings(env) }));
}
