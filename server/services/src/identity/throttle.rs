//! Throttles (owner of `rate_limits`) for requests that cost something (a password hash) or send mail, counted in the
//! database so that every server shares them: attempts per scope and subject in fixed windows.
//! Over the limit, the request is refused with 429 and `Retry-After` (the window's end)
//! before any work. The limits are listed in the README's "Security" section.

use tally_core::actor::Visitor;

use crate::platform::{
    audit,
    context::Context,
    error::{ResultExt, ServiceError},
    metrics,
};

/// How many attempts a subject may make per window.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limit {
    /// What is limited; part of the key and of the log.
    pub scope: &'static str,
    pub attempts: i64,
    pub window_seconds: i64,
    /// What the person is told, before "Try again in …".
    pub message: &'static str,
}

/// Sign-in attempts for one address: beside the lockout (10 wrong passwords), this bounds
/// how fast anyone can try an address's password from many networks.
pub const SIGN_IN_PER_ADDRESS: Limit = Limit {
    scope: "sign_in_address",
    attempts: 30,
    window_seconds: 15 * 60,
    message: "Too many sign-in attempts for this address.",
};

/// Set-up attempts from one client address (the set-up code is guessed at most this fast).
pub const SETUP_PER_IP: Limit = Limit {
    scope: "setup_ip",
    attempts: 10,
    window_seconds: 10 * 60,
    message: "Too many set-up attempts from your network.",
};

/// Password changes by one administrator (each checks the current password).
pub const PASSWORD_CHANGE_PER_ADMIN: Limit = Limit {
    scope: "password_change_admin",
    attempts: 5,
    window_seconds: 15 * 60,
    message: "Too many password changes.",
};

/// Reset requests from one client address.
pub const RESET_PER_IP: Limit = Limit {
    scope: "reset_ip",
    attempts: 20,
    window_seconds: 60 * 60,
    message: "Too many reset requests from your network.",
};

/// Reset requests for one address: nobody can flood a person with reset emails.
pub const RESET_PER_ADDRESS: Limit = Limit {
    scope: "reset_address",
    attempts: 5,
    window_seconds: 60 * 60,
    message: "Too many reset requests for this address.",
};

/// Invitations sent again to one administrator.
pub const INVITATION_RESEND_PER_ADMIN: Limit = Limit {
    scope: "invitation_resend_admin",
    attempts: 5,
    window_seconds: 60 * 60,
    message: "This invitation was sent again several times already.",
};

/// Password strength checks (the meter, for people not signed in too) from one client address.
pub const CHECK_PASSWORD_PER_IP: Limit = Limit {
    scope: "check_password_ip",
    attempts: 120,
    window_seconds: 60,
    message: "Too many password checks from your network.",
};

/// Copies of invoices requested for one account.
pub const INVOICE_COPY_PER_ACCOUNT: Limit = Limit {
    scope: "invoice_copy_account",
    attempts: 20,
    window_seconds: 60 * 60,
    message: "Too many invoice copies were requested.",
};

/// Sign-in attempts from one client address per minute; the limit is a setting
/// (`TALLY_SIGN_IN_PER_IP_MINUTE`).
pub fn sign_in_per_ip(attempts: i64) -> Limit {
    Limit {
        scope: "sign_in_ip",
        attempts,
        window_seconds: 60,
        message: "Too many sign-in attempts from your network.",
    }
}

/// An attempt that was counted, and where its window stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Counted {
    /// Attempts in this window, this one included.
    pub attempts: i64,
    pub window_start: i64,
}

/// How long until `window_start`'s window ends, in whole seconds (at least 1).
fn retry_after(limit: Limit, window_start: i64, now: i64) -> u64 {
    let end = window_start + limit.window_seconds * 1000;
    ((end - now).max(0) as u64).div_ceil(1000).max(1)
}

/// "Try again in 3 minutes."
fn try_again(seconds: u64) -> String {
    match seconds {
        0..=90 => format!("Try again in {seconds} seconds."),
        s => format!("Try again in {} minutes.", s.div_ceil(60)),
    }
}

/// Counts an attempt of `subject` under `limit` and says how many there were in its window.
pub async fn count(ctx: &Context, limit: Limit, subject: &str) -> Result<Counted, ServiceError> {
    let now = ctx.now();
    let window = limit.window_seconds * 1000;
    let window_start = now - now.rem_euclid(window);
    let pool = ctx.db.pool();
    let attempts: i64 = sqlx::query_scalar(
        "INSERT INTO rate_limits (scope, subject, window_start, attempts, created_at) VALUES ($1, $2, $3, 1, $4) \
         ON CONFLICT (scope, subject, window_start) DO UPDATE SET attempts = rate_limits.attempts + 1 \
         RETURNING attempts",
    )
    .bind(limit.scope)
    .bind(subject)
    .bind(window_start)
    .bind(now)
    .fetch_one(pool)
    .await
    .context("counting a throttled attempt")?;
    // Old windows are useless; a subject's first attempt in a window clears its scope's.
    if attempts == 1 {
        sqlx::query("DELETE FROM rate_limits WHERE scope = $1 AND window_start < $2")
            .bind(limit.scope)
            .bind(window_start - window)
            .execute(pool)
            .await
            .context("clearing old throttle windows")?;
    }
    Ok(Counted {
        attempts,
        window_start,
    })
}

/// How long a refused attempt waits before its answer. A client that floods the portal and
/// waits for each answer (as browsers and most scripts do) is slowed to a few attempts a
/// second per connection, instead of costing the server thousands of cheap refusals a second
/// that take the cores from everyone else. Cheap to hold: a sleeping task.
const REFUSAL_DELAY: std::time::Duration = std::time::Duration::from_millis(250);

/// Counts an attempt and refuses it (429) when it is over the limit.
pub async fn check(ctx: &Context, limit: Limit, subject: &str) -> Result<Counted, ServiceError> {
    let counted = count(ctx, limit, subject).await?;
    if counted.attempts > limit.attempts {
        return Err(refusal(ctx, limit, counted).await);
    }
    Ok(counted)
}

/// The 429 for an attempt counted over `limit`, after [`REFUSAL_DELAY`].
pub async fn refusal(ctx: &Context, limit: Limit, counted: Counted) -> ServiceError {
    tokio::time::sleep(REFUSAL_DELAY).await;
    let retry_after = retry_after(limit, counted.window_start, ctx.now());
    tracing::info!(
        scope = limit.scope,
        attempts = counted.attempts,
        "throttled"
    );
    ServiceError::Throttled {
        message: format!("{} {}", limit.message, try_again(retry_after)),
        retry_after,
    }
}

/// The network a client address is throttled as: an IPv4 address itself, an IPv6 address
/// its /64 (one subscriber's or one data centre host's whole allocation: counting each of its
/// 2^64 addresses apart would be no limit at all). An IPv4 address written as IPv6
/// (`::ffff:a.b.c.d`) is the IPv4 address. Anything else is kept as it is.
pub fn network(ip: &str) -> String {
    match ip.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                let prefix = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
                format!("{prefix}/64")
            }
        },
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_string(),
    }
}

/// Counts a sign-in attempt (a password, a second step, a passkey's options; an
/// administrator's or an operator's) against the visitor's network; beyond the allowance
/// (`TALLY_SIGN_IN_PER_IP_MINUTE`), refused, and audited once per network and window.
pub async fn sign_in_address(ctx: &Context, visitor: &Visitor) -> Result<(), ServiceError> {
    let Some(ip) = &visitor.ip else {
        return Ok(());
    };
    let per_ip = sign_in_per_ip(ctx.settings.sign_in_attempts_per_ip_minute);
    let counted = count(ctx, per_ip, &network(ip)).await?;
    if counted.attempts > per_ip.attempts {
        metrics::sign_in("throttled");
        let key = format!("{}/{}/{}", per_ip.scope, network(ip), counted.window_start);
        audit::record_throttled(
            ctx.db.pool(),
            ctx.now(),
            &key,
            ip,
            counted.attempts - per_ip.attempts,
        )
        .await
        .context("auditing throttled sign-ins")?;
        return Err(refusal(ctx, per_ip, counted).await);
    }
    Ok(())
}

/// A subject that fits a key whatever was typed: an address as typed could be megabytes.
pub fn subject(text: &str) -> String {
    text.trim().to_lowercase().chars().take(254).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_is_throttled_by_its_64_and_ipv4_by_its_address() {
        assert_eq!(network("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            network("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            "2001:db8:1:2::/64"
        );
        assert_ne!(network("2001:db8:1:3::1"), network("2001:db8:1:2::1"));
        assert_eq!(network("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(network("192.0.2.7"), "192.0.2.7");
        assert_eq!(network("unknown"), "unknown");
    }

    #[test]
    fn retry_after_is_the_rest_of_the_window_in_whole_seconds() {
        let l = RESET_PER_ADDRESS;
        assert_eq!(retry_after(l, 0, 0), 3600);
        assert_eq!(retry_after(l, 0, 3_599_001), 1);
        assert_eq!(retry_after(l, 0, 3_600_500), 1);
        assert_eq!(try_again(45), "Try again in 45 seconds.");
        assert_eq!(try_again(3600), "Try again in 60 minutes.");
        assert_eq!(subject(&"A".repeat(1000)).len(), 254);
    }
}
