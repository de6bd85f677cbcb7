/**
 * Request Network's proxy deployments, by network name (the token list's `network`): the
 * default version (0.2.0) of ERC20FeeProxy and EthereumFeeProxy, as published in
 * `@requestnetwork/smart-contracts` (`dist/src/lib/artifacts/{ERC20FeeProxy,EthereumFeeProxy}/index.ts`,
 * docs/dialects/request-network.md). A test checks every row against that package's
 * `erc20FeeProxyArtifact.getAddress(network)` / `ethereumFeeProxyArtifact.getAddress(network)`.
 *
 * Networks whose testnets are retired (rinkeby, goerli, mumbai…) are left out; a chain not in
 * this table names its proxies in `PAYREQ_CHAINS`.
 */

/** The proxy addresses on one network (EIP-55 checksummed). `ethFeeProxy` is absent where none is deployed. */
export interface ProxyDeployment {
  erc20FeeProxy: `0x${string}`;
  ethFeeProxy?: `0x${string}`;
}

/** Request Network's deployments by network name. */
export const DEPLOYMENTS: Readonly<Record<string, ProxyDeployment>> = {
  mainnet: { erc20FeeProxy: '0x370DE27fdb7D1Ff1e1BaA7D11c5820a324Cf623C', ethFeeProxy: '0xfCFBcfc4f5A421089e3Df45455F7f4985FE2D6a8' },
  sepolia: { erc20FeeProxy: '0x399F5EE127ce7432E4921a61b8CF52b0af52cbfE', ethFeeProxy: '0xe11BF2fDA23bF0A98365e1A4c04A87C9339e8687' },
  base: { erc20FeeProxy: '0x1892196E80C4c17ea5100Da765Ab48c1fE2Fb814', ethFeeProxy: '0xd9C3889eB8DA6ce449bfFE3cd194d08A436e96f2' },
  matic: { erc20FeeProxy: '0x0DfbEe143b42B41eFC5A6F87bFD1fFC78c2f0aC9', ethFeeProxy: '0xfCFBcfc4f5A421089e3Df45455F7f4985FE2D6a8' },
  'arbitrum-one': { erc20FeeProxy: '0x0DfbEe143b42B41eFC5A6F87bFD1fFC78c2f0aC9', ethFeeProxy: '0xfCFBcfc4f5A421089e3Df45455F7f4985FE2D6a8' },
  optimism: { erc20FeeProxy: '0x399F5EE127ce7432E4921a61b8CF52b0af52cbfE', ethFeeProxy: '0xe11BF2fDA23bF0A98365e1A4c04A87C9339e8687' },
  bsc: { erc20FeeProxy: '0x0DfbEe143b42B41eFC5A6F87bFD1fFC78c2f0aC9', ethFeeProxy: '0xfCFBcfc4f5A421089e3Df45455F7f4985FE2D6a8' },
  avalanche: { erc20FeeProxy: '0x0DfbEe143b42B41eFC5A6F87bFD1fFC78c2f0aC9', ethFeeProxy: '0xfCFBcfc4f5A421089e3Df45455F7f4985FE2D6a8' },
  xdai: { erc20FeeProxy: '0x0DfbEe143b42B41eFC5A6F87bFD1fFC78c2f0aC9', ethFeeProxy: '0xfCFBcfc4f5A421089e3Df45455F7f4985FE2D6a8' },
  fantom: { erc20FeeProxy: '0x0DfbEe143b42B41eFC5A6F87bFD1fFC78c2f0aC9', ethFeeProxy: '0xfCFBcfc4f5A421089e3Df45455F7f4985FE2D6a8' },
  celo: { erc20FeeProxy: '0x2171a0dc12a9E5b1659feF2BB20E54c84Fa7dB0C', ethFeeProxy: '0xfCFBcfc4f5A421089e3Df45455F7f4985FE2D6a8' },
  fuse: { erc20FeeProxy: '0xee07ef5B414955188d2A9fF50bdCE784A49031Fc', ethFeeProxy: '0xfCFBcfc4f5A421089e3Df45455F7f4985FE2D6a8' },
  moonbeam: { erc20FeeProxy: '0x399F5EE127ce7432E4921a61b8CF52b0af52cbfE', ethFeeProxy: '0xe11BF2fDA23bF0A98365e1A4c04A87C9339e8687' },
  core: { erc20FeeProxy: '0x399F5EE127ce7432E4921a61b8CF52b0af52cbfE', ethFeeProxy: '0xe11BF2fDA23bF0A98365e1A4c04A87C9339e8687' },
  mantle: { erc20FeeProxy: '0x399F5EE127ce7432E4921a61b8CF52b0af52cbfE', ethFeeProxy: '0xe11BF2fDA23bF0A98365e1A4c04A87C9339e8687' },
  sonic: { erc20FeeProxy: '0x399F5EE127ce7432E4921a61b8CF52b0af52cbfE', ethFeeProxy: '0x4989F941D62bEEb3548Bf55d0D5291Ec335429f0' },
  ronin: { erc20FeeProxy: '0xAe23992483FeDA6E718a808Ce824f6864F13B64B', ethFeeProxy: '0xe9cbD1Aa5496628F4302426693Ad63006C56959F' },
  zksyncera: { erc20FeeProxy: '0x6e28Cc56C2E64c9250f39Cb134686C87dB196532', ethFeeProxy: '0xE9A708db0D30409e39810C44cA240fd15cdA9b1a' },
  // Request Network's own local test deployments (hardhat/ganache with the test mnemonic).
  private: { erc20FeeProxy: '0x75c35C980C0d37ef46DF04d31A140b65503c0eEd', ethFeeProxy: '0x3d49d1eF2adE060a33c6E6Aa213513A7EE9a6241' },
};
