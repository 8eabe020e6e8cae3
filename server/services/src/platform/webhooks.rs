//! Webhooks out (owner of `webhook_endpoints` and `webhook_deliveries`). A change that others
//! should hear about adds a [`Hook`] to its [`Work`](super::work::Work); when the change is
//! saved, in the same transaction, one delivery row is written for each endpoint that wants
//! that event (as mail is queued), so a change rolled back tells nobody and a change saved is
//! never lost. Nothing is sent inside a request or a billing run: the [`Deliverer`] sends
//! each delivery afterwards, signed as the Standard Webhooks specification says
//! (`webhook-id`, `webhook-timestamp`, `webhook-signature`), with a timeout, and retries one
//! that fails on the schedule of [`tally_core::webhooks::RETRY_SECONDS`] (about a day).
//!
//! Several servers share one database: a delivery is first claimed for a while, so no two of
//! them send it at once.

use std::{collections::HashMap, sync::Arc, time::Duration};

use base64::Engine;
use hmac::{Hmac, Mac};
use rand::{rngs::OsRng, RngCore};
use sha2::Sha256;
use sqlx::AnyConnection;
use tally_core::{
    views::operator::{WebhookDeliveryRow, WebhookEndpointRow},
    webhooks::{events_of, events_text, next_attempt, NewWebhook, WebhookEvent},
};

use super::{
    context::Context,
    db::{Backend, ROWS_PER_STATEMENT},
    error::{ResultExt, ServiceError},
};

/// An event a change tells about, with what the receiver needs to know of it.
#[derive(Clone, Debug)]
pub struct Hook {
    pub event: WebhookEvent,
    pub data: serde_json::Value,
}

impl Hook {
    pub fn new(event: WebhookEvent, data: serde_json::Value) -> Self {
        Self { event, data }
    }
}

/// How long one attempt may take before it counts as failed.
pub const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a delivery is held by the server sending it: longer than an attempt can take.
const CLAIM_MILLIS: i64 = 60_000;

/// Deliveries one pass claims at most.
const BATCH: i64 = 100;

/// How long a delivered or given-up delivery stays listed: 30 days.
pub const KEPT_MILLIS: i64 = 30 * 24 * 3_600_000;

/// A new signing secret: `whsec_` and 32 random bytes in base64.
pub fn new_secret() -> String {
    let mut key = [0u8; 32];
    OsRng.fill_bytes(&mut key);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// The `webhook-signature` of `body` sent as message `id` at `timestamp` (seconds):
/// `v1,` and the base64 HMAC-SHA256 of `id.timestamp.body` under the secret's key.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_")?)
        .ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.").as_bytes());
    mac.update(body.as_bytes());
    Some(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// The row a secret is sealed for.
fn secret_row(endpoint_id: &str) -> String {
    format!("webhook_endpoints/{endpoint_id}")
}

/// Writes one delivery of each hook for each endpoint that wants its event, on `conn` (the
/// change's transaction). Returns how many.
pub async fn queue_many(
    ctx: &Context,
    conn: &mut AnyConnection,
    now: i64,
    hooks: &[Hook],
) -> Result<usize, sqlx::Error> {
    if hooks.is_empty() {
        return Ok(0);
    }
    let endpoints: Vec<(String, String)> =
        sqlx::query_as("SELECT id, events FROM webhook_endpoints WHERE disabled_at IS NULL")
            .fetch_all(&mut *conn)
            .await?;
    let timestamp = chrono::DateTime::from_timestamp_millis(now)
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let mut rows = Vec::new();
    for hook in hooks {
        let payload = serde_json::json!({
            "type": hook.event.code(),
            "timestamp": timestamp,
            "data": hook.data,
        })
        .to_string();
        for (endpoint, events) in &endpoints {
            if events_of(events).contains(&hook.event) {
                rows.push((endpoint, hook.event.code(), payload.clone()));
            }
        }
    }
    for batch in rows.chunks(ROWS_PER_STATEMENT) {
        let sql = format!(
            "INSERT INTO webhook_deliveries (id, endpoint_id, event_type, payload, created_at, next_attempt_at) VALUES {}",
            Backend::of(conn).values_list(batch.len(), 6)
        );
        let mut q = sqlx::query(&sql);
        for (endpoint, event, payload) in batch {
            q = q
                .bind(format!("msg_{}", ctx.ids.new_id(now)))
                .bind(*endpoint)
                .bind(*event)
                .bind(payload)
                .bind(now)
                .bind(now);
        }
        q.execute(&mut *conn).await?;
    }
    Ok(rows.len())
}

/// Registers an endpoint on `conn`; returns its secret, to be shown once.
pub async fn insert_endpoint(
    ctx: &Context,
    conn: &mut AnyConnection,
    id: &str,
    new: &NewWebhook,
    created_by: &str,
    now: i64,
) -> Result<String, ServiceError> {
    let secret = new_secret();
    let sealed = ctx.keys.data().seal_for(&secret_row(id), secret.as_bytes());
    sqlx::query(
        "INSERT INTO webhook_endpoints (id, url, events, secret, created_by, created_at) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(&new.url)
    .bind(events_text(&new.events))
    .bind(sealed)
    .bind(created_by)
    .bind(now)
    .execute(&mut *conn)
    .await
    .context("registering a webhook endpoint")?;
    Ok(secret)
}

#[derive(sqlx::FromRow)]
struct EndpointRow {
    id: String,
    url: String,
    events: String,
    created_by: String,
    created_at: i64,
    disabled_at: Option<i64>,
    retrying: i64,
    failed: i64,
}

/// Every endpoint, the newest first, with how many of its deliveries are retrying or failed.
pub async fn endpoints(pool: &sqlx::AnyPool) -> Result<Vec<WebhookEndpointRow>, ServiceError> {
    let rows: Vec<EndpointRow> = sqlx::query_as(
        "SELECT e.id, e.url, e.events, e.created_by, e.created_at, e.disabled_at, \
         (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND d.next_attempt_at IS NOT NULL AND d.attempts > 0) AS retrying, \
         (SELECT COUNT(*) FROM webhook_deliveries d WHERE d.endpoint_id = e.id AND d.next_attempt_at IS NULL AND d.delivered_at IS NULL) AS failed \
         FROM webhook_endpoints e ORDER BY e.created_at DESC, e.id DESC",
    )
    .fetch_all(pool)
    .await
    .context("reading webhook endpoints")?;
    Ok(rows
        .into_iter()
        .map(|r| WebhookEndpointRow {
            id: r.id,
            url: r.url,
            events: events_of(&r.events),
            created_by: r.created_by,
            created_at: r.created_at,
            disabled_at: r.disabled_at,
            retrying: r.retrying.max(0) as u64,
            failed: r.failed.max(0) as u64,
        })
        .collect())
}

/// Stops sending to an endpoint: its deliveries still due are given up. Returns its address,
/// or `None` when there is no such endpoint still active.
pub async fn disable(
    conn: &mut AnyConnection,
    id: &str,
    now: i64,
) -> Result<Option<String>, ServiceError> {
    let url: Option<String> = sqlx::query_scalar(
        "UPDATE webhook_endpoints SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL RETURNING url",
    )
    .bind(now)
    .bind(id)
    .fetch_optional(&mut *conn)
    .await
    .context("removing a webhook endpoint")?;
    if url.is_some() {
        sqlx::query(
            "UPDATE webhook_deliveries SET next_attempt_at = NULL, last_error = COALESCE(last_error, 'The endpoint was removed.') \
             WHERE endpoint_id = $1 AND next_attempt_at IS NOT NULL",
        )
        .bind(id)
        .execute(&mut *conn)
        .await
        .context("removing a webhook endpoint")?;
    }
    Ok(url)
}

#[derive(sqlx::FromRow)]
struct DeliveryRow {
    id: String,
    event_type: String,
    created_at: i64,
    attempts: i32,
    last_status: Option<i32>,
    last_error: Option<String>,
    last_attempt_at: Option<i64>,
    next_attempt_at: Option<i64>,
    delivered_at: Option<i64>,
}

const DELIVERY_COLUMNS: &str = "id, event_type, created_at, attempts, last_status, last_error, last_attempt_at, next_attempt_at, delivered_at";

impl From<DeliveryRow> for WebhookDeliveryRow {
    fn from(r: DeliveryRow) -> Self {
        WebhookDeliveryRow {
            id: r.id,
            event: r.event_type,
            created_at: r.created_at,
            attempts: r.attempts.max(0) as u32,
            last_status: r.last_status.and_then(|s| u16::try_from(s).ok()),
            last_error: r.last_error,
            last_attempt_at: r.last_attempt_at,
            next_attempt_at: r.next_attempt_at,
            delivered_at: r.delivered_at,
        }
    }
}

/// An endpoint's latest `limit` deliveries, newest first.
pub async fn deliveries(
    pool: &sqlx::AnyPool,
    endpoint_id: &str,
    limit: u32,
) -> Result<Vec<WebhookDeliveryRow>, ServiceError> {
    let rows: Vec<DeliveryRow> = sqlx::query_as(&format!(
        "SELECT {DELIVERY_COLUMNS} FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY id DESC LIMIT $2"
    ))
    .bind(endpoint_id)
    .bind(i64::from(limit))
    .fetch_all(pool)
    .await
    .context("reading webhook deliveries")?;
    Ok(rows.into_iter().map(WebhookDeliveryRow::from).collect())
}

/// Sends a delivery of an active endpoint again, now, with a new day of retries; returns its
/// event, or `None` when there is no such delivery.
pub async fn redeliver(
    conn: &mut AnyConnection,
    endpoint_id: &str,
    delivery_id: &str,
    now: i64,
) -> Result<Option<String>, ServiceError> {
    sqlx::query_scalar(
        "UPDATE webhook_deliveries SET next_attempt_at = $1, attempts = 0, claimed_until = NULL \
         WHERE id = $2 AND endpoint_id = $3 \
         AND endpoint_id IN (SELECT id FROM webhook_endpoints WHERE disabled_at IS NULL) RETURNING event_type",
    )
    .bind(now)
    .bind(delivery_id)
    .bind(endpoint_id)
    .fetch_optional(&mut *conn)
    .await
    .context("redelivering a webhook")
}

/// A delivery claimed for an attempt.
#[derive(sqlx::FromRow)]
struct Claimed {
    id: String,
    endpoint_id: String,
    payload: String,
    attempts: i32,
}

/// What one attempt came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Attempt {
    /// The endpoint answered 2xx.
    Delivered,
    /// It answered otherwise, or not at all; tried again at this time (UTC milliseconds).
    Retrying(i64),
    /// Failed for the last time.
    GivenUp,
}

/// Sends the deliveries (the worker of every server runs one).
#[derive(Clone)]
pub struct Deliverer {
    ctx: Context,
    client: reqwest::Client,
}

impl Deliverer {
    pub fn new(ctx: Context) -> Self {
        let client = reqwest::Client::builder()
            .timeout(ATTEMPT_TIMEOUT)
            .connect_timeout(Duration::from_secs(5))
            // A signed event goes where it was registered to go, nowhere else.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent("Tally-Webhooks/1")
            .build()
            .expect("an HTTP client with rustls");
        Self { ctx, client }
    }

    /// The worker: sends what is due every 5 seconds, and at once when a change queued
    /// deliveries. Each pass runs on its own, so an endpoint that hangs holds up none of the
    /// others (nor the next pass). Runs until the process ends.
    pub async fn work(self) {
        let mut tick = tokio::time::interval(Duration::from_secs(5));
        let mut tidy = tokio::time::interval(Duration::from_secs(3600));
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                () = self.ctx.hooks.notified() => {}
                _ = tidy.tick() => {
                    if let Err(e) = self.forget_old().await {
                        tracing::error!(error = %e, "webhook worker: forgetting old deliveries");
                    }
                    continue;
                }
            }
            let this = self.clone();
            tokio::spawn(async move {
                if let Err(e) = this.deliver_due().await {
                    tracing::error!(error = %e, "webhook worker");
                }
            });
        }
    }

    /// Forgets deliveries finished (delivered or given up) more than [`KEPT_MILLIS`] ago;
    /// returns how many.
    pub async fn forget_old(&self) -> Result<u64, ServiceError> {
        let done = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE next_attempt_at IS NULL AND created_at < $1",
        )
        .bind(self.ctx.now() - KEPT_MILLIS)
        .execute(self.ctx.db.pool())
        .await
        .context("forgetting old webhook deliveries")?;
        Ok(done.rows_affected())
    }

    /// Claims the deliveries due now and makes one attempt of each, all at once; returns what
    /// each came to, by delivery id.
    pub async fn deliver_due(&self) -> Result<Vec<(String, Attempt)>, ServiceError> {
        let pool = self.ctx.db.pool();
        let now = self.ctx.now();
        let claimed: Vec<Claimed> = sqlx::query_as(
            "UPDATE webhook_deliveries SET claimed_until = $1 WHERE id IN (\
               SELECT id FROM webhook_deliveries WHERE next_attempt_at <= $2 \
               AND (claimed_until IS NULL OR claimed_until < $2) ORDER BY next_attempt_at LIMIT $3) \
             AND next_attempt_at <= $2 AND (claimed_until IS NULL OR claimed_until < $2) \
             RETURNING id, endpoint_id, payload, attempts",
        )
        .bind(now + CLAIM_MILLIS)
        .bind(now)
        .bind(BATCH)
        .fetch_all(pool)
        .await
        .context("claiming webhook deliveries")?;
        if claimed.is_empty() {
            return Ok(Vec::new());
        }
        let endpoints: HashMap<String, (String, String)> =
            sqlx::query_as::<_, (String, String, String)>(
                "SELECT id, url, secret FROM webhook_endpoints WHERE disabled_at IS NULL",
            )
            .fetch_all(pool)
            .await
            .context("reading webhook endpoints")?
            .into_iter()
            .filter_map(|(id, url, sealed)| {
                let secret = self.ctx.keys.data().open_for(&secret_row(&id), &sealed)?;
                Some((id, (url, String::from_utf8(secret).ok()?)))
            })
            .collect();
        let endpoints = Arc::new(endpoints);
        let attempts = claimed.into_iter().map(|c| {
            let endpoints = endpoints.clone();
            async move {
                let outcome = match endpoints.get(&c.endpoint_id) {
                    Some((url, secret)) => self.send(url, secret, &c).await,
                    None => (None, Some("The endpoint was removed.".to_string())),
                };
                let attempt = self.record(&c, outcome).await?;
                Ok::<_, ServiceError>((c.id, attempt))
            }
        });
        futures::future::join_all(attempts)
            .await
            .into_iter()
            .collect()
    }

    /// One attempt: the status the endpoint answered, or why there was none.
    async fn send(&self, url: &str, secret: &str, c: &Claimed) -> (Option<u16>, Option<String>) {
        // The receiver compares this with its own clock to refuse replays, so it is the
        // machine's real time, whatever clock the rest of the change runs on.
        let timestamp = chrono::Utc::now().timestamp();
        let Some(signature) = sign(secret, &c.id, timestamp, &c.payload) else {
            return (
                None,
                Some("The endpoint's secret could not be read.".into()),
            );
        };
        let sent = self
            .client
            .post(url)
            .header("content-type", "application/json")
            .header("webhook-id", &c.id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(c.payload.clone())
            .send()
            .await;
        match sent {
            Ok(res) => {
                let status = res.status();
                let error =
                    (!status.is_success()).then(|| format!("The endpoint answered {status}."));
                (Some(status.as_u16()), error)
            }
            Err(e) if e.is_timeout() => (
                None,
                Some(format!(
                    "No answer within {} seconds.",
                    ATTEMPT_TIMEOUT.as_secs()
                )),
            ),
            Err(e) if e.is_connect() => (None, Some("Could not connect to the endpoint.".into())),
            Err(_) => (None, Some("The request to the endpoint failed.".into())),
        }
    }

    /// Writes what an attempt came to, and frees the delivery.
    async fn record(
        &self,
        c: &Claimed,
        (status, error): (Option<u16>, Option<String>),
    ) -> Result<Attempt, ServiceError> {
        let now = self.ctx.now();
        let attempts = u32::try_from(c.attempts).unwrap_or(0) + 1;
        let delivered = error.is_none();
        let next = if delivered {
            None
        } else {
            next_attempt(attempts, now)
        };
        sqlx::query(
            "UPDATE webhook_deliveries SET attempts = $1, last_status = $2, last_error = $3, last_attempt_at = $4, \
             next_attempt_at = $5, delivered_at = CASE WHEN $6 = 1 THEN $4 ELSE delivered_at END, claimed_until = NULL \
             WHERE id = $7",
        )
        .bind(attempts as i32)
        .bind(status.map(i32::from))
        .bind(&error)
        .bind(now)
        .bind(next)
        .bind(i32::from(delivered))
        .bind(&c.id)
        .execute(self.ctx.db.pool())
        .await
        .context("recording a webhook attempt")?;
        if let Some(error) = &error {
            tracing::warn!(delivery = %c.id, error = %error, "webhook attempt failed");
        }
        Ok(match (delivered, next) {
            (true, _) => Attempt::Delivered,
            (false, Some(at)) => Attempt::Retrying(at),
            (false, None) => Attempt::GivenUp,
        })
    }
}

/// What a webhook tells about an invoice: the account, the invoice's id, number and amount,
/// and `more` (an object: the reason a charge failed, say) merged in.
pub fn invoice_hook(
    event: WebhookEvent,
    account_id: &str,
    invoice_id: &str,
    number: &str,
    amount: tally_core::money::Money,
    more: serde_json::Value,
) -> Hook {
    let mut data = serde_json::json!({
        "account_id": account_id,
        "invoice_id": invoice_id,
        "invoice_number": number,
        "amount": amount.decimal(),
        "currency": amount.currency().code(),
    });
    if let (Some(data), serde_json::Value::Object(more)) = (data.as_object_mut(), more) {
        data.extend(more);
    }
    Hook::new(event, data)
}
