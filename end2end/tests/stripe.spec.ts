import { test, expect, type Page } from "@playwright/test";
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { accessibilityViolations, waitForHydration } from "../pages/base";
import { firstAccount, signInAsOperator } from "../pages/console";
import { PaymentsModal } from "../pages/payments";

// The Stripe gateway, end to end: a second Tally server (the same build) with
// TALLY_GATEWAY=stripe against localstripe, which scripts/test.sh starts and names in
// TALLY_TEST_STRIPE_URL. The card goes from the browser to the processor; Tally's server
// must never receive its number or its security code.
test.describe.configure({ mode: "serial" });

const stripeUrl = process.env.TALLY_TEST_STRIPE_URL ?? "";
const port = Number(process.env.TALLY_E2E_PORT ?? 3100) + 2;
const base = `http://localhost:${port}`;
const root = path.resolve(__dirname, "..", "..");
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "tally-e2e-stripe-"));
const owner = {
  company: "Stripe Corp",
  first: "Sam",
  last: "Ray",
  email: "sam@stripe-corp.test",
  password: "correct horse battery staple",
};
// The security code typed with every card here: searched for in what Tally receives.
const CVC = "739";
let server: ChildProcess | undefined;
const binary = path.join(root, "target", process.env.TALLY_E2E_PROFILE ?? "release", "tally");
const stripeEnv = {
  TALLY_GATEWAY: "stripe",
  TALLY_STRIPE_SECRET_KEY: "sk_test_tally_e2e",
  TALLY_STRIPE_PUBLISHABLE_KEY: "pk_test_tally_e2e",
  TALLY_STRIPE_WEBHOOK_SECRET: "whsec_tally_e2e",
  TALLY_STRIPE_API_BASE: stripeUrl,
};

test.beforeAll(async () => {
  test.skip(!stripeUrl, "TALLY_TEST_STRIPE_URL is not set (scripts/test.sh starts localstripe)");
  server = spawn(binary, [], {
    env: {
      PATH: process.env.PATH ?? "",
      TALLY_ADDR: `127.0.0.1:${port}`,
      TALLY_DATA_DIR: dataDir,
      TALLY_PUBLIC_URL: base,
      TALLY_SIGN_IN_PER_IP_MINUTE: "1000",
      LEPTOS_SITE_ROOT: path.join(root, "target/site"),
      RUST_LOG: "warn",
      ...stripeEnv,
    },
    stdio: ["ignore", "ignore", "inherit"],
  });
  for (let i = 0; i < 300; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the Stripe-gateway server did not start");
});

test.afterAll(async () => {
  server?.kill();
});

/** Every request body Tally's server receives from this page. */
function recordBodies(page: Page): string[] {
  const bodies: string[] = [];
  page.on("request", (r) => {
    if (r.url().startsWith(base)) bodies.push(`${r.method()} ${r.url()}\n${r.postData() ?? ""}`);
  });
  return bodies;
}

function hitsOf(bodies: string[], digits: string): string[] {
  const spaced = digits.replace(/(\d{4})(?=\d)/g, "$1 ");
  const code = new RegExp(`(^|[^0-9a-fA-F])${CVC}([^0-9a-fA-F]|$)`);
  return bodies.filter((b) => b.includes(digits) || b.includes(spaced) || code.test(b.split("\n").slice(1).join("\n")));
}

async function openCardWindow(page: Page) {
  await page.goto(`${base}/billing/payment`);
  await waitForHydration(page);
  const modal = new PaymentsModal(page);
  const d = modal.dialog;
  await expect(d).toBeVisible();
  // With a card on file the modal opens on its summary: Update goes to the steps.
  const update = d.getByRole("button", { name: "Update" });
  const company = d.getByLabel("Company name");
  await expect(update.or(company)).toBeVisible();
  if (await update.isVisible()) await update.click();
  await expect(company).toBeVisible();
  if ((await company.inputValue()) === "") await modal.fillBillingInformation();
  await d.getByRole("button", { name: "Next" }).click();
  await expect(d.getByLabel("Cardholder name")).toBeVisible();
  await d.getByLabel("Cardholder name").fill("Sam Ray");
  await d.getByRole("button", { name: "Enter card" }).click();
  await expect(d.getByLabel("Card number")).toBeFocused();
  return modal;
}

test("the article's flow with Stripe: the card goes to the processor, never to Tally", async ({ page }) => {
  const bodies = recordBodies(page);
  await page.goto(`${base}/`);
  await expect(page).toHaveURL(/\/setup$/);
  await firstAccount(page, owner.company, owner, { url: base, dir: dataDir });

  const modal = await openCardWindow(page);
  const d = modal.dialog;
  const toProcessor: string[] = [];
  page.on("request", (r) => {
    if (r.url().startsWith(stripeUrl)) toProcessor.push(r.postData() ?? "");
  });
  await modal.fillCard("4242424242424242", "1230", CVC); // test number
  await d.getByRole("button", { name: "Submit Payment Method" }).click();
  await expect(page.getByText("Your card is saved: Visa •••• 4242.")).toBeVisible();
  // It went to the processor, with the publishable key...
  expect(toProcessor.some((b) => b.includes("4242424242424242") && b.includes("pk_test_tally_e2e"))).toBe(true);
  // ...and not one request body Tally received carries the number or the code.
  expect(bodies.length).toBeGreaterThan(3);
  expect(hitsOf(bodies, "4242424242424242")).toEqual([]);
});

test("a card whose bank asks for authentication is confirmed in the card window, then saved", async ({ page }) => {
  const bodies = recordBodies(page);
  await page.goto(`${base}/login`);
  await page.getByLabel("Email").fill(owner.email);
  await page.getByLabel("Password").fill(owner.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  const modal = await openCardWindow(page);
  const d = modal.dialog;
  // Declined at set-up: the processor's words, nothing saved.
  await modal.fillCard("4000000000000002", "1230", CVC); // test number
  await d.getByRole("button", { name: "Submit Payment Method" }).click();
  await expect(d.getByRole("alert").filter({ hasText: "declined" })).toBeVisible();
  // Needs authentication: the bank's step shows in the window.
  await modal.fillCard("4000002500003155", "1230", CVC); // test number
  await d.getByRole("button", { name: "Submit Payment Method" }).click();
  await expect(d.getByRole("heading", { name: "Your bank asks you to confirm this card" })).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
  await d.getByRole("button", { name: "Confirm with my bank" }).click();
  await expect(page.getByText("Your card is saved: Visa •••• 3155.")).toBeVisible();
  expect(hitsOf(bodies, "4000002500003155")).toEqual([]);
  expect(hitsOf(bodies, "4000000000000002")).toEqual([]);
});

/** Last month: its first day (UTC milliseconds) and its name, `YYYY-MM`. */
function lastMonth(): { first: number; month: string } {
  const now = new Date();
  const first = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1);
  return { first, month: `${new Date(first).getUTCFullYear()}-${String(new Date(first).getUTCMonth() + 1).padStart(2, "0")}` };
}

test("an off-session charge the bank wants confirmed waits, is emailed, and is paid from its page", async ({ page }) => {
  // The 3155 card is on file (the test before). The account and 15 users as if they had been
  // there since last month, then that month's run by the subcommand.
  const { first, month } = lastMonth();
  execFileSync("python3", ["-c", `
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
c.execute("UPDATE accounts SET created_at = ?", (int(sys.argv[2]) - 86400000,))
acct = c.execute("SELECT id FROM accounts").fetchone()[0]
c.execute("INSERT INTO user_count_changes (id, account_id, at, delta) VALUES ('e2e-stripe', ?, ?, 15)", (acct, int(sys.argv[2]) + 14 * 86400000))
c.commit()
`, path.join(dataDir, "tally.db"), String(first)]);
  const out = execFileSync(binary, ["bill", "--month", month], {
    env: { PATH: process.env.PATH ?? "", TALLY_DATA_DIR: dataDir, RUST_LOG: "warn", TALLY_PUBLIC_URL: base, ...stripeEnv },
  }).toString();
  expect(out).toContain(`billed ${month}: 1 accounts, 1 invoices created`);

  // The billing contact is asked to have it confirmed, with a link.
  const outbox = path.join(dataDir, "outbox");
  const mail = fs.readdirSync(outbox)
    .map((f) => fs.readFileSync(path.join(outbox, f), "utf8").replace(/=\r?\n/g, "").replace(/=3D/g, "="))
    .find((m) => m.includes("Confirm the payment for Tally invoice"));
  expect(mail).toBeDefined();
  const link = mail!.match(/http:\/\/localhost:\d+\/billing\/authenticate\/[A-Za-z0-9-]+/)![0];

  await page.goto(`${base}/login`);
  await page.getByLabel("Email").fill(owner.email);
  await page.getByLabel("Password").fill(owner.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await page.goto(link);
  await waitForHydration(page);
  await expect(page.getByRole("heading", { level: 1, name: "Confirm a payment" })).toBeVisible();
  await expect(page.locator("#payment-status")).toHaveText("Authentication needed");
  await expect(page.getByText("$25.00")).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
  await page.getByRole("button", { name: "Confirm the payment with my bank" }).click();
  await expect(page.locator("#payment-status")).toHaveText("Paid");
  await expect(page.getByText("Nothing is waiting for confirmation on this invoice.")).toBeVisible();
  await page.goto(`${base}/billing`);
  await waitForHydration(page);
  await expect(page.getByRole("row", { name: new RegExp(month) })).toContainText("Paid");
});

test("the seller's Owner credits part of the card payment back through Stripe; the customer's Billing page shows it", async ({ page }) => {
  test.setTimeout(60_000); // the Owner's next code waits for a step of its own
  const { month } = lastMonth();
  await signInAsOperator(page, { url: base, dir: dataDir });
  await page.getByRole("link", { name: owner.company }).click();
  await expect(page.getByRole("heading", { name: owner.company, level: 1 })).toBeVisible();
  await waitForHydration(page);
  const row = page.getByRole("table", { name: /latest invoices/ }).getByRole("row", { name: new RegExp(month) });
  await expect(row).toContainText("Paid");
  await row.getByRole("button", { name: /^Issue a credit note/ }).click();
  const form = page.getByRole("region", { name: /Credit note for invoice/ });
  await form.getByLabel("Amount to credit").fill("5.00");
  await form.getByLabel("Reason (the billing contact reads it)").fill("Two seats counted twice");
  expect(await accessibilityViolations(page)).toEqual([]);
  type Refund = { id: string; amount: number; metadata: Record<string, string> };
  const refunds = async (): Promise<Refund[]> => (await (await fetch(`${stripeUrl}/v1/refunds?limit=100`, {
    headers: { Authorization: `Basic ${Buffer.from(`${stripeEnv.TALLY_STRIPE_SECRET_KEY}:`).toString("base64")}` },
  })).json()).data;
  const before = new Set((await refunds()).map((r) => r.id));
  await form.getByRole("button", { name: "Issue the credit note" }).click();
  await expect(page.getByRole("status").filter({ hasText: /^Credit note CN-/ })).toHaveText(/^Credit note CN-\d{4}-\d{6} for \$5\.00: Refunded to the card\.$/);
  // localstripe holds one new refund of $5.00, tagged with the note.
  const made = (await refunds()).filter((r) => !before.has(r.id));
  expect(made.map((r) => [r.amount, Boolean(r.metadata?.tally_credit_note)])).toEqual([[500, true]]);

  // The customer's Billing page lists it.
  await page.context().clearCookies();
  await page.goto(`${base}/login`);
  await page.getByLabel("Email").fill(owner.email);
  await page.getByLabel("Password").fill(owner.password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("heading", { name: "Overview" })).toBeVisible();
  await page.goto(`${base}/billing`);
  await waitForHydration(page);
  const listed = page.getByRole("table", { name: "Credit notes, newest first" }).getByRole("row", { name: /Two seats counted twice/ });
  await expect(listed).toContainText("$5.00");
  await expect(listed).toContainText("Refunded to the card.");
  expect(await accessibilityViolations(page)).toEqual([]);
});
