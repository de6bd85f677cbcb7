/**
 * The transactions a payer signs, built the way Request Network's payment-processor builds
 * them (docs/dialects/request-network.md, `erc20-fee-proxy.ts`, `erc20.ts`, `eth-fee-proxy.ts`):
 *
 * - ERC-20: `approve(proxy, 2^256 − 1)` on the token first when the wallet's allowance is below
 *   amount + fee (the SDK compares against the amount alone; Payreq includes the fee, as
 *   the SDK's own caveat advises), then ERC20FeeProxy
 *   `transferFromWithReferenceAndFee(token, to, amount, 0x<reference>, fee, feeAddress)`.
 * - Native currency: EthereumFeeProxy `transferWithReferenceAndFee(to, 0x<reference>, fee, feeAddress)`
 *   with `value = amount + fee`.
 *
 * All encoding is viem's. Amounts are token base units (`bigint`).
 */
import { encodeFunctionData, getAddress, type PublicClient, zeroAddress } from 'viem';
import { erc20Abi, erc20FeeProxyAbi, ethFeeProxyAbi, MAX_UINT256 } from './abi.js';
import type { OnChainCurrency } from './chains.js';

/** One transaction to sign: `value` in wei. */
export interface PayTransaction {
  to: `0x${string}`;
  data: `0x${string}`;
  value: bigint;
}

/** What the payer should know before signing (Request Network's `/pay` metadata, plus `paymentTransactionIndex`). */
export interface PayMetadata {
  stepsRequired: number;
  needsApproval: boolean;
  /** Index of the approval in `transactions`, or null. */
  approvalTransactionIndex: number | null;
  /** Index of the payment itself (emitted by Request Network's own API, read by its clients). */
  paymentTransactionIndex: number;
  hasEnoughBalance: boolean;
  hasEnoughGas: boolean;
}

/** The payment: who receives, how much (base units), with which reference and fee. */
export interface PaymentIntent {
  /** The payee's address. */
  to: `0x${string}`;
  /** Token base units (wei for the native currency). */
  amount: bigint;
  /** 16 hex characters, no `0x`. */
  reference: string;
  /** Token base units sent to `feeAddress` on top of `amount` (0 for none). */
  feeAmount: bigint;
  /** The fee's receiver; the zero address when there is no fee. */
  feeAddress: `0x${string}`;
}

// Gas used by each call, rounded up from what the proxies use on mainnet; only for the
// hasEnoughGas estimate, never sent.
const APPROVE_GAS = 60_000n;
const ERC20_PAY_GAS = 120_000n;
const NATIVE_PAY_GAS = 60_000n;

/** ERC20FeeProxy calldata for `intent` in `token`. */
export function encodeErc20Payment(token: `0x${string}`, intent: PaymentIntent): `0x${string}` {
  return encodeFunctionData({
    abi: erc20FeeProxyAbi,
    functionName: 'transferFromWithReferenceAndFee',
    args: [token, intent.to, intent.amount, `0x${intent.reference}`, intent.feeAmount, intent.feeAddress],
  });
}

/** EthereumFeeProxy calldata for `intent` (the amount travels as `value`). */
export function encodeNativePayment(intent: PaymentIntent): `0x${string}` {
  return encodeFunctionData({
    abi: ethFeeProxyAbi,
    functionName: 'transferWithReferenceAndFee',
    args: [intent.to, `0x${intent.reference}`, intent.feeAmount, intent.feeAddress],
  });
}

/**
 * An EIP-681 URI a wallet or QR code can carry: a call of the proxy on `chainId` with the
 * payment's arguments, in the form Request Network's payment-processor tests show
 * (`ethereum:<proxy>/transferFromWithReferenceAndFee?address=<token>&address=<to>&uint256=…`),
 * with the chain id EIP-681 allows after `@`. The native form carries `value` in wei.
 */
export function paymentUri(onChain: OnChainCurrency, intent: PaymentIntent): string {
  const target = `ethereum:${onChain.proxyAddress}@${onChain.chain.chainId}`;
  const fee = `uint256=${intent.feeAmount}&address=${intent.feeAddress}`;
  if (onChain.kind === 'native') {
    return `${target}/transferWithReferenceAndFee?address=${intent.to}&bytes=0x${intent.reference}&${fee}&value=${intent.amount + intent.feeAmount}`;
  }
  return `${target}/transferFromWithReferenceAndFee?address=${onChain.tokenAddress}&address=${intent.to}&uint256=${intent.amount}&bytes=0x${intent.reference}&${fee}`;
}

/**
 * The transactions `wallet` signs to pay `intent`, reading its allowance and balances from
 * the chain.
 * @throws Error (from viem) when the RPC endpoint fails; the caller answers 503.
 */
export async function buildPayTransactions(client: PublicClient, onChain: OnChainCurrency, wallet: `0x${string}`, intent: PaymentIntent): Promise<{ transactions: PayTransaction[]; metadata: PayMetadata }> {
  const total = intent.amount + intent.feeAmount;
  const [gasPrice, nativeBalance] = await Promise.all([client.getGasPrice(), client.getBalance({ address: wallet })]);
  if (onChain.kind === 'native') {
    const transactions = [{ to: onChain.proxyAddress, data: encodeNativePayment(intent), value: total }];
    return {
      transactions,
      metadata: {
        stepsRequired: 1,
        needsApproval: false,
        approvalTransactionIndex: null,
        paymentTransactionIndex: 0,
        hasEnoughBalance: nativeBalance >= total,
        hasEnoughGas: nativeBalance >= total + gasPrice * NATIVE_PAY_GAS,
      },
    };
  }
  const token = onChain.tokenAddress;
  const [allowance, balance] = await Promise.all([
    client.readContract({ address: token, abi: erc20Abi, functionName: 'allowance', args: [wallet, onChain.proxyAddress] }),
    client.readContract({ address: token, abi: erc20Abi, functionName: 'balanceOf', args: [wallet] }),
  ]);
  const needsApproval = allowance < total;
  const transactions: PayTransaction[] = [];
  if (needsApproval) {
    transactions.push({ to: token, data: encodeFunctionData({ abi: erc20Abi, functionName: 'approve', args: [onChain.proxyAddress, MAX_UINT256] }), value: 0n });
  }
  transactions.push({ to: onChain.proxyAddress, data: encodeErc20Payment(token, intent), value: 0n });
  const gas = (needsApproval ? APPROVE_GAS : 0n) + ERC20_PAY_GAS;
  return {
    transactions,
    metadata: {
      stepsRequired: transactions.length,
      needsApproval,
      approvalTransactionIndex: needsApproval ? 0 : null,
      paymentTransactionIndex: transactions.length - 1,
      hasEnoughBalance: balance >= total,
      hasEnoughGas: nativeBalance >= gasPrice * gas,
    },
  };
}

/** The zero address (no fee receiver), checksummed. */
export const NO_FEE_ADDRESS = getAddress(zeroAddress);
