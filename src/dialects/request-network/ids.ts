/**
 * Request Network's identifiers on Payreq's requests.
 *
 * A Request Network `requestId` is 66 hex characters: the multiformat prefix `01`
 * (NORMALIZE_KECCAK256_HASH) and a keccak256 hash (docs/dialects/request-network.md). Payreq's
 * requests have UUIDv7 ids, so the dialect shows each as a requestId of that shape that maps
 * back without a lookup: `01` + the UUID's 32 hex digits + the first 32 hex digits of
 * keccak256 of the UUID text (a check, so that a mistyped id is not found rather than another
 * request). Payreq's choice: the hosted API derives its ids from the request's content.
 *
 * Payment references travel `0x`-prefixed (bytes8), as the hosted API shows them.
 */
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import { isUuid } from '../../domain/ids.js';

function check(uuid: string): string {
  return bytesToHex(keccak_256(utf8ToBytes(uuid))).slice(0, 32);
}

/** The Request Network `requestId` (`01` + 64 hex) of a Payreq payment request id. */
export function toRequestId(id: string): string {
  return `01${id.replace(/-/g, '')}${check(id)}`;
}

/** The Payreq id behind a `requestId`, or undefined when it is not one this server issued. */
export function fromRequestId(requestId: string): string | undefined {
  const text = requestId.toLowerCase();
  if (!/^01[0-9a-f]{64}$/.test(text)) return undefined;
  const hex = text.slice(2, 34);
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return isUuid(id) && check(id) === text.slice(34) ? id : undefined;
}

/** A reference as the hosted API shows it: `0x` + 16 lower-case hex characters. */
export function wireReference(reference: string): string {
  return `0x${reference.replace(/^0x/i, '').toLowerCase()}`;
}
