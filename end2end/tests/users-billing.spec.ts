import { test, expect, type Locator } from "@playwright/test";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { accessibilityViolations, openHydrated, waitForHydration } from "../pages/base";
import { newestMail, signInAsOwner } from "../pages/account";
import { addOperator, firstSignInAs, mailTo, mainServer, openAccounts, signInAsOperator } from "../pages/console";
import { PaymentsModal } from "../pages/payments";

// Runs after payments.spec.ts on the same server: billing information (contact
// billing@acme.test) and a Visa test card are saved.
test.describe.configure({ mode: "serial" });

const dataDir = () => process.env.TALLY_E2E_DATA_DIR ?? "";
const root = path.resolve(__dirname, "../..");

/** The month before this one, `YYYY-MM`, and its 15th at noon UTC in milliseconds. */
function lastMonth(): { month: string; midMonth: number } {
  const now = new Date();
  const first = Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1);
  const d = new Date(first);
  const month = `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
  return { month, midMonth: first + 14 * 86_400_000 + 12 * 3_600_000 };
}

/** A raw message's plain text, its quoted-printable or base64 undone. */
function decodeText(raw: string): string {
  const part = raw.split(/\r?\n--/).find((p) => /Content-Type: text\/plain/i.test(p)) ?? "";
  const [head, ...rest] = part.split(/\r?\n\r?\n/);
  const body = rest.join("\n\n");
  if (/Content-Transfer-Encoding: base64/i.test(head)) return Buffer.from(body.replace(/\s/g, ""), "base64").toString("utf8");
  const escaped = body.replace(/=\r?\n/g, "").replace(/%/g, "%25").replace(/=([0-9A-F]{2})/g, (_, h) => `%${h}`);
  return decodeURIComponent(escaped);
}

/** What a PDF's page says: its strings, hex ones (non-ASCII text) decoded as WinAnsi/Latin-1. */
function pdfText(pdf: Buffer): string {
  return pdf.toString("latin1").replace(/<([0-9A-Fa-f]+)>/g, (_, hex: string) => Buffer.from(hex, "hex").toString("latin1"));
}

/** The PDF a raw message carries. */
function attachedPdf(raw: string): Buffer {
  return Buffer.from(raw.split(/Content-Type: application\/pdf\r?\nContent-Transfer-Encoding: base64\r?\n\r?\n/)[1].split(/\r?\n--/)[0].replace(/\s/g, ""), "base64");
}

test("users past 10 move the projection; a billing run by the subcommand makes the invoice, its PDF and emails", async ({ page }) => {
  await signInAsOwner(page);
  await openHydrated(page, "/billing");
  await expect(page.getByRole("heading", { level: 1, name: "Billing" })).toBeVisible();
  await expect(page.locator("#projected-charge")).toContainText("$0.00");
  expect(await accessibilityViolations(page)).toEqual([]);

  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Users" }).click();
  await expect(page.getByRole("heading", { level: 1, name: "Users" })).toBeVisible();
  // A card number in the search box is refused next to it, not searched for.
  const search = page.getByLabel("Search by name or email");
  await search.fill("4111 1111 1111 1111"); // test number
  await page.getByRole("button", { name: "Search" }).click();
  await expect(page.getByText("This looks like a card number. Enter card details only in the card window.")).toBeVisible();
  await expect(search).toHaveAttribute("aria-invalid", "true");
  await search.fill("");
  await expect(search).not.toHaveAttribute("aria-invalid", "true");
  // One by hand, validated as typed.
  await page.getByRole("button", { name: "+ Add user" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("Email").fill("uma@");
  await dialog.getByLabel("First name").focus();
  await expect(dialog.getByText("Enter a single email address, like name@example.com.")).toBeVisible();
  await dialog.getByLabel("First name").fill("Uma");
  await dialog.getByLabel("Last name").fill("One");
  await dialog.getByLabel("Email").fill("uma@acme.test");
  await dialog.getByRole("button", { name: "Save user" }).click();
  await expect(page.getByRole("status")).toHaveText("Uma One is saved.");
  expect(await accessibilityViolations(page)).toEqual([]);

  // A file with bad lines imports nothing and lists each one.
  const bad = "first_name,last_name,email\nAl,Bee,al@acme.test\nNo,Email,\nUma,Again,UMA@acme.test\n";
  await page.getByLabel("CSV file").setInputFiles({ name: "users.csv", mimeType: "text/csv", buffer: Buffer.from(bad) });
  await page.getByRole("button", { name: "Import" }).click();
  await expect(page.getByText("Nothing was imported. Fix these 2 lines")).toBeVisible();
  await expect(page.getByText("Line 3:")).toBeVisible();
  await expect(page.getByText("Line 4: A user with this email already exists.")).toBeVisible();
  const rows = ["first_name,last_name,email", ...Array.from({ length: 11 }, (_, i) => `User,${i + 2},user${i + 2}@acme.test`)];
  await page.getByLabel("CSV file").setInputFiles({ name: "users.csv", mimeType: "text/csv", buffer: Buffer.from(rows.join("\n")) });
  await page.getByRole("button", { name: "Import" }).click();
  await expect(page.getByRole("status")).toHaveText("11 users imported.");
  await expect(page.getByText("12 users in all")).toBeVisible();
  await page.getByRole("button", { name: "Actions for Uma One" }).click();
  await page.getByRole("menu").getByRole("menuitem", { name: "Suspend Uma One" }).click();
  await expect(page.getByRole("status")).toHaveText("Uma One is suspended (still billable).");

  // 12 users, 10 free, $5.00 each.
  await openHydrated(page, "/billing");
  await expect(page.locator("#peak-so-far")).toHaveText("12");
  await expect(page.locator("#projected-charge")).toContainText("$10.00 (2 × $5.00)");
  await expect(page.locator("#projection")).toHaveText("Peak so far 12 users − 10 free = 2 × $5.00 = $10.00");
  // The day-by-day chart, drawn by the server, with its table for screen readers.
  // Today's bar, the last drawn: the month's earlier days may have had no users (a bar of
  // no height), as on any day but the 1st.
  await expect(page.locator("#month-chart svg .bar").last()).toBeVisible();
  await expect(page.locator("#month-chart svg")).toContainText("Peak so far 12");
  await expect(page.getByRole("table", { name: /Largest number of users each day/ })).toBeAttached();
  expect(await accessibilityViolations(page)).toEqual([]);
  await page.getByLabel("Also email invoices to me").check();
  await expect(page.getByRole("status")).toHaveText("Invoices will be emailed to you too.");

  // Two billing contacts, neither of them an administrator: the bookkeeper on the To line of
  // invoices and receipts, the finance director, who reads German, on the Cc line. Each field
  // is checked as typed.
  const contacts = page.getByRole("region", { name: "Billing contacts" });
  await contacts.getByLabel("Name").fill("Bea Books");
  await contacts.getByLabel("Email").fill("bea@");
  await contacts.getByLabel("Name").focus();
  await expect(contacts.getByText("Enter a single email address, like name@example.com.")).toBeVisible();
  await expect(contacts.getByLabel("Email")).toHaveAttribute("aria-invalid", "true");
  await contacts.getByLabel("Email").fill("bea@acme-books.test");
  await contacts.getByLabel("Receipts").check();
  await contacts.getByRole("button", { name: "Add contact" }).click();
  await expect(contacts.getByText("Bea Books (bea@acme-books.test) is a billing contact now.")).toBeVisible();
  await contacts.getByLabel("Name").fill("Cy Finance");
  await contacts.getByLabel("Email").fill("cy@acme-books.test");
  await contacts.getByLabel("Line").selectOption("cc");
  await contacts.getByLabel("Language of their messages and documents").selectOption("de");
  await contacts.getByRole("button", { name: "Add contact" }).click();
  await expect(contacts.getByRole("row", { name: /Cy Finance/ })).toContainText("Cc");
  await expect(contacts.getByRole("row", { name: /Cy Finance/ })).toContainText("Deutsch");
  await expect(contacts.getByRole("row", { name: /Bea Books/ })).toContainText("The account's");
  await expect(contacts.getByRole("row", { name: /Bea Books/ })).toContainText("Invoices and credit notes, Receipts");
  // The same address twice is refused beside the field, and what was typed stays.
  await contacts.getByLabel("Name").fill("Bea Again");
  await contacts.getByLabel("Email").fill("BEA@acme-books.test");
  await contacts.getByRole("button", { name: "Add contact" }).click();
  await expect(contacts.getByText("BEA@acme-books.test is already a billing contact.")).toBeVisible();
  await expect(contacts.getByLabel("Name")).toHaveValue("Bea Again");
  expect(await accessibilityViolations(page)).toEqual([]);

  // Acme and its users as if they had been there since last month (the console's other
  // accounts are this month's), then that month's run.
  const { month, midMonth } = lastMonth();
  const db = path.join(dataDir(), "tally.db");
  execFileSync("python3", ["-c", `
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
acme = c.execute("SELECT id FROM accounts WHERE name = 'Acme Corp'").fetchone()[0]
c.execute("UPDATE accounts SET created_at = ? WHERE id = ?", (int(sys.argv[2]) - 86400000, acme))
c.execute("UPDATE user_count_changes SET at = ? WHERE account_id = ?", (int(sys.argv[2]), acme))
c.commit()
`, db, String(midMonth)]);
  const out = execFileSync(path.join(root, "target", process.env.TALLY_E2E_PROFILE ?? "release", "tally"), ["bill", "--month", month], {
    env: { ...process.env, TALLY_DATA_DIR: dataDir(), RUST_LOG: "warn", TALLY_PUBLIC_URL: process.env.TALLY_E2E_BASE_URL },
  }).toString();
  expect(out).toContain(`billed ${month}: 1 accounts, 1 invoices created, 1 charged`);

  await openHydrated(page, "/billing");
  const invoice = page.getByRole("row", { name: new RegExp(month) });
  await expect(invoice).toContainText("$10.00");
  await expect(invoice).toContainText("Paid");
  expect(await accessibilityViolations(page)).toEqual([]);
  const [download] = await Promise.all([page.waitForEvent("download"), invoice.getByRole("link", { name: /PDF/ }).click()]);
  const file = await download.path();
  expect(fs.readFileSync(file!).subarray(0, 5).toString()).toBe("%PDF-");

  // Emailed to the billing contact and the opted-in admin only.
  const invoiceMails = fs.readdirSync(path.join(dataDir(), "outbox"))
    .map((f) => fs.readFileSync(path.join(dataDir(), "outbox", f), "utf8"))
    .filter((m) => m.includes("Your Tally invoice") && /^To: .*@acme\.test/m.test(m));
  const to = invoiceMails.map((m) => m.match(/^To: (.*)$/m)![1].trim()).sort();
  expect(to).toEqual(["ann@acme.test", "billing@acme.test"]);
  // And to the billing contacts, one message per language, each with its PDF: Bea's in the
  // account's English, Cy's in German (a Cc alone goes on the To line).
  const outbox = () => fs.readdirSync(path.join(dataDir(), "outbox"))
    .map((f) => fs.readFileSync(path.join(dataDir(), "outbox", f), "utf8"));
  const toContacts = outbox().filter((m) => m.includes("Your Tally invoice") && /^To: bea@acme-books\.test/m.test(m));
  expect(toContacts).toHaveLength(1);
  expect(toContacts[0]).not.toMatch(/^Cc:/m);
  expect(toContacts[0]).toMatch(/Content-Type: application\/pdf/);
  const german = outbox().filter((m) => /^To: cy@acme-books\.test/m.test(m) && m.includes("Rechnung"));
  expect(german).toHaveLength(1);
  const text = decodeText(german[0]);
  expect(text).toContain("Ihre Rechnung f\u00fcr den vergangenen Monat liegt als PDF bei.");
  expect(text).toContain("Gesamtbetrag: 10,00\u00a0$");
  const germanPdf = pdfText(attachedPdf(german[0]));
  expect(germanPdf).toMatch(/Rechnung INV-\d{4}-\d{6}/);
  expect(germanPdf).toContain("Gesamtbetrag: 10,00\u00a0$");
  expect(germanPdf).toContain("Abrechnungszeitraum: 1.");
  expect(germanPdf).not.toContain("Billing period");
  // The Billing page says to whom the invoice went, and that it was sent.
  await expect(invoice).toContainText("bea@acme-books.test \u2014 sent");
  await expect(invoice).toContainText("cy@acme-books.test \u2014 sent");
  await expect(invoice).toContainText("billing@acme.test \u2014 sent");
  // The billing contact (no administrator) gets the invoice itself, as a PDF.
  const contactMail = invoiceMails.find((m) => /^To: billing@acme\.test/m.test(m))!;
  expect(contactMail).toMatch(/Content-Type: application\/pdf/);
  expect(contactMail).toMatch(/filename\*?0?="tally-invoice-[^"]+\.pdf"/);
  const pdf = attachedPdf(contactMail);
  expect(pdf.subarray(0, 5).toString()).toBe("%PDF-");
  expect(pdf.toString("latin1")).toContain("Total: $10.00");
  // The year chart has the month now.
  await expect(page.locator("#year-chart svg")).toContainText("$10.00");

  // A copy goes to the billing contact, whoever asks.
  await invoice.getByRole("button", { name: /Email a copy/ }).click();
  await expect(page.getByRole("status")).toHaveText("A copy is on its way to the billing contact, billing@acme.test.");
  expect(newestMail("Copy of your Tally invoice")).toMatch(/^To: billing@acme\.test/m);

  // The printable view.
  await invoice.getByRole("link", { name: /^INV-\d{4}-\d{6}$/ }).click();
  await expect(page.getByRole("heading", { level: 1, name: /Invoice/ })).toBeVisible();
  await expect(page.getByRole("row", { name: /Total/ })).toContainText("$10.00");
  expect(await accessibilityViolations(page)).toEqual([]);
});

test("a Finance operator credits part of the paid invoice back to the card; Acme's Billing page and email show it; Support cannot", async ({ browser, page }) => {
  const { month } = lastMonth();
  const finance = await (await browser.newContext()).newPage();
  await firstSignInAs(finance, addOperator("finance"));
  await openAccounts(finance);
  await finance.getByRole("link", { name: "Acme Corp" }).click();
  await expect(finance.getByRole("heading", { name: "Acme Corp", level: 1 })).toBeVisible();
  await waitForHydration(finance);
  const invoices = finance.getByRole("table", { name: /latest invoices/ });
  const row = invoices.getByRole("row", { name: new RegExp(month) });
  await expect(row).toContainText("Paid");
  // Paid: a credit note or a correction is offered for it.
  await expect(row.getByRole("button")).toHaveText(["Issue a credit note", "Correct"]);
  await row.getByRole("button", { name: /^Issue a credit note/ }).click();
  const form = finance.getByRole("region", { name: /Credit note for invoice/ });
  await form.getByLabel("Amount to credit").fill("10.01");
  await form.getByLabel("Reason (the billing contact reads it)").focus();
  await expect(form.getByText("At most $10.00 is left to credit on this invoice.")).toBeVisible();
  await form.getByLabel("Amount to credit").fill("4.00");
  await form.getByLabel("Reason (the billing contact reads it)").fill("Outage on the 9th");
  expect(await accessibilityViolations(finance)).toEqual([]);
  await form.getByRole("button", { name: "Issue the credit note" }).click();
  await expect(finance.getByRole("status").filter({ hasText: /^Credit note CN-/ })).toHaveText(/^Credit note CN-\d{4}-\d{6} for \$4\.00: Refunded to the card\.$/);
  const notes = finance.getByRole("table", { name: /credit notes/ });
  await expect(notes.getByRole("row", { name: /Outage on the 9th/ })).toContainText("Refunded to the card");
  await expect(invoices.getByRole("row", { name: new RegExp(month) })).toContainText("$4.00 credited");
  // Credited, it can no longer be corrected (a correction cancels a whole invoice).
  await expect(invoices.getByRole("row", { name: new RegExp(month) }).getByRole("button")).toHaveText(["Issue a credit note"]);
  expect(await accessibilityViolations(finance)).toEqual([]);

  // Acme's Billing page lists it beside the invoices, with its PDF; the billing contact is
  // emailed the note.
  await signInAsOwner(page);
  await openHydrated(page, "/billing");
  const listed = page.getByRole("table", { name: "Credit notes, newest first" }).getByRole("row", { name: /Outage on the 9th/ });
  await expect(listed).toContainText("$4.00");
  await expect(listed).toContainText("Refunded to the card.");
  expect(await accessibilityViolations(page)).toEqual([]);
  const [download] = await Promise.all([page.waitForEvent("download"), listed.getByRole("link", { name: /PDF/ }).click()]);
  expect(fs.readFileSync((await download.path())!).subarray(0, 5).toString()).toBe("%PDF-");
  const mail = await mailTo(mainServer(), "Subject: Credit note CN-");
  expect(mail).toContain("Refunded to the card.");
  // To the billing contact, and to the billing contacts who receive invoices and credit
  // notes: Bea in English, Cy in German.
  const noteMails = fs.readdirSync(path.join(dataDir(), "outbox"))
    .map((f) => fs.readFileSync(path.join(dataDir(), "outbox", f), "utf8"))
    .filter((m) => /^Subject: (Credit note|Gutschrift) CN-/m.test(m) && /^To: .*acme/m.test(m));
  const noteTo = noteMails.map((m) => m.match(/^To: (.*)$/m)![1].trim() + (/^Cc: (.*)$/m.exec(m)?.[1] ? ` cc ${/^Cc: (.*)$/m.exec(m)![1].trim()}` : "")).sort();
  expect(noteTo).toEqual(["bea@acme-books.test", "billing@acme.test", "cy@acme-books.test"]);
  expect(decodeText(noteMails.find((m) => /^To: cy@/m.test(m))!)).toContain("Auf die Karte erstattet.");

  // Support sees the account and its notes, and no money action.
  const support = await (await browser.newContext()).newPage();
  await firstSignInAs(support, addOperator("support"));
  await openAccounts(support);
  await support.getByRole("link", { name: "Acme Corp" }).click();
  await expect(support.getByRole("heading", { name: "Credit notes" })).toBeVisible();
  await expect(support.getByRole("table", { name: /latest invoices/ }).getByRole("button")).toHaveCount(0);
  expect(await accessibilityViolations(support)).toEqual([]);
  await finance.context().close();
  await support.context().close();
});

test("Acme's billing administrator renames the company; the seller's Owner corrects an earlier invoice, and the Billing page, the documents and the email link the two", async ({ browser, page }) => {
  // The month before last billed too: Acme's 12 users there for a day of it.
  const { midMonth: lastMid } = lastMonth();
  const last = new Date(lastMid);
  const first = Date.UTC(last.getUTCFullYear(), last.getUTCMonth() - 1, 1);
  const d = new Date(first);
  const month = `${d.getUTCFullYear()}-${String(d.getUTCMonth() + 1).padStart(2, "0")}`;
  const mid = first + 14 * 86_400_000 + 12 * 3_600_000;
  const db = path.join(dataDir(), "tally.db");
  execFileSync("python3", ["-c", `
import sqlite3, sys
c = sqlite3.connect(sys.argv[1])
acme = c.execute("SELECT id FROM accounts WHERE name = 'Acme Corp'").fetchone()[0]
at = int(sys.argv[2])
c.execute("UPDATE accounts SET created_at = ? WHERE id = ?", (at - 86400000, acme))
c.execute("INSERT INTO user_count_changes (id, account_id, at, delta) VALUES ('e2e-corr-in', ?, ?, 12)", (acme, at))
c.execute("INSERT INTO user_count_changes (id, account_id, at, delta) VALUES ('e2e-corr-out', ?, ?, -12)", (acme, at + 86400000))
c.commit()
`, db, String(mid)]);
  execFileSync(path.join(root, "target", process.env.TALLY_E2E_PROFILE ?? "release", "tally"), ["bill", "--month", month], {
    env: { ...process.env, TALLY_DATA_DIR: dataDir(), RUST_LOG: "warn", TALLY_PUBLIC_URL: process.env.TALLY_E2E_BASE_URL },
  });

  // The billing administrator renames the company in Billing Information.
  await signInAsOwner(page);
  await openHydrated(page, "/billing/payment");
  const modal = new PaymentsModal(page);
  await modal.dialog.getByRole("button", { name: "Update" }).click();
  await modal.dialog.getByLabel("Company name").fill("Acme Corporation Ltd");
  await modal.dialog.getByRole("button", { name: "Next" }).click();
  await expect(modal.tab("Payment Information")).toHaveAttribute("aria-selected", "true");

  // The Owner (who, like Finance, takes money actions) corrects that month's invoice: a
  // reason first, beside its field.
  const finance = await (await browser.newContext()).newPage();
  await signInAsOperator(finance);
  await openAccounts(finance);
  await finance.getByRole("link", { name: "Acme Corp" }).click();
  await waitForHydration(finance);
  const invoices = finance.getByRole("table", { name: /latest invoices/ });
  const row = invoices.getByRole("row", { name: new RegExp(month) });
  await expect(row).toContainText("Paid");
  const original = (await row.getByRole("rowheader").textContent())!.trim();
  await row.getByRole("button", { name: /^Correct/ }).click();
  const form = finance.getByRole("region", { name: `Correct invoice ${original}` });
  await expect(form).toContainText("What was paid for it is taken off the new invoice");
  await form.getByRole("button", { name: "Correct the invoice" }).click();
  await expect(form.getByText("Say why: the account's billing contact reads it.")).toBeVisible();
  await form.getByLabel("Reason (the billing contact reads it)").fill("Company renamed");
  expect(await accessibilityViolations(finance)).toEqual([]);
  await form.getByRole("button", { name: "Correct the invoice" }).click();
  const said = finance.getByRole("status").filter({ hasText: /is corrected by invoice/ });
  await expect(said).toHaveText(new RegExp(`^Invoice ${original} is corrected by invoice INV-\\d{4}-\\d{6}: \\$0\\.00, nothing due\\.$`));
  const corrected = (await said.textContent())!.match(/by invoice (INV-\d{4}-\d{6})/)![1];
  const numbered = (table: Locator, number: string) => table.getByRole("row").filter({ has: finance.getByRole("rowheader", { name: number, exact: true }) });
  await expect(numbered(invoices, original)).toContainText(`Corrected by invoice ${corrected}`);
  await expect(numbered(invoices, corrected)).toContainText(`Corrects invoice ${original}`);
  await expect(finance.getByRole("table", { name: /credit notes/ }).getByRole("row", { name: /Company renamed/ })).toContainText("$10.00");

  // Acme's Billing page links the two; the correction is made out to the new name, and its
  // e-invoice is a corrected invoice (384) that references the original.
  await openHydrated(page, "/billing");
  await expect(page.getByRole("row").filter({ has: page.getByRole("rowheader", { name: original, exact: true }) })).toContainText(`Corrected by invoice ${corrected}`);
  await page.getByRole("link", { name: corrected, exact: true }).click();
  await expect(page.getByRole("heading", { name: `Corrected invoice ${corrected}`, level: 1 })).toBeVisible();
  await expect(page.getByText("Acme Corporation Ltd")).toBeVisible();
  await expect(page.getByText(`Corrects invoice ${original}`)).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
  const [xml] = await Promise.all([page.waitForEvent("download"), page.getByRole("link", { name: "Download e-invoice (XML)" }).click()]);
  const ubl = fs.readFileSync((await xml.path())!).toString();
  expect(ubl).toContain("<cbc:InvoiceTypeCode>384</cbc:InvoiceTypeCode>");
  expect(ubl).toContain(`<cac:BillingReference><cac:InvoiceDocumentReference><cbc:ID>${original}</cbc:ID>`);
  // Emailed as any invoice: to the billing contact, the administrator who opted in, and the
  // billing contacts who receive invoices.
  const mail = await mailTo(mainServer(), `Corrects invoice ${original}`);
  expect(mail).toMatch(/^To: ((billing|ann)@acme|bea@acme-books)\.test/m);
  expect(mail).toMatch(/filename(\*0)?="tally-invoice-INV-\d{4}-\d{6}\.xml"/);
  await finance.context().close();
});

test("a billing administrator limits Acme to the users it has; one more is refused on the Users page, naming the limit; then the limit is lifted", async ({ page }) => {
  await signInAsOwner(page);
  await openHydrated(page, "/billing");
  const card = page.getByRole("region", { name: "User limit" });
  const now = (await card.locator("#seat-cap-now").textContent())!;
  const users = now.match(/has (\d+) users/)![1];
  const field = card.getByLabel("Most users (blank for no limit)");
  // Checked as typed, beside the field.
  await field.fill("0");
  await field.blur();
  await expect(card.getByText("Enter at least 1 user, or leave it blank for no limit.")).toBeVisible();
  await field.fill(users);
  await card.getByRole("button", { name: "Save the limit" }).click();
  await expect(card.getByText(`Saved: at most ${users} users.`)).toBeVisible();
  await expect(card.locator("#seat-cap-now")).toHaveText(`At most ${users} users; the account has ${users}.`);
  expect(await accessibilityViolations(page)).toEqual([]);

  await openHydrated(page, "/users");
  await page.getByRole("button", { name: "+ Add user" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("First name").fill("Over");
  await dialog.getByLabel("Last name").fill("Limit");
  await dialog.getByLabel("Email").fill("over.limit@acme.test");
  await dialog.getByRole("button", { name: "Save user" }).click();
  await expect(dialog.getByText(`This account is limited to ${users} users, and has ${users} already. An Administrator With Billing can raise the limit on the Billing page.`)).toBeVisible();
  await expect(dialog.getByLabel("Email")).toHaveValue("over.limit@acme.test"); // nothing typed is lost
  expect(await accessibilityViolations(page)).toEqual([]);

  // Lifted (the specs after this one add users to Acme).
  await openHydrated(page, "/billing");
  await card.getByLabel("Most users (blank for no limit)").fill("");
  await card.getByRole("button", { name: "Save the limit" }).click();
  await expect(card.getByText("Saved: no limit.")).toBeVisible();
});

test("the Billing page says where the peak comes from, and the what-if answers in the browser with the network off", async ({ page }) => {
  await signInAsOwner(page);
  // Acme's users date from last month (the first spec moved them), so its month opened at its
  // peak; one more user today sets a new one.
  await openHydrated(page, "/users");
  await page.getByRole("button", { name: "+ Add user" }).click();
  const dialog = page.getByRole("dialog");
  await dialog.getByLabel("First name").fill("Pia");
  await dialog.getByLabel("Last name").fill("Peak");
  await dialog.getByLabel("Email").fill(`pia.${Date.now().toString(36)}@acme.test`);
  await dialog.getByRole("button", { name: "Save user" }).click();
  await expect(page.getByRole("status")).toHaveText("Pia Peak is saved.");
  await openHydrated(page, "/billing");
  const peak = page.getByRole("region", { name: "Where the peak comes from" });
  const peakSoFar = Number(await page.locator("#peak-so-far").textContent());
  const usersNow = Number(await page.locator("#users-now").textContent());
  await expect(peak.locator("#peak-statement")).toContainText(`Peak: ${peakSoFar} users, first reached on `);
  // Pia's arrival set the peak: the last of the changes that did.
  const steps = peak.getByRole("table", { name: "The changes that set the peak, each to a new high for the month" });
  await expect(steps.locator("tbody tr").last().locator("td").last()).toHaveText(String(peakSoFar));
  expect(await accessibilityViolations(page)).toEqual([]);

  // An alert at 80 % of $10.00: the estimate is past it, so it fires within seconds and the
  // Overview says so. A percentage that is not one is refused beside its field.
  const alerts = page.getByRole("region", { name: "Spend alerts" });
  await alerts.getByLabel("Amount for the month (blank for no alerts)").fill("10");
  await alerts.getByLabel("Alert at these percentages").fill("80, most");
  await alerts.getByRole("button", { name: "Save the alerts" }).click();
  await expect(alerts.getByText("\u201cmost\u201d is not a share of the amount: enter whole percentages from 1 to 500, such as 50, 80, 100.")).toBeVisible();
  await alerts.getByLabel("Alert at these percentages").fill("80");
  await alerts.getByRole("button", { name: "Save the alerts" }).click();
  await expect(alerts.getByText("Saved: alerts at 80 % of 10.")).toBeVisible();
  expect(await accessibilityViolations(page)).toEqual([]);
  await expect(async () => {
    await page.goto("/");
    await expect(page.locator("#glance-alerts")).toContainText("has reached 80 % of your $10.00.", { timeout: 1000 });
  }).toPass({ timeout: 20_000 });
  await openHydrated(page, "/billing");

  // Offline from here: every answer is computed in the page, with no request. (What the page
  // loads when idle, the payments window's settings, has loaded first.)
  await page.waitForLoadState("networkidle");
  const requests: string[] = [];
  page.on("request", (r) => requests.push(r.url()));
  await page.context().setOffline(true);
  const whatIf = page.getByRole("region", { name: "What if" });
  const answer = whatIf.locator("#what-if-answer");
  const count = whatIf.getByLabel("How many");
  await count.fill("3");
  await expect(answer).toContainText(`Adding 3 users today would make ${usersNow + 3} users.`);
  const peakAfter = Math.max(peakSoFar, usersNow + 3);
  await expect(answer).toContainText(
    peakAfter > peakSoFar ? `This month's peak would rise from ${peakSoFar} to ${peakAfter}` : `This month's peak would stay ${peakSoFar}`,
  );
  await expect(answer).toContainText(`Next month, with ${usersNow + 3} users throughout: $`);
  // Removing more users than there are is refused beside the field, in words.
  await whatIf.getByLabel("Change today").selectOption("remove");
  await count.fill(String(usersNow + 1));
  await expect(whatIf.getByText(`The account has ${usersNow} users now: remove at most ${usersNow}.`)).toBeVisible();
  await expect(count).toHaveAttribute("aria-invalid", "true");
  await count.fill("1");
  await expect(answer).toContainText(`Removing 1 user today would leave ${usersNow - 1} users.`);
  await expect(answer).toContainText(`This month's peak would stay ${peakSoFar}`);
  await whatIf.getByRole("button", { name: "Show" }).click();
  await expect(answer).toContainText(`Removing 1 user today would leave ${usersNow - 1} users.`);
  expect(requests).toEqual([]);
  expect(await accessibilityViolations(page)).toEqual([]);
  await page.context().setOffline(false);
});
