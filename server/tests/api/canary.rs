//! Card data never lands anywhere (spec §6): the real server binary, logging at debug level to
//! a file, runs the whole payment flow with a canary card number and security code made up
//! for this run — including refused and malformed submits — and then every byte of its data
//! folder (the SQLite database with its WAL and journal, the outbox) and of its log is searched.

use std::{
    io::Read,
    path::Path,
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use rand::Rng;
use serde_json::json;

/// A Visa-shaped number that passes Luhn and appears nowhere else: random digits, then the
/// check digit.
fn canary_number() -> String {
    let mut rng = rand::thread_rng();
    let mut digits: Vec<u32> = vec![4, 9];
    digits.extend((0..13).map(|_| rng.gen_range(0..10)));
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

/// The canary code preceded and followed by a non-digit: how a leak would look
/// (`"cvc":"7391"`, `cvc=7391`), and what random bytes almost never look like.
fn bounded_occurrences(haystack: &[u8], code: &[u8]) -> usize {
    haystack
        .windows(code.len() + 2)
        .filter(|w| {
            !w[0].is_ascii_digit() && !w[w.len() - 1].is_ascii_digit() && &w[1..w.len() - 1] == code
        })
        .count()
}

#[tokio::test]
async fn canary_card_data_reaches_no_file_log_or_email() {
    let number = canary_number();
    let grouped = number
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    let code = format!("{}", rand::thread_rng().gen_range(7000..10000));
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("server.log");
    let data = dir.path().join("data");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Command::new(env!("CARGO_BIN_EXE_tally"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("TALLY_ADDR", format!("127.0.0.1:{port}"))
        .env("TALLY_DATA_DIR", &data)
        .env("TALLY_PUBLIC_URL", &base)
        .env("LEPTOS_SITE_ROOT", crate::helpers::site_root())
        .env("RUST_LOG", "debug")
        // Every card brand, so an Amex-length code is accepted with the Visa-shaped canary too.
        .env(
            "TALLY_ACCEPTED_CARD_BRANDS",
            "visa,mastercard,amex,discover",
        )
        .stdout(Stdio::from(std::fs::File::create(&log_path).unwrap()))
        .stderr(Stdio::from(
            std::fs::File::options()
                .append(true)
                .open(&log_path)
                .unwrap(),
        ))
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
    let post_json = |endpoint: &str, body: serde_json::Value| {
        client
            .post(format!("{base}/api/{endpoint}"))
            .header("Origin", &base)
            .header("Accept", "application/json")
            .json(&body)
            .send()
    };
    let setup = client
        .post(format!("{base}/api/setup/create"))
        .header("Origin", &base)
        .form(&[
            ("company_name", "Canary Co"),
            ("first_name", "Cass"),
            ("last_name", "Nary"),
            ("email", "cass@canary.test"),
            ("password", "a canary's long passphrase"),
        ])
        .send()
        .await
        .unwrap();
    assert!(
        setup.status().is_success() || setup.status().is_redirection(),
        "{}",
        setup.status()
    );
    let info = json!({ "info": {
        "company_name": "Canary Co", "contact_name": "Cass Nary", "contact_email": "billing@canary.test",
        "contact_phone": "", "tax_id": "",
        "address": { "country": "GB", "line1": "1 High St", "line2": "", "city": "London", "region": "", "postal_code": "SW1A 1AA" },
    }});
    assert_eq!(
        post_json("billing/save-info", info).await.unwrap().status(),
        200
    );

    let submit = |number: serde_json::Value, expiry: &str, cvc: &str, key: &str| {
        json!({
            "payment": { "cardholder_name": "Cass Nary", "same_as_billing": true,
                         "address": { "country": "", "line1": "", "line2": "", "city": "", "region": "", "postal_code": "" } },
            "card": { "number": number, "expiry": expiry, "cvc": cvc },
            "idempotency_key": key,
        })
    };
    let mut answers = String::new();
    // Refused: an expired date, a code of the wrong length, the number as a JSON number.
    for body in [
        submit(json!(grouped), "01/20", &code[..3], "k1"),
        submit(json!(grouped), "12/30", &format!("{code}1"), "k2"),
        submit(
            json!(number.parse::<u64>().unwrap()),
            "12/30",
            &code[..3],
            "k3",
        ),
    ] {
        let res = post_json("billing/submit-payment-method", body)
            .await
            .unwrap();
        assert!(!res.status().is_success());
        answers.push_str(&res.text().await.unwrap());
    }
    // Saved, then saved again with the same key.
    for _ in 0..2 {
        let res = post_json(
            "billing/submit-payment-method",
            submit(json!(grouped), "12/30", &code[..3], "k4"),
        )
        .await
        .unwrap();
        assert_eq!(res.status(), 200);
        answers.push_str(&res.text().await.unwrap());
    }
    let settings = client
        .post(format!("{base}/api/billing/settings"))
        .header("Origin", &base)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        settings.contains(&number[12..]),
        "the last 4 are kept: {settings}"
    );
    answers.push_str(&settings);

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
        String::from_utf8_lossy(&log).contains("billing/submit-payment-method"),
        "the log is at debug level and saw the requests"
    );
    let mut searched = vec![
        ("server log".to_string(), log),
        ("answers".to_string(), answers.into_bytes()),
    ];
    let data_files = files(&data);
    assert!(
        data_files
            .iter()
            .any(|p| p.to_string_lossy().ends_with("tally.db")),
        "{data_files:?}"
    );
    assert!(
        data_files
            .iter()
            .any(|p| p.extension().is_some_and(|e| e == "eml")),
        "the change email is in the outbox"
    );
    for p in data_files {
        searched.push((p.display().to_string(), std::fs::read(&p).unwrap()));
    }
    // The code was three digits in the saved submits; the longer code was in a refused one.
    let short = &code[..3];
    for (what, bytes) in &searched {
        for needle in [number.as_str(), grouped.as_str(), &number[..12]] {
            assert_eq!(
                occurrences(bytes, needle.as_bytes()),
                0,
                "card number found in {what}"
            );
        }
        assert_eq!(
            bounded_occurrences(bytes, code.as_bytes()),
            0,
            "4-digit code found in {what}"
        );
        assert_eq!(
            occurrences(bytes, format!("{code}1").as_bytes()),
            0,
            "code found in {what}"
        );
        for leak in [
            format!("\"{short}\""),
            format!("cvc={short}"),
            format!("cvc: {short}"),
        ] {
            assert_eq!(
                occurrences(bytes, leak.as_bytes()),
                0,
                "3-digit code found in {what}"
            );
        }
    }
}
