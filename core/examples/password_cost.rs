//! How long the password rule takes on the inputs that cost it most: 128 characters of l33t
//! substitutions and repeats, with up to 8 long "known words" (what `account/check-password`,
//! a public endpoint, accepts). Run: `cargo run --release -p tally-core --features strength
//! --example password_cost`. Prints the median and worst time per input.

use std::time::{Duration, Instant};

fn main() {
    let l33t = "4@8({[<3&6|!1/\\]0$5+7%2";
    let crafted: Vec<(&str, String, Vec<String>)> = vec![
        (
            "plain 128 letters",
            "correcthorsebatterystaple".repeat(6)[..128].to_string(),
            vec![],
        ),
        (
            "l33t 128",
            l33t.repeat(6).chars().take(128).collect(),
            vec![],
        ),
        (
            "l33t ambiguous 128",
            "1|!7+4@".repeat(19).chars().take(128).collect(),
            vec![],
        ),
        (
            "l33t ambiguous 64",
            "1|!7+4@".repeat(10).chars().take(64).collect(),
            vec![],
        ),
        (
            "l33t words 128",
            "p@$$w0rd!3@7".repeat(11).chars().take(128).collect(),
            vec![],
        ),
        (
            "l33t 128, 8 known words of 10,000",
            l33t.repeat(6).chars().take(128).collect(),
            (0..8)
                .map(|i| format!("{i}{}", "a4@b8(c<".repeat(1250)))
                .collect(),
        ),
        (
            "64 l33t, 8 known words of 64",
            l33t.repeat(3).chars().take(64).collect(),
            (0..8)
                .map(|i| format!("{i}{}", "a4@b8(c<".repeat(8)))
                .collect(),
        ),
    ];
    for (name, password, words) in &crafted {
        let words: Vec<&str> = words.iter().map(String::as_str).collect();
        let mut times: Vec<Duration> = (0..5)
            .map(|_| {
                let t = Instant::now();
                std::hint::black_box(tally_core::password::strength(password, &words));
                t.elapsed()
            })
            .collect();
        times.sort();
        println!(
            "{name:40} median {:>10.1?}  worst {:>10.1?}",
            times[2], times[4]
        );
    }
}
