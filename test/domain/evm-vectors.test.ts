/**
 * The EVM rail's pure parts against independent sources: Request Network's published payment
 * reference vectors and topics (docs/dialects/request-network.md), its calldata vector
 * (payment-processor's erc20-fee-proxy test), the proxy deployments published in
 * `@requestnetwork/smart-contracts`, and an HMAC-SHA256 vector of its webhook signature computed
 * with Node's `crypto` (docs/dialects/request-network.md#webhooks).
 */
import { createRequire } from 'node:module';
import { decodeFunctionData, encodeEventTopics, getAddress, keccak256, toBytes } from 'viem';
import { describe, expect, it } from 'vitest';
import { paymentReference, referenceTopic } from '../../src/domain/ids.js';
import { fromRequestId, toRequestId } from '../../src/dialects/request-network/ids.js';
import { requestNetworkPayload, requestNetworkSignature } from '../../src/dialects/request-network/webhook-format.js';
import { erc20FeeProxyAbi } from '../../src/rails/evm/abi.js';
import { parseChains } from '../../src/rails/evm/chains.js';
import { DEPLOYMENTS } from '../../src/rails/evm/deployments.js';
import { encodeErc20Payment, encodeNativePayment, paymentUri } from '../../src/rails/evm/pay.js';

const require = createRequire(import.meta.url);

describe('payment reference', () => {
  it('matches Request Network\'s payment-detection vector', () => {
    expect(paymentReference('01847474747474', '8d03ea7', '0x000001')).toBe('a0098add01acc736');
  });

  it('matches Request Network\'s payment-processor vector (a mixed-case address is lowercased)', () => {
    expect(paymentReference('abcd', 'salt', '0xf17f52151EbEF6C7334FAD080c5704D77216b732')).toBe('86dfbccad783599a');
  });

  it('refuses empty arguments as Request Network\'s calculator does', () => {
    expect(() => paymentReference('', 'salt', '0x1')).toThrow(/mandatory/);
  });

  it('hashes the 8 reference bytes into the log topic', () => {
    expect(referenceTopic('a0098add01acc736')).toBe('0xc7c539abf3cdbbbf3c3a97b741582f8a0dc6a830717acb1fd0a092dc47e1eb90');
    expect(referenceTopic('0x86dfbccad783599a')).toBe('0xe15e8f380cc2383c6683ea6f7916e6e0ec3335c9c85fcc1cbcfd252f99a6117e');
    expect(referenceTopic('86dfbccad783599a')).toBe(keccak256(toBytes('0x86dfbccad783599a')));
    expect(() => referenceTopic('xyz')).toThrow();
  });

  it('uses the event topic the reference gives for TransferWithReferenceAndFee', () => {
    expect(encodeEventTopics({ abi: erc20FeeProxyAbi, eventName: 'TransferWithReferenceAndFee' })[0]).toBe('0x9f16cbcc523c67a60c450e5ffe4f3b7b6dbe772e7abcadb2686ce029a9a0a2b6');
  });
});

describe('pay calldata', () => {
  const intent = { to: getAddress('0xf17f52151EbEF6C7334FAD080c5704D77216b732'), amount: 100n, reference: '86dfbccad783599a', feeAmount: 2n, feeAddress: getAddress('0xC5fdf4076b8F3A5357c5E395ab970B5B54098Fef') };

  it('encodes transferFromWithReferenceAndFee as payment-processor\'s test vector lays it out', () => {
    const data = encodeErc20Payment(getAddress('0x9FBDa871d559710256a2502A2517b794B482Db40'), intent);
    expect(data.slice(0, 10)).toBe('0xc219a14d');
    // 4-byte selector, 6 head words, the bytes length word and one padded data word: 260 bytes.
    expect((data.length - 2) / 2).toBe(260);
    const words = data.slice(10).match(/.{64}/g) ?? [];
    expect(words[3]).toBe('00000000000000000000000000000000000000000000000000000000000000c0');
    expect(words[6]).toBe('0000000000000000000000000000000000000000000000000000000000000008');
    expect(words[7]).toBe('86dfbccad783599a000000000000000000000000000000000000000000000000');
    // Decoded with the contract's own ABI from @requestnetwork/smart-contracts.
    const abi = require('@requestnetwork/smart-contracts/types/factories/src/contracts/ERC20FeeProxy__factory.js').ERC20FeeProxy__factory.abi;
    expect(decodeFunctionData({ abi, data }).args).toEqual(['0x9FBDa871d559710256a2502A2517b794B482Db40', intent.to, 100n, '0x86dfbccad783599a', 2n, intent.feeAddress]);
  });

  it('encodes EthereumFeeProxy transferWithReferenceAndFee with selector 0xb868980b', () => {
    expect(encodeNativePayment(intent).slice(0, 10)).toBe('0xb868980b');
  });

  it('writes the EIP-681 URI in payment-processor\'s form, with the chain id', () => {
    const chain = parseChains(JSON.stringify([{ network: 'private', chainId: 31337, rpcUrl: 'http://127.0.0.1:8545', confirmations: 1 }]), () => '')[0]!;
    const onChain = { chain, token: { id: 'X-private', symbol: 'X', decimals: 0, network: 'private', chainId: 31337, address: '0x9FBDa871d559710256a2502A2517b794B482Db40' }, kind: 'erc20' as const, proxyAddress: chain.erc20FeeProxy, tokenAddress: getAddress('0x9FBDa871d559710256a2502A2517b794B482Db40') };
    expect(paymentUri(onChain, intent)).toBe(
      'ethereum:0x75c35C980C0d37ef46DF04d31A140b65503c0eEd@31337/transferFromWithReferenceAndFee?address=0x9FBDa871d559710256a2502A2517b794B482Db40&address=0xf17f52151EbEF6C7334FAD080c5704D77216b732&uint256=100&bytes=0x86dfbccad783599a&uint256=2&address=0xC5fdf4076b8F3A5357c5E395ab970B5B54098Fef',
    );
  });
});

describe('deployments', () => {
  it('match @requestnetwork/smart-contracts\' artifacts for every network listed', () => {
    const { erc20FeeProxyArtifact, ethereumFeeProxyArtifact } = require('@requestnetwork/smart-contracts') as Record<string, { getAddress(network: string): string }>;
    expect(Object.keys(DEPLOYMENTS).length).toBeGreaterThan(10);
    for (const [network, d] of Object.entries(DEPLOYMENTS)) {
      expect(d.erc20FeeProxy, network).toBe(erc20FeeProxyArtifact!.getAddress(network));
      expect(d.ethFeeProxy, network).toBe(ethereumFeeProxyArtifact!.getAddress(network));
    }
  });

  it('default a configured network\'s proxies and reject an unknown network without them', () => {
    const [sepolia] = parseChains('[{"network":"sepolia","chainId":11155111,"rpcUrl":"https://rpc.example","confirmations":12}]', () => '');
    expect(sepolia).toMatchObject({ erc20FeeProxy: '0x399F5EE127ce7432E4921a61b8CF52b0af52cbfE', ethFeeProxy: '0xe11BF2fDA23bF0A98365e1A4c04A87C9339e8687', pollIntervalMs: 4000, maxBlockRange: 2000 });
    expect(() => parseChains('[{"network":"nowhere","chainId":5,"rpcUrl":"https://rpc.example","confirmations":1}]', () => '')).toThrow(/no known ERC20FeeProxy/);
    expect(() => parseChains('[{"network":"sepolia","chainId":1,"rpcUrl":"ftp://x","confirmations":0}]', () => '')).toThrow(/PAYREQ_CHAINS/);
    expect(parseChains('@chains.json', (path) => (path === 'chains.json' ? '[]' : 'x'))).toEqual([]);
    expect(parseChains(undefined, () => '')).toEqual([]);
  });
});

describe('Request Network ids and webhooks', () => {
  it('maps a Payreq id to a 01-prefixed 66-hex requestId and back, refusing a mistyped one', () => {
    const id = '0192f5d4-1c2b-7a3e-9f10-123456789abc';
    const requestId = toRequestId(id);
    expect(requestId).toMatch(/^01[0-9a-f]{64}$/);
    expect(fromRequestId(requestId)).toBe(id);
    expect(fromRequestId(requestId.toUpperCase())).toBe(id);
    expect(fromRequestId(`${requestId.slice(0, -1)}${requestId.endsWith('0') ? '1' : '0'}`)).toBeUndefined();
    expect(fromRequestId('01e273ec')).toBeUndefined();
  });

  it('signs with the HMAC-SHA256 vector of Request Network\'s webhook documentation', () => {
    const secret = 'f3c189a4b5e6d7f8a9b0c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f6a7b8c9d0e1f2';
    const body = '{"event":"payment.confirmed","requestId":"01aa","paymentReference":"0x86dfbccad783599a"}';
    expect(requestNetworkSignature(secret, body)).toBe('0f471f91961684ed1c989bb866d0743cce2a098c521a19028c947cd5e073df37');
  });

  it('renders payment.partial and payment.confirmed with both requestId spellings', () => {
    const data = {
      paymentRequest: { id: '0192f5d4-1c2b-7a3e-9f10-123456789abc', status: 'pending', amount: '100', amountPaid: '40', currency: 'USD', paymentReference: 'aaaaaaaaaaaaaaaa', paymentLink: 'https://pay.example/pay/X', paymentOptions: [{ currency: 'USDC-sepolia', paymentReference: '0x86dfbccad783599a', network: 'sepolia' }] },
      payment: { currency: 'USDC-sepolia', amount: '40', txHash: '0xabc', from: '0xdef', network: 'sepolia', feeAmount: '0', status: 'applied' },
    };
    const partial = requestNetworkPayload({ data, createdAt: Date.parse('2026-01-01T00:00:00Z') });
    expect(partial).toMatchObject({ event: 'payment.partial', requestId: toRequestId(data.paymentRequest.id), requestID: toRequestId(data.paymentRequest.id), paymentReference: '0x86dfbccad783599a', amount: '40', totalAmountPaid: '40', expectedAmount: '100', currency: 'USD', paymentCurrency: 'USDC', network: 'sepolia', txHash: '0xabc', timestamp: '2026-01-01T00:00:00.000Z', fees: [] });
    const confirmed = requestNetworkPayload({ data: { ...data, paymentRequest: { ...data.paymentRequest, status: 'paid' } }, createdAt: 0 });
    expect(confirmed['event']).toBe('payment.confirmed');
  });
});
