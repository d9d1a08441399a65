// tryitout.mjs drives clnrest's Swagger UI in Debian's Chromium the way a
// person would: open the UI, Authorize with a rune, expand POST
// /v1/<method>, Try it out, Execute, then read the status and body that
// the UI shows. It prints one JSON object on stdout:
//   {status, body, cspViolations, foreignRequests, pageErrors, screenshot}
// and exits 0 when the UI completed the steps (whatever the status), 1
// otherwise. The caller judges the status and body.
//
// usage: node tryitout.mjs <ui-url> <rune> <screenshot.png> [method] [tag]
//   method defaults to getinfo, tag (the operation's group) to rpc; a rune
//   of "-" skips Authorize (the request then carries no rune).
// env: CHROMIUM (default /usr/bin/chromium), TRYITOUT_TIMEOUT_MS (30000)
import { chromium } from 'playwright-core';

const [uiURL, rune, shot, method = 'getinfo', tag = 'rpc'] = process.argv.slice(2);
if (!uiURL || !rune || !shot) {
  console.error('usage: node tryitout.mjs <ui-url> <rune> <screenshot.png> [method] [tag]');
  process.exit(2);
}
const timeout = Number(process.env.TRYITOUT_TIMEOUT_MS || 30000);
const origin = new URL(uiURL).origin;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
const out = { status: '', body: '', cspViolations: [], foreignRequests: [], pageErrors: [], screenshot: shot };
let ok = false;
try {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 1000 } });
  const page = await context.newPage();
  page.setDefaultTimeout(timeout);
  // Every request must stay on the server's origin (no CDN, no fonts).
  page.on('request', (req) => {
    const u = req.url();
    if (!u.startsWith(origin) && !u.startsWith('data:') && !u.startsWith('blob:')) out.foreignRequests.push(u);
  });
  page.on('pageerror', (err) => out.pageErrors.push(String(err)));
  page.on('console', (msg) => {
    if (msg.type() === 'error' && /Content.Security.Policy/i.test(msg.text())) out.cspViolations.push(msg.text());
  });
  await page.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      (window.__csp = window.__csp || []).push(`${e.violatedDirective} blocked ${e.blockedURI}`);
    });
  });

  await page.goto(uiURL);
  const op = page.locator(`#operations-${tag}-${method}`);
  await op.waitFor();

  // Authorize: the api_key scheme takes the rune for the "rune" header.
  if (rune !== '-') {
    await page.locator('.scheme-container .btn.authorize').click();
    const modal = page.locator('.dialog-ux .modal-ux');
    await modal.locator('input').first().fill(rune);
    await modal.locator('button.authorize').click();
    await modal.locator('button.btn-done, button.close-modal').first().click();
  }

  await op.locator('.opblock-summary').first().click();
  await op.locator('button.try-out__btn').click();
  await op.locator('button.execute').click();

  const status = op.locator('.live-responses-table .response .response-col_status').first();
  await status.waitFor();
  out.status = (await status.innerText()).trim();
  const body = op.locator('.live-responses-table .response-col_description pre').first();
  out.body = (await body.innerText()).trim();
  await op.scrollIntoViewIfNeeded();
  await page.screenshot({ path: shot, fullPage: false });
  out.cspViolations.push(...await page.evaluate(() => window.__csp || []));
  ok = true;
} catch (err) {
  out.error = String(err);
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
process.exit(ok ? 0 : 1);
