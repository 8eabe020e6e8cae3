//! The harness: `TestApp::spawn(backend)` migrates a new database, serves the router on a free
//! loopback port and hands back a client. `both_databases!` turns one test body into a SQLite
//! test and a PostgreSQL test.

use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::atomic::{AtomicU32, Ordering},
};

use tally_server::{build_router, AppState};
use tally_services::{
    platform::{
        clock::ManualClock,
        config::Settings,
        context::Context,
        db::{Backend, Database},
        mail::Mailer,
    },
    Services,
};

/// The password of every administrator `seed_account` creates.
pub const TEST_PASSWORD: &str = "test passphrase for everyone";

/// The PostgreSQL server the tests create their databases in; scripts/test.sh starts one.
pub const POSTGRES_URL_VAR: &str = "TALLY_TEST_POSTGRES_URL";

/// How long any test request may take; the slowest real ones take a few seconds.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

/// A running server on its own fresh database.
pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub db: Database,
    pub backend: Backend,
    pub clock: ManualClock,
    pub state: AppState,
    /// The server's services, for tests that call them directly (a billing run, a scheduler
    /// pass, the outbox).
    pub services: Services,
    pub outbox: PathBuf,
    /// The database's URL, for child processes (the `tally bill` subcommand).
    pub database_url: String,
    /// The set-up code the server made at start (the database is empty then).
    pub setup_code: String,
    _dir: tempfile::TempDir,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, &[]).await
    }

    /// Spawns with extra settings (environment variable names and values; `{port}` in a value
    /// stands for the port the server listens on).
    pub async fn spawn_with(backend: Backend, extra: &[(&str, &str)]) -> Self {
        // Server logs show up with a failing test's output (the harness captures them), and
        // in `logged` for tests that look for a line.
        tally_services::platform::telemetry::init_for_tests(|| LogLines);
        let dir = tempfile::tempdir().expect("temp dir");
        let database_url = fresh_database_url(backend, dir.path()).await;
        let db = Database::connect(&database_url)
            .await
            .expect("connect to the test database");
        db.migrate().await.expect("migrate the test database");

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind a free port");
        let addr = listener.local_addr().unwrap();
        let settings = Settings::from_lookup(|key| match key {
            "TALLY_ADDR" => Some(addr.to_string()),
            "TALLY_DATA_DIR" => Some(dir.path().display().to_string()),
            "DATABASE_URL" => Some(database_url.clone()),
            _ => extra
                .iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.replace("{port}", &addr.port().to_string())),
        })
        .expect("test settings");
        let clock = ManualClock::now();
        let outbox = dir.path().join("outbox");
        // The outbox folder, unless the test gives an SMTP server (`TALLY_SMTP_URL`).
        let mailer = match settings.smtp {
            Some(_) => Mailer::from_settings(&settings).expect("the test's SMTP server"),
            None => Mailer::outbox(outbox.clone(), &settings.mail_from).expect("outbox"),
        };
        let keys = tally_services::platform::secrets::load_for(&settings, &db)
            .await
            .expect("the test's keys");
        let ctx = Context::build(
            settings,
            db.clone(),
            std::sync::Arc::new(clock.clone()),
            mailer,
            keys,
        );
        let services = Services::new(ctx);
        let state = AppState::new(services.clone());
        let setup_code = services
            .setup
            .prepare_setup_code()
            .await
            .expect("the set-up code")
            .expect("a new database needs set-up");
        let router = build_router(state.clone());
        tokio::spawn(async move {
            axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
            .expect("test server");
        });

        let client = Self::new_client();
        Self {
            address: format!("http://{addr}"),
            client,
            db,
            backend,
            clock,
            state,
            services,
            outbox,
            database_url,
            setup_code,
            _dir: dir,
        }
    }

    /// Creates an account with one active administrator of each given role (emails
    /// `<role code>@<tag>.test`, password [`TEST_PASSWORD`]); returns the account id.
    pub async fn seed_account(&self, tag: &str, roles: &[tally_core::roles::Role]) -> String {
        use tally_services::platform::clock::Clock;
        let now = self.clock.now_millis();
        let account = format!("acct-{tag}");
        sqlx::query("INSERT INTO accounts (id, name, created_at) VALUES ($1, $2, $3)")
            .bind(&account)
            .bind(format!("Company {tag}"))
            .bind(now)
            .execute(self.db.pool())
            .await
            .unwrap();
        let hash = tally_services::platform::crypto::hash_password(TEST_PASSWORD);
        for role in roles {
            let email = format!("{}@{tag}.test", role.code());
            sqlx::query(
                "INSERT INTO admins (id, account_id, email, email_key, first_name, last_name, role, status, password_hash, created_at, updated_at) \
                 VALUES ($1, $2, $3, $3, 'Test', $4, $4, 'active', $5, $6, $6)",
            )
            .bind(format!("{tag}-{}", role.code()))
            .bind(&account)
            .bind(&email)
            .bind(role.code())
            .bind(&hash)
            .bind(now)
            .execute(self.db.pool())
            .await
            .unwrap();
        }
        account
    }

    /// An active operator of the seller, `<role code>@seller.test` with [`TEST_PASSWORD`] and
    /// no second step yet; returns their id (`op-<role code>`).
    pub async fn seed_operator(&self, role: tally_core::operators::OperatorRole) -> String {
        use tally_services::platform::clock::Clock;
        let now = self.clock.now_millis();
        let id = format!("op-{}", role.code());
        let email = format!("{}@seller.test", role.code());
        sqlx::query(
            "INSERT INTO operators (id, email, email_key, first_name, last_name, role, status, password_hash, created_at, updated_at) \
             VALUES ($1, $2, $2, 'Op', $3, $3, 'active', $4, $5, $5)",
        )
        .bind(&id)
        .bind(&email)
        .bind(role.code())
        .bind(tally_services::platform::crypto::hash_password(TEST_PASSWORD))
        .bind(now)
        .execute(self.db.pool())
        .await
        .unwrap();
        id
    }

    /// A customer account made from the console by the seller's Owner (seeded, and fresh),
    /// its first administrator (an Administrator With Billing) invited by email and accepting
    /// from `client` with `password`: the answer to that, which signs `client` in as them.
    /// The id of the account is `SELECT account_id FROM admins WHERE email_key = <email>`.
    pub async fn account_from_console(
        &self,
        client: &reqwest::Client,
        company: &str,
        (first, last, email): (&str, &str, &str),
        password: &str,
    ) -> reqwest::Response {
        use tally_core::{forms::NewAccountInput, operators::OperatorRole, roles::Role};
        let owner =
            match sqlx::query_scalar::<_, String>("SELECT id FROM operators WHERE id = 'op-owner'")
                .fetch_optional(self.db.pool())
                .await
                .unwrap()
            {
                Some(id) => id,
                None => self.seed_operator(OperatorRole::Owner).await,
            };
        let actor = tally_core::actor::OperatorActor {
            id: owner,
            email: "owner@seller.test".into(),
            first_name: "Op".into(),
            last_name: "owner".into(),
            role: OperatorRole::Owner,
            must_set_up_two_step: false,
            ip: None,
            verified_at: self.clock_now(),
            session: String::new(),
        };
        let input = NewAccountInput {
            company_name: company.into(),
            first_name: first.into(),
            last_name: last.into(),
            email: email.into(),
        };
        self.services
            .customers
            .create(&actor, &input, Role::AdministratorWithBilling, None)
            .await
            .expect("the account made from the console");
        self.services.ctx.outbox.deliver_due().await.unwrap();
        let mail = self
            .outbox_messages()
            .into_iter()
            .rev()
            .find(|m| m.contains(&format!("To: {email}")))
            .expect("the invitation");
        let link = find_link(&mail, &format!("{}/invitation/", self.address)).expect("its link");
        let token = link.rsplit('/').next().unwrap().to_string();
        self.call(
            client,
            "account/set-password",
            &[
                ("kind", "Invitation"),
                ("token", &token),
                ("password", password),
            ],
        )
        .await
    }

    /// A session for `admin_id` made directly in the database (no password hashing), and the
    /// `Cookie` header value that carries it: for tests that need many signed-in callers.
    pub async fn session_cookie_for(&self, admin_id: &str) -> String {
        use tally_services::platform::clock::Clock;
        let token = tally_services::platform::crypto::new_token();
        let now = self.clock.now_millis();
        sqlx::query("INSERT INTO sessions (id_hash, admin_id, account_id, created_at, last_seen_at, verified_at) SELECT $1, id, account_id, $2, $2, $2 FROM admins WHERE id = $3")
            .bind(tally_services::platform::crypto::token_hash(&token))
            .bind(now)
            .bind(admin_id)
            .execute(self.db.pool())
            .await
            .unwrap();
        format!("tally_session={token}")
    }

    /// Calls a server function with an explicit session cookie.
    pub async fn call_as(
        &self,
        cookie: &str,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/api/{endpoint}")))
            .header("Origin", &self.address)
            .header("Accept", "application/json")
            .header("Cookie", cookie)
            .form(form)
            .send()
            .await
            .expect("POST server function")
    }

    /// Calls a server function that takes JSON (nested arguments) with a session cookie.
    pub async fn call_json(
        &self,
        cookie: &str,
        endpoint: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/api/{endpoint}")))
            .header("Origin", &self.address)
            .header("Accept", "application/json")
            .header("Cookie", cookie)
            .json(body)
            .send()
            .await
            .expect("POST server function")
    }

    /// Calls a server function that takes JSON from `client` (its cookies).
    pub async fn call_json_from(
        &self,
        client: &reqwest::Client,
        endpoint: &str,
        body: &serde_json::Value,
    ) -> reqwest::Response {
        client
            .post(self.url(&format!("/api/{endpoint}")))
            .header("Origin", &self.address)
            .header("Accept", "application/json")
            .json(body)
            .send()
            .await
            .expect("POST server function")
    }

    /// A new browser signed in as `email` with [`TEST_PASSWORD`] and then `code` (an
    /// authenticator's or a recovery code).
    #[allow(dead_code)]
    pub async fn signed_in_second_step(&self, email: &str, code: &str) -> reqwest::Client {
        let c = self.signed_in(email).await;
        let res = self
            .call(&c, "account/second-step", &[("code", code)])
            .await;
        assert!(
            res.status().is_success(),
            "second step as {email}: {}",
            res.status()
        );
        c
    }

    /// A new browser signed in as `email` with [`TEST_PASSWORD`].
    pub async fn signed_in(&self, email: &str) -> reqwest::Client {
        let c = Self::new_client();
        let res = self
            .call(
                &c,
                "account/sign-in",
                &[("email", email), ("password", TEST_PASSWORD)],
            )
            .await;
        assert!(
            res.status().is_success(),
            "sign in as {email}: {}",
            res.status()
        );
        c
    }

    /// A fresh client with its own cookie jar (another browser). A response that never comes
    /// fails its test after [`REQUEST_TIMEOUT`] instead of holding up the whole run.
    pub fn new_client() -> reqwest::Client {
        reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap()
    }

    /// Calls a server function from `client`, as the browser does (form-encoded POST, same origin).
    pub async fn call(
        &self,
        client: &reqwest::Client,
        endpoint: &str,
        form: &[(&str, &str)],
    ) -> reqwest::Response {
        client
            .post(self.url(&format!("/api/{endpoint}")))
            .header("Origin", &self.address)
            .header("Accept", "application/json")
            .form(form)
            .send()
            .await
            .expect("POST server function")
    }

    /// Saves a card as the card window does, with a session cookie: begins the processor's
    /// set-up, confirms `body["card"]` (number, expiry and security code as typed) with the
    /// sandbox processor, then saves what it confirmed with `body["payment"]` and
    /// `body["idempotency_key"]`. The answer is the step that stopped it: the server's, or the
    /// processor's refusal as the card window shows it (core's message beside its field, or a
    /// decline).
    pub async fn save_card(&self, cookie: &str, body: &serde_json::Value) -> Answer {
        let with_cookie = |r: reqwest::RequestBuilder| r.header("Cookie", cookie);
        self.save_card_with(&self.client, with_cookie, body).await
    }

    /// [`Self::save_card`] from `client` (its cookies).
    pub async fn save_card_from(
        &self,
        client: &reqwest::Client,
        body: &serde_json::Value,
    ) -> Answer {
        self.save_card_with(client, |r| r, body).await
    }

    async fn save_card_with(
        &self,
        client: &reqwest::Client,
        sign: impl Fn(reqwest::RequestBuilder) -> reqwest::RequestBuilder,
        body: &serde_json::Value,
    ) -> Answer {
        let begun = sign(client.post(self.url("/api/billing/begin-card-setup")))
            .header("Origin", &self.address)
            .header("Accept", "application/json")
            .send()
            .await
            .expect("begin a card set-up");
        if !begun.status().is_success() {
            return Answer::of(begun).await;
        }
        let secret: String = begun.json().await.expect("a client secret");
        let setup = tally_core::processor::intent_id(&secret).to_string();
        let card = &body["card"];
        let text = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
        let typed = tally_core::forms::CardInput {
            number: text(&card["number"]),
            expiry: text(&card["expiry"]),
            cvc: text(&card["cvc"]),
        };
        let (month, year) = typed.expiry.split_once('/').unwrap_or((&typed.expiry, ""));
        let confirmed = client
            .post(self.url(&format!("/sandbox/v1/setup_intents/{setup}/confirm")))
            .header("Origin", &self.address)
            .form(&[
                ("key", "pk_sandbox"),
                ("client_secret", secret.as_str()),
                ("payment_method_data[type]", "card"),
                ("payment_method_data[card][number]", typed.number.as_str()),
                ("payment_method_data[card][exp_month]", month),
                ("payment_method_data[card][exp_year]", year),
                ("payment_method_data[card][cvc]", typed.cvc.as_str()),
            ])
            .send()
            .await
            .expect("confirm with the sandbox");
        let status = confirmed.status();
        let raw = confirmed.text().await.unwrap();
        let answer: tally_core::processor::IntentAnswer =
            serde_json::from_str(&raw).expect("the sandbox's answer");
        if answer.status != Some(tally_core::codes::IntentStatus::Succeeded) {
            // The processor's refusal never repeats the card's number.
            let digits: String = typed.number.chars().filter(char::is_ascii_digit).collect();
            assert!(digits.len() < 6 || !raw.contains(&digits), "{raw}");
            assert!(status.is_client_error(), "{status}: {raw}");
            let error = tally_app::components::payments::processor::refusal_error(answer);
            return Answer {
                status: reqwest::StatusCode::from_u16(error.status()).unwrap(),
                body: serde_json::to_string(&error).unwrap(),
            };
        }
        // What the card window tells the server: core's reading of what was typed.
        let today = chrono::Utc::now().date_naive();
        let read = typed
            .parse(&tally_core::card::AcceptedBrands::all(), today)
            .expect("a card the sandbox confirmed reads");
        let claimed = serde_json::json!({
            "brand": read.number.brand(),
            "last4": read.number.last4(),
            "exp_month": read.expiry.month(),
            "exp_year": read.expiry.year(),
        });
        let save = serde_json::json!({
            "payment": body["payment"],
            "setup_intent": setup,
            "card": claimed,
            "idempotency_key": body["idempotency_key"],
        });
        let saved = sign(client.post(self.url("/api/billing/confirm-card-setup")))
            .header("Origin", &self.address)
            .header("Accept", "application/json")
            .json(&save)
            .send()
            .await
            .expect("save a confirmed card");
        Answer::of(saved).await
    }

    /// Every message in the outbox, oldest first, as raw RFC 5322 text.
    pub fn outbox_messages(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(&self.outbox)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|p| decode_eml(&std::fs::read_to_string(p).unwrap()))
            .collect()
    }

    /// Every message in the outbox, oldest first, exactly as written (for its MIME parts).
    #[allow(dead_code)]
    pub fn outbox_raw(&self) -> Vec<String> {
        let mut files: Vec<_> = std::fs::read_dir(&self.outbox)
            .map(|d| {
                d.filter_map(Result::ok)
                    .map(|e| e.path())
                    .filter(|p| p.extension().is_some_and(|x| x == "eml"))
                    .collect()
            })
            .unwrap_or_default();
        files.sort();
        files
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    /// The server's secret key (from its data folder's key file), for child processes that
    /// open the same database with another data folder.
    pub fn secret_key(&self) -> String {
        let file = self
            .outbox
            .parent()
            .unwrap()
            .join(tally_services::platform::secrets::KEY_FILE);
        std::fs::read_to_string(file).unwrap().trim().to_string()
    }

    pub fn clock_now(&self) -> i64 {
        use tally_services::platform::clock::Clock;
        self.clock.now_millis()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// A page load as a browser makes it (`Accept: text/html`).
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client
            .get(self.url(path))
            .header("Accept", "text/html,application/xhtml+xml")
            .send()
            .await
            .expect("GET")
    }

    /// Calls a server function the way the browser does (form-encoded POST, same origin).
    pub async fn server_fn(&self, endpoint: &str, form: &[(&str, &str)]) -> reqwest::Response {
        self.client
            .post(self.url(&format!("/api/{endpoint}")))
            .header("Origin", &self.address)
            .header("Accept", "application/json")
            .form(form)
            .send()
            .await
            .expect("POST server function")
    }
}

/// An answer to a flow of several requests: the status and body of the one that decided it.
pub struct Answer {
    status: reqwest::StatusCode,
    body: String,
}

impl Answer {
    async fn of(res: reqwest::Response) -> Self {
        Self {
            status: res.status(),
            body: res.text().await.unwrap(),
        }
    }

    pub fn status(&self) -> reqwest::StatusCode {
        self.status
    }

    pub async fn json<T: serde::de::DeserializeOwned>(self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.body)
    }

    pub async fn text(self) -> Result<String, std::convert::Infallible> {
        Ok(self.body)
    }
}

/// Every log line of this test process so far.
static LOG: std::sync::Mutex<Vec<u8>> = std::sync::Mutex::new(Vec::new());

/// Writes log lines into [`LOG`].
struct LogLines;

impl std::io::Write for LogLines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOG.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The lines the servers of this process logged that contain `needle`.
pub fn logged(needle: &str) -> Vec<String> {
    String::from_utf8_lossy(&LOG.lock().unwrap())
        .lines()
        .filter(|l| l.contains(needle))
        .map(str::to_string)
        .collect()
}

/// A URL for a database nobody else uses: a new SQLite file, or a new PostgreSQL database.
pub async fn fresh_database_url(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}/tally.db?mode=rwc", dir.display()),
        Backend::Postgres => {
            let server = std::env::var(POSTGRES_URL_VAR).unwrap_or_else(|_| {
                panic!(
                    "{POSTGRES_URL_VAR} is not set: run the tests through scripts/test.sh, \
                     which starts a throw-away PostgreSQL and sets it"
                )
            });
            let name = unique_name();
            let admin = Database::connect(&server)
                .await
                .expect("connect to the test PostgreSQL server");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(admin.pool())
                .await
                .expect("create a test database");
            admin.close().await;
            let base = server.rsplit_once('/').map(|(b, _)| b).unwrap_or(&server);
            format!("{base}/{name}")
        }
    }
}

fn unique_name() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!(
        "tally_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        nanos
    )
}

/// Declares each `async fn name(app: TestApp) { … }` as two tests, `name::sqlite` and
/// `name::postgres`, each with a freshly spawned app.
#[macro_export]
macro_rules! both_databases {
    ($(async fn $name:ident($app:ident: TestApp) $body:block)*) => {
        $(
            mod $name {
                #[allow(unused_imports)]
                use super::*;

                async fn run($app: $crate::helpers::TestApp) $body

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    run($crate::helpers::TestApp::spawn(tally_services::platform::db::Backend::Sqlite).await).await
                }

                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    run($crate::helpers::TestApp::spawn(tally_services::platform::db::Backend::Postgres).await).await
                }
            }
        )*
    };
}

#[allow(dead_code)]
pub fn site_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/site")
}

/// Set-up's form, filled in for a seller ("Seller Ltd", its Owner Olive Ng
/// `olive@seller.test` with `password`), with the set-up `code`.
pub fn seller_setup_form<'a>(code: &'a str, password: &'a str) -> Vec<(&'static str, &'a str)> {
    vec![
        ("setup_code", code),
        ("legal_name", "Seller Ltd"),
        ("contact_email", "billing@seller.test"),
        ("country", "US"),
        ("line1", "1 Market St"),
        ("city", "San Francisco"),
        ("region", "CA"),
        ("postal_code", "94105"),
        ("price_per_user", "5.00"),
        ("free_users", "10"),
        ("first_name", "Olive"),
        ("last_name", "Ng"),
        ("email", "olive@seller.test"),
        ("password", password),
    ]
}

/// The message with quoted-printable soft line breaks and `=3D` undone, so links read whole.
pub fn decode_eml(raw: &str) -> String {
    raw.replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

/// The first URL in `text` that starts with `prefix`.
pub fn find_link(text: &str, prefix: &str) -> Option<String> {
    let start = text.find(prefix)?;
    let rest = &text[start..];
    let end = rest
        .find(|c: char| c.is_whitespace() || c == '"' || c == '<')
        .unwrap_or(rest.len());
    Some(rest[..end].to_string())
}

/// A message an SMTP sink accepted: its Message-ID and its recipients (RCPT TO).
#[derive(Clone, Debug, Default)]
pub struct Accepted {
    pub id: String,
    pub to: Vec<String>,
}

/// What an SMTP sink accepted, in order.
pub type Received = std::sync::Arc<std::sync::Mutex<Vec<Accepted>>>;

/// An SMTP listener on loopback, started by the test, that accepts every message after a
/// millisecond's pause (a mail server's own work) and records it; while `refuse` is set it
/// answers each message with a temporary refusal (451) instead. Returns its port.
#[allow(dead_code)]
pub async fn smtp_sink(refuse: std::sync::Arc<std::sync::atomic::AtomicBool>) -> (u16, Received) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let received = Received::default();
    let sink = received.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            tokio::spawn(smtp_session(socket, sink.clone(), refuse.clone()));
        }
    });
    (port, received)
}

/// One SMTP session of [`smtp_sink`]: any number of messages, until QUIT or the client goes.
async fn smtp_session(
    socket: tokio::net::TcpStream,
    received: Received,
    refuse: std::sync::Arc<std::sync::atomic::AtomicBool>,
) {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let (read, mut write) = socket.into_split();
    let mut lines = BufReader::new(read).lines();
    if write.write_all(b"220 sink ESMTP\r\n").await.is_err() {
        return;
    }
    let (mut in_data, mut message) = (false, Accepted::default());
    while let Ok(Some(line)) = lines.next_line().await {
        if in_data {
            if line == "." {
                in_data = false;
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
                // Accepted: recorded before the client hears so.
                received.lock().unwrap().push(std::mem::take(&mut message));
                if write.write_all(b"250 2.0.0 queued\r\n").await.is_err() {
                    return;
                }
            } else if line.to_ascii_lowercase().starts_with("message-id:") {
                message.id = line[11..].trim().to_string();
            }
            continue;
        }
        let upper = line.to_ascii_uppercase();
        let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            b"250-sink\r\n250 8BITMIME\r\n"
        } else if upper.starts_with("MAIL FROM") && refuse.load(std::sync::atomic::Ordering::SeqCst)
        {
            b"451 4.3.0 Mail server temporarily out of space\r\n"
        } else if upper.starts_with("RCPT TO:") {
            message.to.push(
                line[8..]
                    .trim()
                    .trim_matches(|c| c == '<' || c == '>')
                    .to_string(),
            );
            b"250 OK\r\n"
        } else if upper.starts_with("DATA") {
            in_data = true;
            b"354 go on\r\n"
        } else if upper.starts_with("QUIT") {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 OK\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}
