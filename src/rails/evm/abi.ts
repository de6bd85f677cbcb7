/**
 * The contract interfaces the EVM rail calls and reads, in viem's human-readable ABI form
 * (viem does every encoding and decoding). Signatures from Request Network's
 * `ERC20FeeProxy.sol` and `EthereumFeeProxy.sol` (docs/dialects/request-network.md) and ERC-20.
 */
import { parseAbi } from 'viem';

/** ERC20FeeProxy: the payment function and its event (only `paymentReference` is indexed). */
export const erc20FeeProxyAbi = parseAbi([
  'function transferFromWithReferenceAndFee(address _tokenAddress, address _to, uint256 _amount, bytes _paymentReference, uint256 _feeAmount, address _feeAddress)',
  'event TransferWithReferenceAndFee(address tokenAddress, address to, uint256 amount, bytes indexed paymentReference, uint256 feeAmount, address feeAddress)',
]);

/** EthereumFeeProxy: the native-currency payment function (payable) and its event. */
export const ethFeeProxyAbi = parseAbi([
  'function transferWithReferenceAndFee(address _to, bytes _paymentReference, uint256 _feeAmount, address _feeAddress) payable',
  'event TransferWithReferenceAndFee(address to, uint256 amount, bytes indexed paymentReference, uint256 feeAmount, address feeAddress)',
]);

/** The ERC-20 functions the pay call uses: approve, allowance, balanceOf. */
export const erc20Abi = parseAbi([
  'function approve(address spender, uint256 amount) returns (bool)',
  'function allowance(address owner, address spender) view returns (uint256)',
  'function balanceOf(address owner) view returns (uint256)',
]);

/** The address Request Network's token lists use for a chain's native currency. */
export const NATIVE_TOKEN_ADDRESS = '0xEeeeeEeeeEeEeeEeEeEeeEEEeeeeEeeeeeeeEEeE';

/** The largest uint256: the allowance Request Network's payment-processor approves (`MAX_ALLOWANCE`). */
export const MAX_UINT256 = (1n << 256n) - 1n;
