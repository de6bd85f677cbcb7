/**
 * Identifiers: UUIDv7 for rows (time-ordered, so "most recent first" is `ORDER BY id DESC`),
 * short shareable codes (Pismo's `code`), and Request Network payment references.
 */
import { randomFillSync } from 'node:crypto';
import { keccak_256 } from '@noble/hashes/sha3.js';
import { bytesToHex, hexToBytes, utf8ToBytes } from '@noble/hashes/utils.js';
import { v7 as uuidv7 } from 'uuid';

const POOL_BYTES = 4096;
const pool = new Uint8Array(POOL_BYTES);
let poolOffset = POOL_BYTES;

/**
 * `n` bytes (at most 4,096) from the operating system's CSPRNG, drawn from a pool refilled 4 KiB
 * at a time. Each call into the generator costs about 7 µs here whatever its size (measured, see
 * docs/performance.md), and a create or an approval needs several ids, a salt and a code; Node's
 * own `randomUUID` pools the same way. Each byte is handed out once, and the result is a copy.
 */
export function randomPoolBytes(n: number): Uint8Array {
  if (n > POOL_BYTES) throw new Error(`at most ${POOL_BYTES} bytes at a time`);
  if (poolOffset + n > POOL_BYTES) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const out = pool.slice(poolOffset, poolOffset + n);
  poolOffset += n;
  return out;
}

/** The last id's time (epoch ms) and 32-bit counter, which keep ids increasing within this process. */
const v7State = { msecs: -Infinity, seq: 0 };

/**
 * A new UUIDv7 string (RFC 9562 §5.7), monotonic within this process. Its random bits come from
 * {@link randomPoolBytes}; monotonicity as the `uuid` package keeps it (RFC 9562 §6.2, method 1):
 * a new millisecond seeds a 32-bit counter from the random bits, and an id in the same
 * millisecond (or after the clock went back) takes the counter plus one, carrying into the time.
 */
export function newId(): string {
  const random = randomPoolBytes(16);
  const now = Date.now();
  if (now > v7State.msecs) {
    v7State.msecs = now;
    v7State.seq = (((random[6] ?? 0) & 0x7f) << 24) | ((random[7] ?? 0) << 16) | ((random[8] ?? 0) << 8) | (random[9] ?? 0);
  } else {
    v7State.seq = (v7State.seq + 1) | 0;
    if (v7State.seq === 0) v7State.msecs++;
  }
  return uuidv7({ random, msecs: v7State.msecs, seq: v7State.seq });
}

/** True when `value` is a UUID in canonical lower-case text form. */
export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(value);
}

// Crockford base32 without I, L, O, U: unambiguous when read aloud or typed from a screen.
const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

/**
 * A short shareable token for a payment request (Pismo's `code`): 12 characters of Crockford
 * base32 (60 random bits), grouped `XXXX-XXXX-XXXX`.
 */
export function newCode(): string {
  const bytes = randomPoolBytes(12);
  let out = '';
  for (let i = 0; i < 12; i++) {
    out += CODE_ALPHABET[(bytes[i] ?? 0) & 31];
    if (i === 3 || i === 7) out += '-';
  }
  return out;
}

/**
 * The check character of a code (Luhn mod 32 over {@link newCode}'s alphabet, the dashes
 * ignored): it catches any single mistyped character and most swaps of neighbours. Centrapay's
 * short codes carry one (`CHECKSUM_FAILED`, docs/dialects/centrapay.md).
 * @throws Error when the code has a character outside the alphabet.
 */
export function codeCheckCharacter(code: string): string {
  const n = CODE_ALPHABET.length;
  const digits = [...code.replace(/-/g, '')].map((c) => {
    const v = CODE_ALPHABET.indexOf(c);
    if (v < 0) throw new Error(`"${c}" is not a code character`);
    return v;
  });
  let sum = 0;
  let factor = 2;
  for (let i = digits.length - 1; i >= 0; i--) {
    const product = factor * (digits[i] ?? 0);
    sum += Math.floor(product / n) + (product % n);
    factor = factor === 2 ? 1 : 2;
  }
  return CODE_ALPHABET[(n - (sum % n)) % n] as string;
}

/** A random 8-byte hex salt, as Request Network uses for payment references. */
export function newSalt(): string {
  return Buffer.from(randomPoolBytes(8)).toString('hex');
}

/**
 * The Request Network payment reference: the last 16 hex characters of
 * `keccak256(utf8(lowercase(requestId + salt + payeeAddress)))` (Request
 * Network's `PaymentReferenceCalculator.calculate`, docs/dialects/request-network.md: the input
 * is the UTF-8 of the text, not decoded hex). For ledger-only payees the payee account id
 * stands in for the address.
 * @throws Error when an argument is empty, as Request Network's calculator does.
 */
export function paymentReference(requestId: string, salt: string, payeeAddress: string): string {
  if (!requestId || !salt || !payeeAddress) throw new Error('RequestId, salt and address are mandatory to calculate the payment reference');
  const hash = bytesToHex(keccak_256(utf8ToBytes(`${requestId}${salt}${payeeAddress}`.toLowerCase())));
  return hash.slice(-16);
}

/**
 * The log topic of a payment reference: `0x` + keccak256 of its 8 raw bytes. The proxies'
 * `TransferWithReferenceAndFee` event indexes the `bytes paymentReference`, so `topics[1]` holds
 * this hash (Request Network's `hashReference`, docs/dialects/request-network.md).
 * @param reference - 16 hex characters, with or without `0x`.
 * @throws Error when it is not 8 bytes of hex.
 */
export function referenceTopic(reference: string): string {
  const hex = reference.replace(/^0x/, '').toLowerCase();
  if (!/^[0-9a-f]{16}$/.test(hex)) throw new Error(`payment reference "${reference}" is not 8 bytes of hex`);
  return `0x${bytesToHex(keccak_256(hexToBytes(hex)))}`;
}
