// What a page really downloads of the app's code: loads each URL in Chromium, waits until the
// app has hydrated (and, for a page with a dialog open, until its content shows), then adds up
// the JS and wasm files it fetched from /pkg/ — the main wasm, the loader of split chunks and
// every chunk the page needed — in raw and brotli bytes, from the built site folder.
//
//   node bench/page_bytes.cjs <site pkg dir> <cookie or -> <label>=<url>[@<css selector>] ...
//
// Prints one line per page: "<label> <raw bytes> <brotli bytes> <files>". Only 127.0.0.1.
const path = require("node:path");
const fs = require("node:fs");
const { chromium } = require(path.join(__dirname, "../end2end/node_modules/@playwright/test"));

(async () => {
  const [pkg, cookie, ...pages] = process.argv.slice(2);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  for (const spec of pages) {
    const [label, rest] = spec.split(/=(.*)/s);
    const [url, waitFor] = rest.split("@");
    if (new URL(url).hostname !== "127.0.0.1") throw new Error(`not loopback: ${url}`);
    const context = await browser.newContext();
    if (cookie !== "-") {
      const [name, value] = cookie.split(/=(.*)/s);
      await context.addCookies([{ name, value, url }]);
    }
    const page = await context.newPage();
    const files = new Set();
    page.on("response", (r) => {
      const p = new URL(r.url()).pathname;
      if (p.startsWith("/pkg/") && /\.(js|wasm)$/.test(p)) files.add(path.basename(p));
    });
    await page.goto(url);
    await page.locator('body[data-hydrated="true"]').waitFor();
    if (waitFor) await page.locator(waitFor).first().waitFor();
    await page.waitForLoadState("networkidle");
    let raw = 0;
    let br = 0;
    for (const f of files) {
      raw += fs.statSync(path.join(pkg, f)).size;
      br += fs.statSync(path.join(pkg, `${f}.br`)).size;
    }
    console.log(`${label} ${raw} ${br} ${files.size}`);
    await context.close();
  }
  await browser.close();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
