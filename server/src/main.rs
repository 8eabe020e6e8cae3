//! `tally [--demo]`: serve the portal; `tally bill --month YYYY-MM`: run the billing for a month. Settings come from the environment (see the README);
//! `--demo` (or `TALLY_DEMO=1`) seeds a demo account on an empty database.

use std::process::ExitCode;

/// mimalloc instead of glibc's allocator: requests allocate on tokio's threads and free on
/// SQLite's worker threads and back; glibc spent a quarter of a page render in malloc and
/// free doing that (see docs/benchmarks.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    sqlite_without_memory_statistics();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("the tokio runtime starts")
        .block_on(serve())
}

async fn serve() -> ExitCode {
    let settings = match tally_server::Settings::from_env() {
        Ok(s) => s,
        Err(e) => {
            eprintln!("tally: cannot start: configuration: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut demo = std::env::var("TALLY_DEMO").is_ok_and(|v| v == "1" || v == "true");
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("bill") {
        return bill(settings, &args[1..]).await;
    }
    for arg in args {
        match arg.as_str() {
            "--demo" => demo = true,
            "--help" | "-h" => {
                println!(
                    "usage: tally [--demo]            serve the portal\n       tally bill --month YYYY-MM   invoice every account for a month that has ended\n\nSettings are environment variables; see the README."
                );
                return ExitCode::SUCCESS;
            }
            other => {
                eprintln!("tally: unknown argument {other:?} (try --help)");
                return ExitCode::FAILURE;
            }
        }
    }
    tally_server::telemetry::init(&settings.log_format);
    match tally_server::run(settings, demo).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tally: cannot start: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `tally bill --month YYYY-MM`.
async fn bill(settings: tally_server::Settings, args: &[String]) -> ExitCode {
    let month = match args {
        [flag, m] if flag == "--month" => tally_core::billing::BillingMonth::parse(m),
        _ => None,
    };
    let Some(month) = month else {
        eprintln!("tally bill: usage: tally bill --month YYYY-MM");
        return ExitCode::FAILURE;
    };
    tally_server::telemetry::init(&settings.log_format);
    match tally_server::bill(settings, month).await {
        Ok(r) => {
            println!(
                "billed {}: {} accounts, {} invoices created, {} charged, {} failed, {} emails sent",
                r.month, r.accounts, r.invoices_created, r.charged, r.failed, r.mail_sent
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tally bill: {e}");
            ExitCode::FAILURE
        }
    }
}

/// SQLite without its allocation statistics, set before its first connection.
///
/// By default SQLite counts every allocation and free under one process-wide mutex. Its rows
/// are copied on sqlx's worker threads and freed on tokio's, so under load those threads
/// queued on that mutex: turning the count off cut a read request's server CPU by about a
/// fifth (0.80–0.93 ms to 0.69–0.71 ms for users/list at 1,500/s). Tally never reads the
/// statistics.
fn sqlite_without_memory_statistics() {
    // SAFETY: called once at start-up, on one thread, before any SQLite connection exists,
    // the only time sqlite3_config may be called; this option takes one int.
    let rc = unsafe {
        libsqlite3_sys::sqlite3_config(
            libsqlite3_sys::SQLITE_CONFIG_MEMSTATUS,
            0 as std::ffi::c_int,
        )
    };
    assert_eq!(rc, libsqlite3_sys::SQLITE_OK, "sqlite3_config(MEMSTATUS)");
}
