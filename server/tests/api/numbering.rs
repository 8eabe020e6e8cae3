//! Invoice numbers (issue 33): one unbroken series per year of issue, `INV-2026-000001`
//! onwards, taken in the transaction that makes the invoice — no gap and no duplicate when
//! three runs bill at once (here; `invoicing::killed_runs_*` kill `tally bill` processes at
//! random moments and run two at once), while invoices made before keep their numbers.

use tally_core::billing::BillingMonth;

use crate::{both_databases, helpers::TestApp, invoicing::millis};

/// The invoices' numbers are `INV-<year>-000001` to `…-<n>`, each once.
pub(crate) async fn assert_numbered_without_gaps(app: &TestApp, n: i64) {
    let numbers: Vec<String> =
        sqlx::query_scalar("SELECT number FROM invoices WHERE number LIKE 'INV-%'")
            .fetch_all(app.db.pool())
            .await
            .unwrap();
    assert_eq!(
        numbers.len() as i64,
        n,
        "every invoice has a number of the series"
    );
    let mut seen: Vec<i64> = numbers
        .iter()
        .map(|number| {
            let (series, n) = number.rsplit_once('-').unwrap();
            assert!(
                series.len() == 8 && series[4..].chars().all(|c| c.is_ascii_digit()),
                "{number}"
            );
            assert_eq!(n.len(), 6, "{number}");
            n.parse().unwrap()
        })
        .collect();
    seen.sort_unstable();
    assert_eq!(
        seen,
        (1..=n).collect::<Vec<_>>(),
        "1 to {n}, no gap, no duplicate"
    );
}

/// Customer accounts `from..to` with no users (each gets a zero invoice), in a few statements.
async fn accounts(app: &TestApp, from: usize, to: usize) {
    for start in (from..to).step_by(200) {
        let rows: Vec<String> = (start..(start + 200).min(to))
            .map(|i| format!("('acct-n{i:05}', 'Company {i}', {})", millis(2026, 9, 1)))
            .collect();
        sqlx::query(&format!(
            "INSERT INTO accounts (id, name, created_at) VALUES {}",
            rows.join(", ")
        ))
        .execute(app.db.pool())
        .await
        .unwrap();
    }
}

both_databases! {
    async fn three_runs_at_once_number_every_invoice_once_without_a_gap(app: TestApp) {
        app.clock.set(millis(2026, 11, 1) + 3_600_000);
        // More accounts than one chunk of a run, so the three runs' chunks interleave.
        let n = tally_services::billing::invoices::run::CHUNK + 301;
        accounts(&app, 0, n).await;
        // An invoice from before the series keeps its number.
        sqlx::query("INSERT INTO invoices (id, account_id, number, month, peak_users, free_users, price_per_user_cents, amount_cents, status, company_name, created_at) \
                     VALUES ('inv-old', 'acct-n00000', '2026-09-N00000', '2026-09', 0, 10, 500, 0, 'zero', 'Company 0', $1)")
            .bind(millis(2026, 10, 1)).execute(app.db.pool()).await.unwrap();
        let october = BillingMonth::new(2026, 10).unwrap();
        let run = &app.services.billing_run;
        let (a, b, c) = tokio::join!(run.run_month(october), run.run_month(october), run.run_month(october));
        let made = a.unwrap().invoices_created + b.unwrap().invoices_created + c.unwrap().invoices_created;
        assert_eq!(made as usize, n, "each account invoiced once");
        assert_numbered_without_gaps(&app, n as i64).await;
        let old: String = sqlx::query_scalar("SELECT number FROM invoices WHERE id = 'inv-old'").fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(old, "2026-09-N00000");

        // The series is the year of issue: November's invoices, made on January 1, start 2027's.
        app.clock.set(millis(2027, 1, 1) + 3_600_000);
        let before: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invoices").fetch_one(app.db.pool()).await.unwrap();
        run.run_month(BillingMonth::new(2026, 12).unwrap()).await.unwrap();
        let numbers: Vec<String> = sqlx::query_scalar("SELECT number FROM invoices WHERE month = '2026-12' ORDER BY number").fetch_all(app.db.pool()).await.unwrap();
        let after: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM invoices").fetch_one(app.db.pool()).await.unwrap();
        assert_eq!(numbers.len() as i64, after - before);
        let expected: Vec<String> = (1..=numbers.len()).map(|i| format!("INV-2027-{i:06}")).collect();
        assert_eq!(numbers, expected);
    }
}
