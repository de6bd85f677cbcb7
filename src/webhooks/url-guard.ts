/**
 * Where webhooks may be sent (SSRF guard, docs/webhooks.md "Where webhooks may go"). An endpoint
 * URL must be https and its host must be, and resolve only to, global unicast addresses: every
 * loopback, private (RFC 1918, unique local), link-local (cloud metadata), CGNAT, multicast,
 * reserved or special-purpose address is refused, including IPv6 forms that carry an IPv4
 * address (IPv4-mapped and -compatible, NAT64, 6to4, Teredo). Ranges are classified by
 * `ipaddr.js` (its tables follow IANA's special-purpose address registries). In live mode the
 * port must also be one of the allowed ports (443 and 8443 by default).
 *
 * The check runs when the endpoint is saved and again at every connection, through the socket's
 * own DNS lookup, so a name that later re-resolves to a refused address (DNS rebinding) is
 * refused before any byte is sent.
 *
 * Test mode follows the same rules unless the operator opts in (`PAYREQ_WEBHOOK_ALLOW_LOCAL_IN_TEST`):
 * then http and loopback hosts (127.0.0.0/8, ::1) are allowed too, for a receiver on a
 * developer's machine, and still never a private or link-local one.
 */
import { lookup as dnsLookup } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/** Resolves a host name to its addresses (the default is the system resolver, `dns.lookup` with `all`). */
export type Resolver = (hostname: string) => Promise<{ address: string; family: number }[]>;

/** The system resolver. */
export const systemResolver: Resolver = (hostname) =>
  new Promise((resolve, reject) => {
    dnsLookup(hostname, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)));
  });

/**
 * What an IP address is, for the guard: `public` (global unicast), `loopback` (127.0.0.0/8, ::1,
 * and ::ffff:127.0.0.0/104, which is the same host) or `private` (everything else, and anything
 * that is not an IP address).
 */
export type AddressClass = 'public' | 'loopback' | 'private';

/**
 * Classifies an IP address. IPv4-mapped IPv6 addresses are judged as the IPv4 address they
 * carry; IPv4 must be in `ipaddr.js`' `unicast` range (none of RFC 6890's special-purpose
 * blocks); IPv6 must be `unicast` there and inside 2000::/3, the global unicast space
 * (RFC 4291 §2.4; IANA's IPv6 address space registry), which leaves out the deprecated
 * IPv4-compatible ::/96 (`::7f00:1`), NAT64 (64:ff9b::/96, 64:ff9b:1::/48), site-local
 * fec0::/10 and the other unassigned space `ipaddr.js` calls `unicast`. 6to4 (2002::/16),
 * Teredo (2001::/32) and the rest of 2001::/23 are classified by `ipaddr.js` as special-purpose.
 */
export function classifyAddress(address: string): AddressClass {
  if (isIP(address) === 0) return 'private';
  let ip: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    ip = ipaddr.process(address);
  } catch {
    return 'private';
  }
  const range = ip.range();
  if (range === 'loopback') return 'loopback';
  if (range !== 'unicast') return 'private';
  if (ip instanceof ipaddr.IPv4) return 'public';
  return ((ip.parts[0] ?? 0) & 0xe000) === 0x2000 ? 'public' : 'private';
}

/** Why a URL was refused, or undefined when it is allowed. */
export type UrlVerdict = string | undefined;

/**
 * The rules for one mode. `allowedPorts` undefined: any port.
 * Live mode: https, public addresses, the allowed ports. Test mode: the same without the port
 * rule, or with the local opt-in http and loopback too.
 */
export interface UrlPolicy {
  requireHttps: boolean;
  allowLoopback: boolean;
  allowedPorts: readonly number[] | undefined;
}

/** The settings {@link policyFor} reads (from `PAYREQ_WEBHOOK_ALLOW_LOCAL_IN_TEST` and `PAYREQ_WEBHOOK_ALLOWED_PORTS`). */
export interface GuardSettings {
  allowLocalInTest: boolean;
  allowedPorts: readonly number[];
}

/** The policy for a mode (see {@link UrlPolicy}); live mode never gets the local opt-in. */
export function policyFor(mode: 'live' | 'test', settings: GuardSettings): UrlPolicy {
  if (mode === 'live') return { requireHttps: true, allowLoopback: false, allowedPorts: settings.allowedPorts };
  return settings.allowLocalInTest ? { requireHttps: false, allowLoopback: true, allowedPorts: undefined } : { requireHttps: true, allowLoopback: false, allowedPorts: undefined };
}

/** Whether a policy lets a connection go to `address`. */
export function addressAllowed(address: string, policy: UrlPolicy): boolean {
  const kind = classifyAddress(address);
  return kind === 'public' || (kind === 'loopback' && policy.allowLoopback);
}

/** Names that are never resolved: loopback names (unless the policy allows loopback) and cloud metadata names. */
function refusedName(host: string, policy: UrlPolicy): boolean {
  const name = host.replace(/\.$/, '');
  if (name === 'localhost' || name.endsWith('.localhost')) return !policy.allowLoopback;
  return ['metadata', 'metadata.google.internal', 'instance-data'].includes(name) || name.endsWith('.internal');
}

/**
 * Checks a URL against a policy: scheme, credentials, port, refused names and IP literals, and —
 * with a `resolver` — the addresses its host name resolves to. Without one the name is not
 * resolved: at delivery the connection's {@link guardedLookup} resolves and checks it (IP
 * literals skip that lookup, which is why they are checked here).
 * @returns the reason it is refused (a phrase following "url"), or undefined.
 */
export async function checkUrl(url: string, policy: UrlPolicy, resolver: Resolver | undefined): Promise<UrlVerdict> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'is not a URL';
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return 'must be http(s)';
  if (policy.requireHttps && parsed.protocol !== 'https:') return policy.allowedPorts ? 'must be https in live mode' : 'must be https (http only for a local receiver, when the server allows one)';
  if (parsed.username !== '' || parsed.password !== '') return 'must not carry credentials';
  const port = parsed.port === '' ? (parsed.protocol === 'https:' ? 443 : 80) : Number(parsed.port);
  if (policy.allowedPorts && !policy.allowedPorts.includes(port)) return `must use port ${policy.allowedPorts.join(' or ')} in live mode, not ${port}`;
  const host = parsed.hostname.replace(/^\[|\]$/g, '').toLowerCase();
  if (isIP(host) !== 0) return addressAllowed(host, policy) ? undefined : `must not point at the private or reserved address ${host}`;
  if (refusedName(host, policy)) return `must not point at ${host}`;
  if (resolver === undefined) return undefined;
  let addresses: { address: string }[];
  try {
    addresses = await resolver(host);
  } catch {
    return `host ${host} does not resolve`;
  }
  if (addresses.length === 0) return `host ${host} does not resolve`;
  const bad = addresses.find((a) => !addressAllowed(a.address, policy));
  return bad ? `host ${host} resolves to the private or reserved address ${bad.address}` : undefined;
}

/**
 * A `lookup` for `http.request` that resolves with `resolver` and fails the connection (error
 * code `EBLOCKED`) when any address is one the policy refuses: the rebinding guard. Nothing is
 * connected to then.
 */
export function guardedLookup(policy: UrlPolicy, resolver: Resolver): LookupFunction {
  return (hostname, options, callback) => {
    resolver(hostname).then(
      (addresses) => {
        const bad = addresses.find((a) => !addressAllowed(a.address, policy));
        const first = addresses[0];
        if (bad || !first) {
          const err = Object.assign(new Error(bad ? `refused: ${hostname} resolves to the private or reserved address ${bad.address}` : `${hostname} does not resolve`), { code: bad ? 'EBLOCKED' : 'ENOTFOUND' });
          callback(err, '', 0);
          return;
        }
        if ((options as { all?: boolean }).all) (callback as unknown as (err: null, addresses: { address: string; family: number }[]) => void)(null, addresses);
        else callback(null, first.address, first.family);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}
