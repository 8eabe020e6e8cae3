//! Open-loop load at fixed rates against a Tally server on loopback; prints latency percentiles.
//!
//! Request `i` is due at `start + i / rate` and its latency is measured from that instant, so a
//! server that falls behind cannot hide its queueing delay (no coordinated omission). Only
//! loopback addresses are accepted, and every run stops after `--seconds`.
//!
//! ```text
//! loadgen --url http://127.0.0.1:3200/api/status/get --method POST --header Origin=http://127.0.0.1:3200 \
//!         --rates 500,1000,2000 --seconds 10 --max-p99-ms 5 --label "read server function"
//! ```
//! With several rates, each runs in turn and the highest rate that kept p99 within
//! `--max-p99-ms`, had no errors and was delivered in full is reported as sustainable.
//! `--md` prints Markdown table rows (label, rate, p50, p99, max, requests, errors).
//! `--json BODY` posts BODY as JSON, and `--form K=V` form fields, with every `{n}` in them
//! (and in the URL) replaced by a number unique to the request (an idempotency key that must
//! differ on every submit, an address of its own, a user to look up, say).

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

#[derive(Clone)]
struct Args {
    url: String,
    method: reqwest::Method,
    headers: Vec<(String, String)>,
    form: Vec<(String, String)>,
    json: Option<String>,
    rates: Vec<f64>,
    seconds: f64,
    max_p99_ms: Option<f64>,
    label: String,
    md: bool,
    max_in_flight: usize,
}

fn usage(problem: &str) -> ! {
    eprintln!("loadgen: {problem}\nusage: loadgen --url URL [--method GET|POST] [--header K=V]... [--form K=V]... [--json BODY] --rates R[,R...] [--seconds S] [--max-p99-ms MS] [--label TEXT] [--md]");
    std::process::exit(2)
}

fn pair(s: &str) -> (String, String) {
    match s.split_once('=') {
        Some((k, v)) => (k.to_string(), v.to_string()),
        None => usage(&format!("{s:?} is not KEY=VALUE")),
    }
}

fn parse_args() -> Args {
    let mut a = Args {
        url: String::new(),
        method: reqwest::Method::GET,
        headers: vec![],
        form: vec![],
        json: None,
        rates: vec![],
        seconds: 10.0,
        max_p99_ms: None,
        label: String::new(),
        md: false,
        max_in_flight: 1024,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "--md" {
            a.md = true;
            continue;
        }
        let value = it
            .next()
            .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--url" => a.url = value,
            "--method" => a.method = value.parse().unwrap_or_else(|_| usage("unknown --method")),
            "--header" => a.headers.push(pair(&value)),
            "--form" => a.form.push(pair(&value)),
            "--json" => a.json = Some(value),
            "--rates" | "--rate" => {
                a.rates = value
                    .split(',')
                    .map(|r| r.trim().parse().unwrap_or_else(|_| usage("bad --rates")))
                    .collect()
            }
            "--seconds" => a.seconds = value.parse().unwrap_or_else(|_| usage("bad --seconds")),
            "--max-p99-ms" => {
                a.max_p99_ms = Some(value.parse().unwrap_or_else(|_| usage("bad --max-p99-ms")))
            }
            "--max-in-flight" => {
                a.max_in_flight = value
                    .parse()
                    .unwrap_or_else(|_| usage("bad --max-in-flight"))
            }
            "--label" => a.label = value,
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    if a.url.is_empty() || a.rates.is_empty() {
        usage("--url and --rates are required");
    }
    let host = reqwest::Url::parse(&a.url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    let loopback = host == "localhost"
        || host
            .trim_matches(['[', ']'])
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        usage("only loopback targets (127.0.0.0/8, ::1, localhost) are allowed");
    }
    a
}

/// Numbers the requests of every run of this process (`{n}` in `--json`).
static REQUEST_NUMBER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// One run at one rate.
struct Outcome {
    rate: f64,
    sent: usize,
    errors: usize,
    /// Requests never sent because `--max-in-flight` were already waiting (server too slow).
    shed: usize,
    latencies_ms: Vec<f64>,
    elapsed: Duration,
}

impl Outcome {
    fn percentile(&self, p: f64) -> f64 {
        if self.latencies_ms.is_empty() {
            return f64::NAN;
        }
        let k = ((p / 100.0) * (self.latencies_ms.len() - 1) as f64).round() as usize;
        self.latencies_ms[k.min(self.latencies_ms.len() - 1)]
    }

    fn delivered_rate(&self) -> f64 {
        self.latencies_ms.len() as f64 / self.elapsed.as_secs_f64()
    }
}

async fn run(args: &Args, client: &reqwest::Client, rate: f64) -> Outcome {
    let total = (rate * args.seconds).round() as usize;
    let in_flight = Arc::new(tokio::sync::Semaphore::new(args.max_in_flight));
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Result<f64, ()>>();
    let start = Instant::now() + Duration::from_millis(50);
    let mut shed = 0;
    for i in 0..total {
        let due = start + Duration::from_secs_f64(i as f64 / rate);
        tokio::time::sleep_until(due.into()).await;
        let Ok(permit) = in_flight.clone().try_acquire_owned() else {
            shed += 1;
            continue;
        };
        let n = REQUEST_NUMBER
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            .to_string();
        let mut req = client.request(args.method.clone(), args.url.replace("{n}", &n));
        for (k, v) in &args.headers {
            req = req.header(k, v);
        }
        if !args.form.is_empty() {
            let form: Vec<(&str, String)> = args
                .form
                .iter()
                .map(|(k, v)| (k.as_str(), v.replace("{n}", &n)))
                .collect();
            req = req.form(&form);
        }
        if let Some(body) = &args.json {
            req = req
                .header("content-type", "application/json")
                .body(body.replace("{n}", &n));
        }
        let tx = tx.clone();
        tokio::spawn(async move {
            let result = match req.send().await {
                Ok(res) if res.status().is_success() => match res.bytes().await {
                    Ok(_) => Ok(due.elapsed().as_secs_f64() * 1000.0),
                    Err(_) => Err(()),
                },
                _ => Err(()),
            };
            drop(permit);
            let _ = tx.send(result);
        });
    }
    drop(tx);
    let mut latencies_ms = Vec::with_capacity(total);
    let mut errors = 0;
    while let Some(r) = rx.recv().await {
        match r {
            Ok(ms) => latencies_ms.push(ms),
            Err(()) => errors += 1,
        }
    }
    let elapsed = start.elapsed();
    latencies_ms.sort_by(f64::total_cmp);
    Outcome {
        rate,
        sent: total - shed,
        errors,
        shed,
        latencies_ms,
        elapsed,
    }
}

#[tokio::main]
async fn main() {
    let args = parse_args();
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(args.max_in_flight)
        .timeout(Duration::from_secs(30))
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .expect("an HTTP client");
    // Warm up connections and the server's caches; not measured.
    let warm_up = Args {
        seconds: 1.0,
        ..args.clone()
    };
    let _ = run(&warm_up, &client, args.rates[0].min(200.0)).await;
    let mut sustainable: Option<f64> = None;
    for &rate in &args.rates {
        let o = run(&args, &client, rate).await;
        let (p50, p99, max) = (
            o.percentile(50.0),
            o.percentile(99.0),
            o.latencies_ms.last().copied().unwrap_or(f64::NAN),
        );
        let kept_up = o.errors == 0 && o.shed == 0 && o.delivered_rate() >= 0.95 * rate;
        let within = args.max_p99_ms.is_none_or(|limit| p99 <= limit);
        if kept_up && within {
            sustainable = Some(rate);
        }
        eprintln!(
            "{}: {rate}/s for {}s: {} ok, {} errors, {} shed; p50 {p50:.2} ms, p99 {p99:.2} ms, max {max:.2} ms",
            args.label,
            args.seconds,
            o.latencies_ms.len(),
            o.errors,
            o.shed
        );
        if args.md {
            println!(
                "| {} | {} | {p50:.2} | {p99:.2} | {max:.2} | {} | {} |",
                args.label,
                o.rate,
                o.sent,
                o.errors + o.shed
            );
        }
        if !kept_up {
            break; // higher rates only fall further behind
        }
    }
    if args.rates.len() > 1 {
        let text = match (sustainable, args.max_p99_ms) {
            (Some(r), Some(l)) => format!("highest sustainable rate with p99 ≤ {l} ms: {r}/s"),
            (Some(r), None) => format!("highest sustainable rate: {r}/s"),
            (None, _) => "no tried rate was sustainable".to_string(),
        };
        eprintln!("{}: {text}", args.label);
        if args.md {
            println!(
                "| {} | **sustainable: {}** | | | | | |",
                args.label,
                sustainable.map_or("none".to_string(), |r| format!("{r}/s"))
            );
        }
    }
}
