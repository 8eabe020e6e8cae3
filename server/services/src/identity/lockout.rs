//! The counts that hold back guessing, for whoever signs in — administrators (`admins`) and
//! operators (`operators`), whose tables carry the same three columns: `failed_sign_ins` and
//! `locked_until` (the lockout: 10 wrong passwords or codes lock for 30 minutes) and
//! `second_step_failures` (wrong second steps, cleared only by a right one: closed at 20).
//!
//! The statements are written once, here; each table's owner holds its [`Guarded`] (naming
//! its own table) and is the only one to use it.

use sqlx::{Any, Executor};

use crate::platform::{
    context::Context,
    error::{ResultExt, ServiceError},
};

/// A table of people who sign in, with its lockout columns.
#[derive(Clone, Copy, Debug)]
pub struct Guarded {
    table: &'static str,
}

impl Guarded {
    /// The lockout of `table` (given by its owner).
    pub const fn of(table: &'static str) -> Self {
        Self { table }
    }

    /// Reserves one attempt (a password, a second step): one atomic update per attempt,
    /// refused while locked, so however many attempts race, at most `failures` are checked
    /// per lock; the one that reaches `failures` locks until `locked_until`. False while
    /// locked.
    pub async fn reserve_attempt(
        self,
        pool: &sqlx::AnyPool,
        id: &str,
        now: i64,
        failures: i64,
        locked_until: i64,
    ) -> Result<bool, ServiceError> {
        let reserved = sqlx::query(&format!(
            "UPDATE {} SET \
               failed_sign_ins = CASE WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN 1 ELSE failed_sign_ins + 1 END, \
               locked_until = CASE \
                 WHEN (CASE WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN 1 ELSE failed_sign_ins + 1 END) >= $3 THEN $4 \
                 WHEN locked_until IS NOT NULL AND locked_until <= $2 THEN NULL \
                 ELSE locked_until END \
             WHERE id = $1 AND (locked_until IS NULL OR locked_until <= $2)",
            self.table
        ))
        .bind(id)
        .bind(now)
        .bind(failures)
        .bind(locked_until)
        .execute(pool)
        .await
        .context("reserving a sign-in attempt")?;
        Ok(reserved.rows_affected() == 1)
    }

    /// [`Guarded::reserve_attempt`] with the settings' lockout (`lockout_failures` wrong ones
    /// lock for `lockout_minutes`), now.
    pub async fn reserve(self, ctx: &Context, id: &str) -> Result<bool, ServiceError> {
        let settings = &ctx.settings;
        let now = ctx.now();
        self.reserve_attempt(
            ctx.db.pool(),
            id,
            now,
            settings.lockout_failures,
            now + settings.lockout_minutes * 60_000,
        )
        .await
    }

    /// Gives back an attempt [`Guarded::reserve_attempt`] took (and the lock, if that attempt
    /// set it): a right password that only opens the second step.
    pub async fn refund_attempt(
        self,
        pool: &sqlx::AnyPool,
        id: &str,
        failures: i64,
    ) -> Result<(), ServiceError> {
        sqlx::query(&format!(
            "UPDATE {} SET failed_sign_ins = failed_sign_ins - 1, \
               locked_until = CASE WHEN failed_sign_ins - 1 < $2 THEN NULL ELSE locked_until END \
             WHERE id = $1 AND failed_sign_ins > 0",
            self.table
        ))
        .bind(id)
        .bind(failures)
        .execute(pool)
        .await
        .context("giving back a sign-in attempt")?;
        Ok(())
    }

    /// Clears the failed attempts, in `exec` (a whole sign-in succeeded); with
    /// `second_step`, the second step's count too (a right second step).
    pub async fn clear_failures<'e, E>(
        self,
        exec: E,
        id: &str,
        second_step: bool,
    ) -> Result<(), ServiceError>
    where
        E: Executor<'e, Database = Any>,
    {
        let also = if second_step {
            ", second_step_failures = 0"
        } else {
            ""
        };
        sqlx::query(&format!(
            "UPDATE {} SET failed_sign_ins = 0, locked_until = NULL{also} WHERE id = $1",
            self.table
        ))
        .bind(id)
        .execute(exec)
        .await
        .context("clearing failed sign-ins")?;
        Ok(())
    }

    /// Reserves one second-step attempt against the second step's own count: one atomic
    /// update, refused once `closed_at` wrong ones were counted, so racing attempts never
    /// check more than that. The count after this attempt, or `None` while it is closed.
    pub async fn reserve_second_step(
        self,
        pool: &sqlx::AnyPool,
        id: &str,
        closed_at: i64,
    ) -> Result<Option<i64>, ServiceError> {
        sqlx::query_scalar(&format!(
            "UPDATE {} SET second_step_failures = second_step_failures + 1 \
             WHERE id = $1 AND second_step_failures < $2 RETURNING second_step_failures",
            self.table
        ))
        .bind(id)
        .bind(closed_at)
        .fetch_optional(pool)
        .await
        .context("reserving a second-step attempt")
    }

    /// Clears the second step's count only, in `exec` (its owner's two-step verification was
    /// reset).
    pub async fn clear_second_step_failures<'e, E>(
        self,
        exec: E,
        id: &str,
    ) -> Result<(), ServiceError>
    where
        E: Executor<'e, Database = Any>,
    {
        sqlx::query(&format!(
            "UPDATE {} SET second_step_failures = 0 WHERE id = $1",
            self.table
        ))
        .bind(id)
        .execute(exec)
        .await
        .context("clearing failed second steps")?;
        Ok(())
    }
}
