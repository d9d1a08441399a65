// sio_page.mjs opens e2e/testdata/sio.html in Debian's Chromium and
// reports what the page shows, as JSON lines on stdout:
//   {"event":"status","text":...} whenever the status changes,
//   {"event":"done","status":...,"messages":[...],"transport":...} at the end.
// It ends when a message containing <want> is shown, when the status
// shows an error, or after <timeoutMs>.
// usage: node sio_page.mjs <page-url> <want> <screenshot.png> [timeoutMs]
import { chromium } from 'playwright-core';

const [pageURL, want, shot, timeoutArg] = process.argv.slice(2);
const timeout = Number(timeoutArg || 30000);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--no-first-run'],
});
let code = 1;
try {
  const page = await browser.newPage();
  await page.goto(pageURL);
  const deadline = Date.now() + timeout;
  let last = '';
  let clicked = false;
  for (;;) {
    const status = await page.locator('#status').innerText();
    if (status !== last) { out({ event: 'status', text: status }); last = status; }
    if (status === 'Client Connected' && !clicked) {
      await page.click('#send'); // a client's own event must not come back to anyone
      clicked = true;
    }
    const messages = await page.locator('#messages li').allInnerTexts();
    if (messages.some((m) => m.includes(want)) || /error/i.test(status) || Date.now() > deadline) {
      await new Promise((r) => setTimeout(r, 300)); // let any stray message arrive
      const transport = await page.evaluate(() => (window.socket && socket.io.engine ? socket.io.engine.transport.name : ''));
      await page.screenshot({ path: shot });
      out({ event: 'done', status, messages: await page.locator('#messages li').allInnerTexts(), transport });
      code = 0;
      break;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
} catch (err) {
  out({ event: 'error', error: String(err) });
} finally {
  await browser.close();
}
process.exit(code);
