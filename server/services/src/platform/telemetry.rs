//! Structured logs through `tracing`; `RUST_LOG` picks levels, `TALLY_LOG_FORMAT` the format.

use tracing_subscriber::{fmt, EnvFilter};

use super::config::LogFormat;

tokio::task_local! {
    /// The id of the request being served: in its log lines (the request span's
    /// `request_id`), in its `X-Request-Id` header, and as the reference of an unexpected
    /// error it met, so a reference someone reads out finds every line of that request.
    pub static REQUEST_ID: String;
}

/// The current request's id, inside a request.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// Installs the global subscriber once; later calls (tests) are ignored.
pub fn init(format: &LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Json => builder.json().try_init(),
        LogFormat::Text => builder.try_init(),
    };
}

/// For integration tests: the same filter, written through libtest's capture (so a test's
/// server logs appear only when that test fails) and into `captured`, where a test can look
/// for the line an error left.
pub fn init_for_tests(captured: impl for<'a> fmt::MakeWriter<'a> + Send + Sync + 'static) {
    use tracing_subscriber::{layer::SubscriberExt, util::SubscriberInitExt, Layer};
    let filter = || {
        EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_http=info"))
    };
    let _ = tracing_subscriber::registry()
        .with(fmt::layer().with_test_writer().with_filter(filter()))
        .with(
            fmt::layer()
                .with_ansi(false)
                .with_writer(captured)
                .with_filter(filter()),
        )
        .try_init();
}
