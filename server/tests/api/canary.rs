//! Card data never lands anywhere (docs/data-protection.md): the real server binary, logging at debug level to
//! a file, is sent canary card numbers made up for this run — one for every free-text field,
//! typed plain, spaced and dashed, each of which must be refused with 422 — and an American
//! Express canary with a 4-digit security code through the card window, which is saved; it
//! then bills a month and renders the invoice's PDF. Afterwards every byte it wrote is
//! searched for every canary in every spelling: its data folder (the SQLite database with its
//! WAL and journal, the outbox, the key file), a `pg_dump` of the PostgreSQL database, its log,
//! its answers and the PDF.

use std::{
    io::Read,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use rand::Rng;
use serde_json::json;

/// A number that passes Luhn and appears nowhere else: `prefix`, random digits, then the
/// check digit, `len` digits in all.
fn canary_number(prefix: &[u32], len: usize) -> String {
    let mut rng = rand::thread_rng();
    let mut digits: Vec<u32> = prefix.to_vec();
    digits.extend((prefix.len()..len - 1).map(|_| rng.gen_range(0..10)));
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            if i % 2 == 0 {
                let x = d * 2;
                if x > 9 {
                    x - 9
                } else {
                    x
                }
            } else {
                d
            }
        })
        .sum();
    digits.push((10 - sum % 10) % 10);
    digits
        .iter()
        .map(|d| char::from_digit(*d, 10).unwrap())
        .collect()
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Every file under `dir`, recursively.
fn files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let p = entry.path();
        if p.is_dir() {
            out.extend(files(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn occurrences(haystack: &[u8], needle: &[u8]) -> usize {
    haystack
        .windows(needle.len())
        .filter(|w| *w == needle)
        .count()
}

/// Where the canary code stands preceded and followed by a non-digit — how a leak would look
/// (`"cvc":"7391"`, `cvc=7391`), and what random bytes almost never look like — each with the
/// 40 bytes either side, so a failure says what matched.
fn bounded_occurrences(haystack: &[u8], code: &[u8]) -> Vec<String> {
    haystack
        .windows(code.len() + 2)
        .enumerate()
        .filter(|(_, w)| {
            !w[0].is_ascii_digit() && !w[w.len() - 1].is_ascii_digit() && &w[1..w.len() - 1] == code
        })
        .map(|(at, _)| {
            let around =
                &haystack[at.saturating_sub(40)..(at + code.len() + 42).min(haystack.len())];
            format!("at byte {at}: {:?}", String::from_utf8_lossy(around))
        })
        .collect()
}

/// The ways a person might type a number into a field: together, in groups of four with
/// spaces, and with dashes.
fn spellings(number: &str) -> [String; 3] {
    let groups: Vec<&str> = number
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    [number.to_string(), groups.join(" "), groups.join("-")]
}

/// One request a field's value goes into.
enum Send {
    Form(&'static str, Vec<(String, String)>),
    Json(&'static str, serde_json::Value),
}

fn form(endpoint: &'static str, fields: &[(&str, &str)]) -> Send {
    Send::Form(
        endpoint,
        fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
    )
}

fn address(line1: &str, line2: &str, city: &str, region: &str, postal: &str) -> serde_json::Value {
    json!({ "country": "US", "line1": line1, "line2": line2, "city": city, "region": region, "postal_code": postal })
}

fn billing_info(
    company: &str,
    contact: &str,
    phone: &str,
    tax: &str,
    address: serde_json::Value,
) -> Send {
    Send::Json(
        "billing/save-info",
        json!({ "info": {
            "company_name": company, "contact_name": contact, "contact_email": "billing@canary.test",
            "contact_phone": phone, "tax_id": tax, "address": address,
        }}),
    )
}

/// The payment information the card window sends with a card the processor confirmed (the
/// set-up's id does not matter: the payment information is checked first).
fn payment(holder: &str, address: serde_json::Value) -> Send {
    Send::Json(
        "billing/confirm-card-setup",
        json!({
            "payment": { "cardholder_name": holder, "same_as_billing": false, "address": address },
            "setup_intent": "seti_refused",
            "card": { "brand": "Visa", "last4": "4242", "exp_month": 12, "exp_year": 2030 },
            "idempotency_key": "refused",
        }),
    )
}

fn good_address() -> serde_json::Value {
    address("1 Main St", "", "Springfield", "IL", "62701")
}

/// Every free-text field Tally takes from a person after set-up, as a request that puts `v`
/// into it and nothing wrong anywhere else. `user` and `command` are existing ids.
#[allow(clippy::type_complexity)]
fn fields<'a>(
    user: &'a str,
    command: &'a str,
) -> Vec<(&'static str, Box<dyn Fn(&str) -> Send + 'a>)> {
    vec![
        (
            "company name",
            Box::new(|v| billing_info(v, "Cass Nary", "", "", good_address())),
        ),
        (
            "billing contact name",
            Box::new(|v| billing_info("Canary Co", v, "", "", good_address())),
        ),
        (
            "phone",
            Box::new(|v| billing_info("Canary Co", "Cass Nary", v, "", good_address())),
        ),
        (
            "tax id",
            Box::new(|v| billing_info("Canary Co", "Cass Nary", "", v, good_address())),
        ),
        (
            "address line 1",
            Box::new(|v| {
                billing_info(
                    "Canary Co",
                    "Cass Nary",
                    "",
                    "",
                    address(v, "", "Springfield", "IL", "62701"),
                )
            }),
        ),
        (
            "address line 2",
            Box::new(|v| {
                billing_info(
                    "Canary Co",
                    "Cass Nary",
                    "",
                    "",
                    address("1 Main St", v, "Springfield", "IL", "62701"),
                )
            }),
        ),
        (
            "city",
            Box::new(|v| {
                billing_info(
                    "Canary Co",
                    "Cass Nary",
                    "",
                    "",
                    address("1 Main St", "", v, "IL", "62701"),
                )
            }),
        ),
        (
            "region",
            Box::new(|v| {
                billing_info(
                    "Canary Co",
                    "Cass Nary",
                    "",
                    "",
                    address("1 Main St", "", "Springfield", v, "62701"),
                )
            }),
        ),
        (
            "postal code",
            Box::new(|v| {
                let mut gb = address("1 High St", "", "London", "", v);
                gb["country"] = json!("FR");
                billing_info("Canary Co", "Cass Nary", "", "", gb)
            }),
        ),
        ("cardholder name", Box::new(|v| payment(v, good_address()))),
        (
            "card address line 1",
            Box::new(|v| payment("Cass Nary", address(v, "", "Springfield", "IL", "62701"))),
        ),
        (
            "card address line 2",
            Box::new(|v| {
                payment(
                    "Cass Nary",
                    address("1 Main St", v, "Springfield", "IL", "62701"),
                )
            }),
        ),
        (
            "card city",
            Box::new(|v| payment("Cass Nary", address("1 Main St", "", v, "IL", "62701"))),
        ),
        (
            "card region",
            Box::new(|v| {
                payment(
                    "Cass Nary",
                    address("1 Main St", "", "Springfield", v, "62701"),
                )
            }),
        ),
        (
            "card postal code",
            Box::new(|v| {
                let mut fr = address("1 Rue", "", "Paris", "", v);
                fr["country"] = json!("FR");
                payment("Cass Nary", fr)
            }),
        ),
        (
            "administrator first name",
            Box::new(|v| {
                form(
                    "admins/create",
                    &[
                        ("first_name", v),
                        ("last_name", "Lee"),
                        ("email", "new@canary.test"),
                        ("role", "manager"),
                    ],
                )
            }),
        ),
        (
            "administrator last name",
            Box::new(|v| {
                form(
                    "admins/create",
                    &[
                        ("first_name", "Ann"),
                        ("last_name", v),
                        ("email", "new@canary.test"),
                        ("role", "manager"),
                    ],
                )
            }),
        ),
        (
            "own first name",
            Box::new(|v| {
                form(
                    "account/update-name",
                    &[("first_name", v), ("last_name", "Nary")],
                )
            }),
        ),
        (
            "own last name",
            Box::new(|v| {
                form(
                    "account/update-name",
                    &[("first_name", "Cass"), ("last_name", v)],
                )
            }),
        ),
        (
            "new user's first name",
            Box::new(|v| {
                form(
                    "users/create",
                    &[
                        ("first_name", v),
                        ("last_name", "Lee"),
                        ("email", "u2@canary.test"),
                    ],
                )
            }),
        ),
        (
            "new user's last name",
            Box::new(|v| {
                form(
                    "users/create",
                    &[
                        ("first_name", "Ann"),
                        ("last_name", v),
                        ("email", "u2@canary.test"),
                    ],
                )
            }),
        ),
        (
            "user's first name",
            Box::new(move |v| {
                form(
                    "users/update",
                    &[
                        ("id", user),
                        ("first_name", v),
                        ("last_name", "Lee"),
                        ("email", "u1@canary.test"),
                    ],
                )
            }),
        ),
        (
            "user's last name",
            Box::new(move |v| {
                form(
                    "users/update",
                    &[
                        ("id", user),
                        ("first_name", "Ann"),
                        ("last_name", v),
                        ("email", "u1@canary.test"),
                    ],
                )
            }),
        ),
        (
            "imported user's name",
            Box::new(|v| {
                form(
                    "users/import",
                    &[(
                        "csv",
                        &format!("first_name,last_name,email\nAnn,\"{v}\",u3@canary.test\n"),
                    )],
                )
            }),
        ),
        (
            "command name",
            Box::new(|v| {
                form(
                    "commands/create",
                    &[("name", v), ("shell", "bash"), ("script", "echo hi")],
                )
            }),
        ),
        (
            "command description",
            Box::new(|v| {
                form(
                    "commands/create",
                    &[
                        ("name", "Hi"),
                        ("shell", "bash"),
                        ("script", "echo hi"),
                        ("description", v),
                    ],
                )
            }),
        ),
        (
            "changed command name",
            Box::new(move |v| {
                form(
                    "commands/update",
                    &[
                        ("id", command),
                        ("name", v),
                        ("shell", "bash"),
                        ("script", "echo hi"),
                    ],
                )
            }),
        ),
        (
            "changed command description",
            Box::new(move |v| {
                form(
                    "commands/update",
                    &[
                        ("id", command),
                        ("name", "Hi"),
                        ("shell", "bash"),
                        ("script", "echo hi"),
                        ("description", v),
                    ],
                )
            }),
        ),
        (
            "invited administrator's email",
            Box::new(|v| {
                form(
                    "admins/create",
                    &[
                        ("first_name", "Ann"),
                        ("last_name", "Lee"),
                        ("email", &format!("{v}@canary.test")),
                        ("role", "manager"),
                    ],
                )
            }),
        ),
        (
            "user's email",
            Box::new(|v| {
                form(
                    "users/create",
                    &[
                        ("first_name", "Ann"),
                        ("last_name", "Lee"),
                        ("email", &format!("{v}@canary.test")),
                    ],
                )
            }),
        ),
        (
            "billing contact email",
            Box::new(|v| {
                let mut info = billing_info("Canary Co", "Cass Nary", "", "", good_address());
                if let Send::Json(_, body) = &mut info {
                    body["info"]["contact_email"] = json!(format!("{v}@canary.test"));
                }
                info
            }),
        ),
        (
            "sign-in email",
            Box::new(|v| {
                form(
                    "account/sign-in",
                    &[
                        ("email", &format!("{v}@canary.test")),
                        ("password", "not the password"),
                    ],
                )
            }),
        ),
        (
            "forgotten password email",
            Box::new(|v| {
                form(
                    "account/request-reset",
                    &[("email", &format!("{v}@canary.test"))],
                )
            }),
        ),
        (
            "users search",
            Box::new(|v| form("users/list", &[("search", v)])),
        ),
        (
            "administrators search",
            Box::new(|v| form("admins/list", &[("search", v)])),
        ),
        (
            "audit log actor filter",
            Box::new(|v| form("audit/list", &[("filter[actor]", v), ("filter[page]", "1")])),
        ),
    ]
}

/// A throw-away database for the server: a SQLite file in `data`, or a new PostgreSQL one.
async fn database_url(backend: tally_services::platform::db::Backend, data: &Path) -> String {
    std::fs::create_dir_all(data).unwrap();
    crate::helpers::fresh_database_url(backend, data).await
}

/// `pg_dump` of a PostgreSQL database, as text.
fn pg_dump(url: &str) -> Vec<u8> {
    let bin = std::fs::read_dir("/usr/lib/postgresql")
        .expect("PostgreSQL is installed (scripts/setup.sh --test)")
        .flatten()
        .map(|e| e.path().join("bin/pg_dump"))
        .filter(|p| p.exists())
        .max()
        .expect("pg_dump");
    let out = Command::new(bin)
        .arg("--dbname")
        .arg(url)
        .output()
        .expect("run pg_dump");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

async fn canary_card_data_reaches_no_file_log_or_email(
    backend: tally_services::platform::db::Backend,
) {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let data = dir.path().join("data");
    let url = database_url(backend, &data).await;
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let env = |cmd: &mut Command| {
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("TALLY_ADDR", format!("127.0.0.1:{port}"))
            .env("TALLY_DATA_DIR", &data)
            .env("DATABASE_URL", &url)
            .env("TALLY_PUBLIC_URL", &base)
            .env("LEPTOS_SITE_ROOT", crate::helpers::site_root())
            // Set-up allows 10 attempts per network in 10 minutes; each field's attempts
            // below come from a network of their own.
            .env("TALLY_TRUST_PROXY", "true")
            .env("RUST_LOG", "debug");
    };
    let log = || {
        Stdio::from(
            std::fs::File::options()
                .create(true)
                .append(true)
                .open(&log_path)
                .unwrap(),
        )
    };
    let mut server = Command::new(env!("CARGO_BIN_EXE_tally"));
    env(&mut server);
    let mut server = server
        .stdout(log())
        .stderr(log())
        .spawn()
        .expect("start the tally binary");

    let client = reqwest::Client::builder()
        .cookie_store(true)
        .timeout(crate::helpers::REQUEST_TIMEOUT)
        .build()
        .unwrap();
    let started = Instant::now();
    while client.get(format!("{base}/healthz")).send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "server did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let send = |request: &Send| {
        let r = match request {
            Send::Form(endpoint, fields) => {
                client.post(format!("{base}/api/{endpoint}")).form(fields)
            }
            Send::Json(endpoint, body) => client.post(format!("{base}/api/{endpoint}")).json(body),
        };
        r.header("Origin", &base)
            .header("Accept", "application/json")
            .send()
    };
    let mut answers = String::new();
    let mut canaries: Vec<String> = Vec::new();
    let mut refused = |what: &str, status: reqwest::StatusCode, body: String| {
        assert_eq!(status, 422, "{what}: {body}");
        assert!(
            body.contains("This looks like a card number"),
            "{what}: {body}"
        );
        answers.push_str(&body);
    };

    // Set-up itself: each of its free-text fields.
    let code = std::fs::read_to_string(data.join("setup-code")).expect("the set-up code file");
    let code = code.trim();
    let password = "a canary's long passphrase";
    let set_up_form = crate::helpers::seller_setup_form(code, password);
    for (network, field) in [
        "legal_name",
        "contact_email",
        "line1",
        "city",
        "first_name",
        "last_name",
        "email",
    ]
    .into_iter()
    .enumerate()
    {
        let canary = canary_number(&[4, 9], 16);
        for spelling in spellings(&canary) {
            let spelling = if field.contains("email") {
                format!("{spelling}@canary.test")
            } else {
                spelling
            };
            let mut f = set_up_form.clone();
            f.iter_mut().find(|(k, _)| *k == field).unwrap().1 = &spelling;
            let res = client
                .post(format!("{base}/api/setup/create"))
                .header("Origin", &base)
                .header("Accept", "application/json")
                .header("X-Forwarded-For", format!("10.9.{network}.1"))
                .form(&f)
                .send()
                .await
                .unwrap();
            refused(
                &format!("set-up {field}"),
                res.status(),
                res.text().await.unwrap(),
            );
        }
        canaries.push(canary);
    }
    let setup = send(&form("setup/create", &set_up_form)).await.unwrap();
    assert!(
        setup.status().is_success() || setup.status().is_redirection(),
        "{}",
        setup.status()
    );
    // The Owner sets up their second step, then makes the customer account from the console:
    // each of its fields refuses a canary too.
    let started: serde_json::Value = send(&form("operator/two-step/start-app", &[]))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let app_code = crate::authenticator::totp(started["key"].as_str().unwrap(), now);
    let confirmed = send(&form(
        "operator/two-step/confirm-app",
        &[("code", &app_code)],
    ))
    .await
    .unwrap();
    assert_eq!(confirmed.status(), 200);
    let account_form = [
        ("company_name", "Canary Co"),
        ("first_name", "Cass"),
        ("last_name", "Nary"),
        ("email", "cass@canary.test"),
    ];
    for field in ["company_name", "first_name", "last_name", "email"] {
        let canary = canary_number(&[4, 9], 16);
        for spelling in spellings(&canary) {
            let spelling = if field == "email" {
                format!("{spelling}@canary.test")
            } else {
                spelling
            };
            let mut f = account_form.to_vec();
            f.iter_mut().find(|(k, _)| *k == field).unwrap().1 = &spelling;
            let res = send(&form("operator/accounts/create", &f)).await.unwrap();
            refused(
                &format!("a new account's {field}"),
                res.status(),
                res.text().await.unwrap(),
            );
        }
        canaries.push(canary);
    }
    let made = send(&form("operator/accounts/create", &account_form))
        .await
        .unwrap();
    assert_eq!(made.status(), 200);
    // Cass accepts the invitation the outbox worker writes.
    let started = Instant::now();
    let token = loop {
        let link = files(&data)
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .map(|p| crate::helpers::decode_eml(&std::fs::read_to_string(p).unwrap()))
            .filter(|m| m.contains("To: cass@canary.test"))
            .find_map(|m| crate::helpers::find_link(&m, &format!("{base}/invitation/")));
        if let Some(link) = link {
            break link.rsplit('/').next().unwrap().to_string();
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the invitation"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let accepted = send(&form(
        "account/set-password",
        &[
            ("kind", "Invitation"),
            ("token", &token),
            ("password", password),
        ],
    ))
    .await
    .unwrap();
    assert!(
        accepted.status().is_success() || accepted.status().is_redirection(),
        "{}",
        accepted.status()
    );
    assert_eq!(
        send(&billing_info(
            "Canary Co",
            "Cass Nary",
            "",
            "",
            good_address()
        ))
        .await
        .unwrap()
        .status(),
        200
    );
    let user: String = send(&form(
        "users/create",
        &[
            ("first_name", "Ann"),
            ("last_name", "Lee"),
            ("email", "u1@canary.test"),
        ],
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let command: String = send(&form(
        "commands/create",
        &[("name", "Hi"), ("shell", "bash"), ("script", "echo hi")],
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();

    // Every other free-text field, each with a canary of its own, in each spelling.
    for (what, request) in fields(&user, &command) {
        let canary = canary_number(&[4, 9], 16);
        for spelling in spellings(&canary) {
            let res = send(&request(&spelling)).await.unwrap();
            refused(what, res.status(), res.text().await.unwrap());
            // Inside other text too.
            let res = send(&request(&format!("ref {spelling} ok"))).await.unwrap();
            refused(what, res.status(), res.text().await.unwrap());
        }
        canaries.push(canary);
    }

    // The card window: an American Express canary with a 4-digit code, saved. The card goes
    // to the processor (the sandbox, on this server) as the card window sends it; Tally's
    // server functions get only what the processor confirmed.
    let amex = canary_number(&[3, 7], 15);
    let amex_spaced = format!("{} {} {}", &amex[..4], &amex[4..10], &amex[10..]);
    let code = format!("{}", rand::thread_rng().gen_range(7000..10000));
    let to_processor = |number: String, cvc: String| {
        let (client, base) = (&client, &base);
        async move {
            let begun = client
                .post(format!("{base}/api/billing/begin-card-setup"))
                .header("Origin", base)
                .header("Accept", "application/json")
                .send()
                .await
                .unwrap();
            assert_eq!(begun.status(), 200);
            let secret: String = begun.json().await.unwrap();
            let setup = tally_core::processor::intent_id(&secret).to_string();
            let confirmed = client
                .post(format!("{base}/sandbox/v1/setup_intents/{setup}/confirm"))
                .header("Origin", base)
                .form(&[
                    ("key", "pk_sandbox"),
                    ("client_secret", secret.as_str()),
                    ("payment_method_data[type]", "card"),
                    ("payment_method_data[card][number]", number.as_str()),
                    ("payment_method_data[card][exp_month]", "12"),
                    ("payment_method_data[card][exp_year]", "2030"),
                    ("payment_method_data[card][cvc]", cvc.as_str()),
                    ("payment_method_data[billing_details][name]", "Cass Nary"),
                ])
                .send()
                .await
                .unwrap();
            (setup, confirmed.status(), confirmed.text().await.unwrap())
        }
    };
    let save = |setup: &str, last4: serde_json::Value, key: &str| {
        Send::Json(
            "billing/confirm-card-setup",
            json!({
                "payment": { "cardholder_name": "Cass Nary", "same_as_billing": true, "address": address("", "", "", "", "") },
                "setup_intent": setup,
                "card": { "brand": "Amex", "last4": last4, "exp_month": 12, "exp_year": 2030 },
                "idempotency_key": key,
            }),
        )
    };
    // Refused first: a 3-digit code and a 5-digit one by the processor, and the number as a
    // JSON number by the server.
    for cvc in [code[..3].to_string(), format!("{code}1")] {
        let (_, status, answer) = to_processor(amex_spaced.clone(), cvc).await;
        assert!(!status.is_success(), "{answer}");
        answers.push_str(&answer);
    }
    let (setup, status, answer) = to_processor(amex_spaced.clone(), code.clone()).await;
    assert_eq!(status, 200, "{answer}");
    answers.push_str(&answer);
    let res = send(&save(&setup, json!(amex.parse::<u64>().unwrap()), "k3"))
        .await
        .unwrap();
    assert!(!res.status().is_success());
    answers.push_str(&res.text().await.unwrap());
    for _ in 0..2 {
        let res = send(&save(&setup, json!(&amex[11..]), "k4")).await.unwrap();
        assert_eq!(res.status(), 200);
        answers.push_str(&res.text().await.unwrap());
    }
    let settings = send(&form("billing/settings", &[]))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        settings.contains(&amex[11..]),
        "the last 4 are kept: {settings}"
    );
    answers.push_str(&settings);

    // A month billed (the account dated back so it has one), its invoice emailed, its PDF made.
    let db = tally_services::platform::db::Database::connect(&url)
        .await
        .unwrap();
    sqlx::query("UPDATE accounts SET created_at = 0")
        .execute(db.pool())
        .await
        .unwrap();
    db.close().await;
    let previous = {
        use chrono::Datelike;
        let d = chrono::Utc::now().date_naive().with_day(1).unwrap() - chrono::Duration::days(1);
        format!("{:04}-{:02}", d.year(), d.month())
    };
    let mut bill = Command::new(env!("CARGO_BIN_EXE_tally"));
    env(&mut bill);
    let billed = bill
        .args(["bill", "--month", &previous])
        .stderr(log())
        .output()
        .unwrap();
    assert!(
        billed.status.success(),
        "{}",
        String::from_utf8_lossy(&billed.stdout)
    );
    let invoices: serde_json::Value = send(&form("billing/invoices", &[]))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let invoice = invoices["invoices"][0]["id"]
        .as_str()
        .expect("an invoice")
        .to_string();
    let pdf = client
        .get(format!("{base}/billing/invoices/{invoice}/pdf"))
        .send()
        .await
        .unwrap();
    assert_eq!(pdf.status(), 200);
    let pdf = pdf.bytes().await.unwrap().to_vec();
    assert!(pdf.starts_with(b"%PDF"));

    // Stop the server (flushes the log), then search everything it wrote.
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(server.id().to_string())
        .status();
    let _ = server.wait();
    let mut log = Vec::new();
    std::fs::File::open(&log_path)
        .unwrap()
        .read_to_end(&mut log)
        .unwrap();
    assert!(
        String::from_utf8_lossy(&log).contains("/sandbox/v1/setup_intents/"),
        "the log is at debug level and saw the requests"
    );
    let mut searched = vec![
        ("server log".to_string(), log),
        ("answers".to_string(), answers.into_bytes()),
        ("invoice PDF".to_string(), pdf),
    ];
    let data_files = files(&data);
    assert!(
        data_files
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "eml")),
        "the change email is in the outbox"
    );
    for p in data_files {
        searched.push((p.display().to_string(), std::fs::read(&p).unwrap()));
    }
    match backend {
        tally_services::platform::db::Backend::Sqlite => assert!(
            searched.iter().any(|(name, _)| name.ends_with("tally.db")),
            "the database file is searched"
        ),
        tally_services::platform::db::Backend::Postgres => {
            let dump = pg_dump(&url);
            assert!(
                String::from_utf8_lossy(&dump).contains("payment_methods"),
                "a whole dump"
            );
            searched.push(("pg_dump".to_string(), dump));
        }
    }
    let mut needles: Vec<String> = canaries
        .iter()
        .flat_map(|c| {
            let [plain, spaced, dashed] = spellings(c);
            [plain, spaced, dashed, c[..12].to_string()]
        })
        .collect();
    needles.extend([amex.clone(), amex_spaced.clone(), amex[..11].to_string()]);
    for (what, bytes) in &searched {
        for needle in &needles {
            assert_eq!(
                occurrences(bytes, needle.as_bytes()),
                0,
                "a canary number found in {what}"
            );
        }
        let found = bounded_occurrences(bytes, code.as_bytes());
        assert!(
            found.is_empty(),
            "the 4-digit code {code} found in {what}: {found:#?}"
        );
        assert_eq!(
            occurrences(bytes, format!("{code}1").as_bytes()),
            0,
            "a code found in {what}"
        );
        let short = &code[..3];
        for leak in [
            format!("\"{short}\""),
            format!("cvc={short}"),
            format!("cvc: {short}"),
        ] {
            assert_eq!(
                occurrences(bytes, leak.as_bytes()),
                0,
                "a 3-digit code found in {what}"
            );
        }
    }
}

#[tokio::test]
async fn canary_card_data_reaches_no_file_log_or_email_on_sqlite() {
    canary_card_data_reaches_no_file_log_or_email(tally_services::platform::db::Backend::Sqlite)
        .await
}

#[tokio::test]
async fn canary_card_data_reaches_no_file_log_or_email_on_postgres() {
    canary_card_data_reaches_no_file_log_or_email(tally_services::platform::db::Backend::Postgres)
        .await
}
