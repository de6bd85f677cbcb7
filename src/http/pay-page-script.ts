/**
 * The pay page's own script, sent inline with the response's CSP nonce (no framework, no other
 * file): the live status from `/pay/{code}/events`, the expiry countdown, the test-mode
 * "Simulate payment" button, the copy buttons, the redirect to `redirectUrls.success`, and
 * "Pay with wallet" through an injected EIP-1193 provider (`window.ethereum`):
 *
 * 1. `eth_requestAccounts` for the payer's address;
 * 2. `eth_chainId`, and `wallet_switchEthereumChain` (EIP-3326) when the wallet is on another
 *    chain; a wallet that does not know the chain (error 4902) is asked to add it by hand, since
 *    the page never shows the server's RPC URL;
 * 3. `GET /pay/{code}/transactions?wallet=…&currency=…` for the transactions, built as the
 *    `/v1` pay call builds them;
 * 4. each transaction in order with `eth_sendTransaction`, waiting for its receipt
 *    (`eth_getTransactionReceipt`) before the next, since the payment needs the approval mined.
 *
 * Each step is shown in a polite live region. The page turns to paid only from the status
 * stream, that is once the chain watcher has recorded the payment at its confirmation depth.
 * Plain ES2017, no build step; it runs in every current browser.
 */
export const PAY_PAGE_SCRIPT = `
(function () {
  'use strict';
  var root = document.getElementById('pay');
  var code = root.dataset.code;
  var statusEl = document.getElementById('status');
  var paidEl = document.getElementById('paid');
  var countdown = document.getElementById('countdown');
  var steps = document.getElementById('wallet-steps');
  var expiresAt = Date.parse(root.dataset.expiresAt);
  var success = root.dataset.success;
  var words = JSON.parse(root.dataset.words);
  var done = false;

  function tick() {
    var left = Math.max(0, Math.floor((expiresAt - Date.now()) / 1000));
    var h = Math.floor(left / 3600), m = Math.floor((left % 3600) / 60), s = left % 60;
    countdown.textContent = (h > 0 ? h + ':' + String(m).padStart(2, '0') : String(m)) + ':' + String(s).padStart(2, '0');
  }
  tick();
  var timer = setInterval(tick, 1000);

  function removeActions() {
    document.querySelectorAll('[data-action]').forEach(function (el) { el.remove(); });
  }

  function show(update) {
    root.dataset.status = update.status;
    // Pending with money received is a partial payment: the amounts are decimal strings, so any non-zero digit tells.
    var partial = update.status === 'pending' && /[1-9]/.test(update.amountPaid);
    statusEl.textContent = partial ? words.partial : (words[update.status] || update.status);
    paidEl.textContent = update.amountPaidText;
    done = update.status !== 'pending' && update.status !== 'processing';
    if (!done) return;
    clearInterval(timer);
    countdown.textContent = '0:00';
    removeActions();
    if (update.status === 'paid' || update.status === 'refunded') document.getElementById('expiry').hidden = true;
    if (update.status === 'paid') {
      if (!steps.hidden) step('Confirmed on chain: paid.', 'done');
      var next = document.getElementById('continue');
      if (next) next.hidden = false;
      if (success) setTimeout(function () { window.location.assign(success); }, 1500);
    }
  }
  var stream = new EventSource('/pay/' + code + '/events');
  stream.addEventListener('status', function (e) { show(JSON.parse(e.data)); });

  var simulate = document.getElementById('simulate');
  if (simulate) simulate.addEventListener('click', function () {
    simulate.disabled = true;
    fetch('/pay/' + code + '/simulate', { method: 'POST' }).then(function (r) { if (!r.ok) simulate.disabled = false; }, function () { simulate.disabled = false; });
  });

  document.querySelectorAll('button[data-copy]').forEach(function (button) {
    button.addEventListener('click', function () {
      var label = button.textContent;
      navigator.clipboard.writeText(button.dataset.copy).then(function () { button.textContent = 'Copied'; }, function () { button.textContent = 'Copy failed: select the text instead'; });
      setTimeout(function () { button.textContent = label; }, 2000);
    });
  });

  function step(text, state) {
    var item = document.createElement('li');
    item.textContent = text;
    item.dataset.state = state || 'active';
    var last = steps.lastElementChild;
    if (last && last.dataset.state === 'active') last.dataset.state = 'done';
    steps.appendChild(item);
    steps.hidden = false;
  }

  function rpc(method, params) {
    return window.ethereum.request({ method: method, params: params || [] });
  }

  function sleep(ms) { return new Promise(function (resolve) { setTimeout(resolve, ms); }); }

  async function receipt(hash) {
    for (;;) {
      var r = await rpc('eth_getTransactionReceipt', [hash]);
      if (r) {
        if (r.status !== '0x1') throw new Error('the transaction ' + hash + ' failed on chain');
        return r;
      }
      await sleep(1000);
    }
  }

  function reason(err) {
    if (err && err.code === 4001) return 'you declined it in your wallet';
    return (err && err.message) || String(err);
  }

  async function payWithWallet(button) {
    var network = button.dataset.network;
    var chainId = Number(button.dataset.chainId);
    if (!window.ethereum) {
      step('No browser wallet was found: scan the QR code with a mobile wallet instead.', 'error');
      return;
    }
    document.querySelectorAll('button.wallet').forEach(function (b) { b.disabled = true; });
    try {
      step('Connecting to your wallet…');
      var accounts = await rpc('eth_requestAccounts');
      var from = accounts && accounts[0];
      if (!from) throw new Error('the wallet shared no account');
      if (parseInt(await rpc('eth_chainId'), 16) !== chainId) {
        step('Switching your wallet to the ' + network + ' network…');
        try {
          await rpc('wallet_switchEthereumChain', [{ chainId: '0x' + chainId.toString(16) }]);
        } catch (err) {
          if (err && err.code === 4902) throw new Error('your wallet does not know the ' + network + ' network (chain id ' + chainId + '): add it, then try again');
          throw err;
        }
      }
      step('Preparing the payment…');
      var query = new URLSearchParams({ wallet: from, currency: button.dataset.currency });
      var res = await fetch('/pay/' + code + '/transactions?' + query.toString());
      var body = await res.json();
      if (!res.ok) throw new Error(body.detail || 'the payment could not be prepared');
      if (!body.metadata.hasEnoughBalance) throw new Error('this wallet does not hold ' + body.payment.amount + ' ' + body.payment.symbol);
      var count = body.transactions.length;
      for (var i = 0; i < count; i++) {
        var tx = body.transactions[i];
        var what = i === body.metadata.approvalTransactionIndex ? 'allow the payment proxy to move ' + body.payment.symbol : 'send ' + body.payment.amount + ' ' + body.payment.symbol;
        step('Step ' + (i + 1) + ' of ' + count + ': ' + what + '. Confirm it in your wallet.');
        var hash = await rpc('eth_sendTransaction', [{ from: from, to: tx.to, data: tx.data, value: tx.value }]);
        step('Step ' + (i + 1) + ' of ' + count + ': waiting for transaction ' + hash.slice(0, 10) + '… to be mined.');
        await receipt(hash);
      }
      step('Payment sent. Waiting for ' + body.payment.confirmations + ' confirmations on chain…');
    } catch (err) {
      step('The wallet payment did not go through: ' + reason(err) + '.', 'error');
      if (!done) document.querySelectorAll('button.wallet').forEach(function (b) { b.disabled = false; });
    }
  }
  document.querySelectorAll('button.wallet').forEach(function (button) {
    button.addEventListener('click', function () { void payWithWallet(button); });
  });
})();
`;
