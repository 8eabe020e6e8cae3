// The weight of pages as a person's browser gets them, in Chromium on loopback:
//
//   node bench/page_weight.cjs <site pkg dir> <base URL> <email> <password>
//
// Prints lines "<label> <brotli bytes> <files>" for
// - the visitor's pages (sign-in, forgot password, a reset link's page): everything they load,
//   HTML, CSS and any script, and "<label>-scripts <n>", the scripts and wasm among them;
// - the signed-in Overview, Billing and Administrators pages: the app's JS + wasm fetched until
//   the page has hydrated, and "<label>+idle", what follows while the browser is idle (the
//   payments modal's code, fetched ahead for billing roles);
// - "first-visit": every byte of the article's first visit — sign-in, Overview, Payments,
//   billing and payment information, a card saved — HTML, CSS, JS, wasm and server function
//   answers alike.
// Sizes are brotli: the precompressed copies served for /pkg/, brotli at quality 5 (what the
// server's compression layer uses by default) for the rest. Only 127.0.0.1 is contacted.
const path = require("node:path");
const fs = require("node:fs");
const zlib = require("node:zlib");
const { chromium } = require(path.join(__dirname, "../end2end/node_modules/@playwright/test"));

const [pkg, base, email, password] = process.argv.slice(2);
if (new URL(base).hostname !== "127.0.0.1") throw new Error(`not loopback: ${base}`);

async function brotliBytes(response) {
  const p = new URL(response.url()).pathname;
  if (p.startsWith("/pkg/")) {
    const f = path.join(pkg, path.basename(p));
    return fs.existsSync(`${f}.br`) ? fs.statSync(`${f}.br`).size : fs.statSync(f).size;
  }
  let body;
  try {
    body = await response.body();
  } catch {
    return 0; // a redirect has no body
  }
  return zlib.brotliCompressSync(body, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 5 } }).length;
}

/** Counts every response of a page from now on. */
function meter(page) {
  const seen = [];
  page.on("response", (r) => {
    if (new URL(r.url()).hostname === "127.0.0.1") seen.push(r);
  });
  return {
    seen,
    async total(filter = () => true) {
      let bytes = 0;
      let files = 0;
      for (const r of seen.filter(filter)) {
        bytes += await brotliBytes(r);
        files += 1;
      }
      return [bytes, files];
    },
  };
}

async function sum(responses) {
  let bytes = 0;
  for (const r of responses) bytes += await brotliBytes(r);
  return [bytes, responses.length];
}

const isCode = (r) => /\/pkg\/.*\.(js|wasm)$/.test(new URL(r.url()).pathname);

async function signIn(page) {
  await page.goto(`${base}/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator('body[data-hydrated="true"]').waitFor();
}

(async () => {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });

  for (const [label, p] of [["signin", "/login"], ["forgot", "/forgot-password"], ["reset", "/reset-password/an-old-link"]]) {
    const context = await browser.newContext();
    const page = await context.newPage();
    const m = meter(page);
    await page.goto(`${base}${p}`);
    await page.waitForLoadState("networkidle");
    const [bytes, files] = await m.total();
    console.log(`${label} ${bytes} ${files}`);
    console.log(`${label}-scripts ${m.seen.filter((r) => /\.(js|wasm)$/.test(new URL(r.url()).pathname)).length} 0`);
    await context.close();
  }

  // Signed-in pages, each loaded cold (nothing cached) with a session from a sign-in.
  const signedIn = await browser.newContext();
  await signIn(await signedIn.newPage());
  const session = await signedIn.cookies();
  await signedIn.close();
  for (const [label, p] of [["overview", "/"], ["billing", "/billing"], ["admins", "/administrators"]]) {
    const cold = await browser.newContext();
    await cold.addCookies(session);
    const page3 = await cold.newPage();
    // When the app marked itself hydrated, and when each file was asked for, on the page's
    // own clock: what was asked for later was fetched while idle.
    await page3.addInitScript(() => {
      new MutationObserver(() => {
        if (document.body?.dataset.hydrated === "true" && !window.__hydratedAt) window.__hydratedAt = performance.now();
      }).observe(document, { subtree: true, attributes: true, attributeFilter: ["data-hydrated"] });
    });
    const m = meter(page3);
    await page3.goto(`${base}${p}`);
    await page3.locator('body[data-hydrated="true"]').waitFor();
    await page3.waitForLoadState("networkidle");
    await page3.waitForTimeout(500);
    const { hydratedAt, started } = await page3.evaluate(() => ({
      hydratedAt: window.__hydratedAt,
      started: Object.fromEntries(performance.getEntriesByType("resource").map((e) => [new URL(e.name).pathname, e.startTime])),
    }));
    const code = m.seen.filter(isCode);
    const early = code.filter((r) => started[new URL(r.url()).pathname] < hydratedAt);
    const late = code.filter((r) => !early.includes(r));
    const [bytes, files] = await sum(early);
    const [idleBytes, idleFiles] = await sum(late);
    console.log(`${label} ${bytes} ${files}`);
    console.log(`${label}+idle ${idleBytes} ${idleFiles}`);
    await cold.close();
  }

  // The article's first visit, cold: sign in, the Overview, Payments, the two steps, a card.
  const context = await browser.newContext();
  const page = await context.newPage();
  const m = meter(page);
  await signIn(page);
  await page.getByRole("button", { name: email }).click();
  await page.getByRole("menuitem", { name: "Payments" }).click();
  const d = page.getByRole("dialog", { name: "Billing & Payments" });
  await d.getByLabel("Company name").fill("Bench Ltd");
  await d.getByLabel("Name", { exact: true }).fill("Dana Park");
  await d.getByLabel("Email", { exact: true }).fill("billing@bench.test");
  await d.getByLabel("Country").selectOption("US");
  await d.getByLabel("Street address").fill("1 Main St");
  await d.getByLabel("City").fill("Springfield");
  await d.getByLabel("State").selectOption("IL");
  await d.getByLabel("ZIP code").fill("62701");
  await d.getByRole("button", { name: "Next" }).click();
  await d.getByLabel("Cardholder name").fill("Dana Park");
  await d.getByRole("button", { name: "Enter card" }).click();
  await d.getByLabel("Card number").pressSequentially("4242424242424242"); // sandbox test number
  await d.getByLabel("Expiration date").pressSequentially("1230");
  await d.getByLabel(/Security code/).fill("123");
  await d.getByRole("button", { name: "Submit Payment Method" }).click();
  await d.getByText("Visa •••• 4242", { exact: true }).waitFor();
  await page.waitForLoadState("networkidle");
  const [bytes, files] = await m.total();
  console.log(`first-visit ${bytes} ${files}`);
  await context.close();
  await browser.close();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
