/**
 * DeltaPay signs Python's `json.dumps(body, sort_keys=True)`: Payreq's writer is checked
 * against python3 itself, and the signature against Node's RSA-PSS verification.
 */
import { spawnSync } from 'node:child_process';
import { constants, createPublicKey, verify } from 'node:crypto';
import { LosslessNumber } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { pythonJsonDumps } from '../../src/dialects/deltapay/canonical-json.js';
import { deltapayFormat, deltapaySignature, signingKeyOf } from '../../src/dialects/deltapay/webhook-format.js';

function python(json: string): string {
  const run = spawnSync('python3', ['-c', 'import json,sys; sys.stdout.write(json.dumps(json.loads(sys.stdin.read()), sort_keys=True))'], { input: json, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  return run.stdout;
}

describe('pythonJsonDumps', () => {
  it('writes what python3\'s json.dumps(sort_keys=True) writes', () => {
    const value = {
      z: 1, a: [1, 2.5, -0.25, 149.99, 22, null, true, false], m: { b: 'x', a: 'y' },
      text: 'Ünïcødé — "quoted" \\ back\nline\ttab \u0001 control \u007f del 😀 emoji', '': 'empty key', note: 'eating_out',
    };
    const json = JSON.stringify(value);
    expect(pythonJsonDumps(JSON.parse(json))).toBe(python(json));
  });

  it('writes an exact amount from its text, as Python reads it back', () => {
    expect(pythonJsonDumps({ amount: new LosslessNumber('22') })).toBe(python('{"amount":22}'));
    expect(pythonJsonDumps({ amount: new LosslessNumber('149.99') })).toBe(python('{"amount":149.99}'));
  });
});

describe('deltapay signatures', () => {
  it('verify with the public signing key over Python\'s bytes, and fail on a tampered body', () => {
    const privateKey = deltapayFormat.newSecret();
    const body = { payment_request_id: 7, payment_request_status: 'rejected', amount: 22, note: 'Café' };
    const signature = deltapaySignature(privateKey, body);
    const key = createPublicKey(signingKeyOf(privateKey));
    const check = (b: unknown) => verify('sha256', Buffer.from(python(JSON.stringify(b))), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_AUTO }, Buffer.from(signature, 'base64'));
    expect(check(body)).toBe(true);
    expect(check({ ...body, amount: 23 })).toBe(false);
    // The maximum salt length: 256-byte key − 32-byte hash − 2 = 222, as DeltaPay's docs say.
    expect(verify('sha256', Buffer.from(python(JSON.stringify(body))), { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 222 }, Buffer.from(signature, 'base64'))).toBe(true);
  });
});
