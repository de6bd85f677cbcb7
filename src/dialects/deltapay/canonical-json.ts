/**
 * The bytes DeltaPay signs: Python's `json.dumps(body, sort_keys=True)` (docs/dialects/deltapay.md,
 * DeltaPay's `signature_verification.py`): keys sorted at every level, separators `", "`
 * and `": "`, `ensure_ascii` on (every non-ASCII character written as `\uXXXX`, astral ones as
 * surrogate pairs), Python's escapes for control characters.
 *
 * Numbers: an integer is written as digits; a non-integer as its shortest round-trip form
 * (what Python's float `repr` gives for values between 1e-4 and 1e16, which covers amounts).
 * A `LosslessNumber` is written from its exact text.
 */
import { isLosslessNumber } from 'lossless-json';

const ESCAPES: Readonly<Record<string, string>> = { '"': '\\"', '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t', '\b': '\\b', '\f': '\\f' };

function pythonString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    const code = text.charCodeAt(i);
    if (ESCAPES[ch] !== undefined) out += ESCAPES[ch];
    // ensure_ascii escapes controls, DEL and everything beyond ASCII (UTF-16 units: surrogate pairs stay pairs).
    else if (code < 0x20 || code > 0x7e) out += `\\u${code.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

function pythonNumber(n: number): string {
  if (!Number.isFinite(n)) throw new Error('JSON has no NaN or Infinity');
  return String(n);
}

/**
 * Python's `json.dumps(value, sort_keys=True)` of a JSON value.
 * @throws Error for a value JSON cannot hold (a function, NaN…).
 */
export function pythonJsonDumps(value: unknown): string {
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'string') return pythonString(value);
  if (typeof value === 'number') return pythonNumber(value);
  if (isLosslessNumber(value)) return value.value;
  if (Array.isArray(value)) return `[${value.map(pythonJsonDumps).join(', ')}]`;
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${pythonString(k)}: ${pythonJsonDumps(v)}`).join(', ')}}`;
  }
  throw new Error(`cannot write ${typeof value} as JSON`);
}
