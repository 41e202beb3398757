//! Sessions of signed-in browsers in PostgreSQL, answering as the SQLite store does.

use mhd_core::auth::Role;
use sqlx::Row;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use super::auth::folded;
use super::{PgStore, text_opt};
use crate::auth::{AuthError, AuthResult, UserRecord, token_hash};
use crate::sessions::{
    IDLE, LIFETIME, NewSession, SessionRecord, SessionStore, TOUCH_EVERY, random_text,
};
use crate::sqlite::{from_us, to_us};

impl SessionStore for PgStore {
    /// Starts a session for user `user_id` (from `client`, an address, for the record).
    async fn start_session(
        &self,
        user_id: i64,
        client: Option<&str>,
        now: OffsetDateTime,
    ) -> AuthResult<NewSession> {
        let secret = random_text()?;
        let csrf_token = random_text()?;
        let end = now + LIFETIME;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sessions (secret_sha256, user_id, csrf_token, created_at_us, \
             last_seen_at_us, expires_at_us, client) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             RETURNING id",
        )
        .bind(token_hash(&secret))
        .bind(user_id)
        .bind(&csrf_token)
        .bind(to_us(now))
        .bind(to_us(now))
        .bind(to_us(end))
        .bind(text_opt(client))
        .fetch_one(&self.pool)
        .await?;
        Ok(NewSession {
            id,
            secret,
            csrf_token,
            expires_at: end.min(now + IDLE),
        })
    }

    /// The live session a cookie's value proves at `now`, with its user's current role; `None`
    /// for an unknown, ended, idle, expired or disabled one. Records the use (at most once a
    /// minute).
    async fn session(
        &self,
        secret: &str,
        now: OffsetDateTime,
    ) -> AuthResult<Option<SessionRecord>> {
        let hash = token_hash(secret);
        let row = sqlx::query(
            "SELECT s.id, s.secret_sha256, s.csrf_token, s.last_seen_at_us, s.expires_at_us, \
                    u.id AS user_id, u.name, u.role, u.created_at_us, u.disabled \
             FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.secret_sha256 = $1 AND s.ended_at_us IS NULL AND u.disabled = 0 \
               AND s.expires_at_us > $2 AND s.last_seen_at_us > $3",
        )
        .bind(&hash)
        .bind(to_us(now))
        .bind(to_us(now - IDLE))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        let stored: String = row.try_get("secret_sha256")?;
        if !bool::from(stored.as_bytes().ct_eq(hash.as_bytes())) {
            return Ok(None);
        }
        let id: i64 = row.try_get("id")?;
        let last_seen = from_us(row.try_get("last_seen_at_us")?);
        let end = from_us(row.try_get("expires_at_us")?);
        let role: String = row.try_get("role")?;
        let role = Role::parse(&role).map_err(|e| {
            AuthError::Store(crate::StoreError::Db(sqlx::Error::Decode(
                format!("unknown role in the store: {e}").into(),
            )))
        })?;
        if now - last_seen >= TOUCH_EVERY {
            // Two requests touching at once both write `now`-ish; the later value wins, which
            // is what one writer after the other gives too.
            sqlx::query("UPDATE sessions SET last_seen_at_us = $1 WHERE id = $2")
                .bind(to_us(now))
                .bind(id)
                .execute(&self.pool)
                .await?;
        }
        Ok(Some(SessionRecord {
            id,
            user: UserRecord {
                id: row.try_get("user_id")?,
                name: row.try_get("name")?,
                role,
                created_at: from_us(row.try_get("created_at_us")?),
                disabled: false,
            },
            csrf_token: row.try_get("csrf_token")?,
            expires_at: end.min(now + IDLE),
        }))
    }

    /// Whether session `id` is still live at `now` (not ended, idle or expired, its user not
    /// disabled or removed): what a long-lived connection opened with it checks now and then.
    async fn session_live(&self, id: i64, now: OffsetDateTime) -> AuthResult<bool> {
        let live: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id = $1 AND s.ended_at_us IS NULL AND u.disabled = 0 \
               AND s.expires_at_us > $2 AND s.last_seen_at_us > $3)",
        )
        .bind(id)
        .bind(to_us(now))
        .bind(to_us(now - IDLE))
        .fetch_one(&self.pool)
        .await?;
        Ok(live)
    }

    /// Whether token `id` is still live at `now` (neither revoked nor expired).
    async fn token_live(&self, id: i64, now: OffsetDateTime) -> AuthResult<bool> {
        let live: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM api_tokens WHERE id = $1 AND revoked_at_us IS NULL \
               AND (expires_at_us IS NULL OR expires_at_us > $2))",
        )
        .bind(id)
        .bind(to_us(now))
        .fetch_one(&self.pool)
        .await?;
        Ok(live)
    }

    /// Ends session `id` (sign-out): its cookie proves nothing afterwards. `false` when it had
    /// ended already.
    async fn end_session(&self, id: i64, now: OffsetDateTime) -> AuthResult<bool> {
        // The condition on `ended_at_us` is checked again on the locked row, so of two
        // sign-outs at once exactly one reports it ended the session.
        let done = sqlx::query(
            "UPDATE sessions SET ended_at_us = $1 WHERE id = $2 AND ended_at_us IS NULL",
        )
        .bind(to_us(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Ends every session of the user named `name` (a new password, a changed role); how many.
    async fn end_sessions_of(&self, name: &str, now: OffsetDateTime) -> AuthResult<u64> {
        let done = sqlx::query(
            "UPDATE sessions SET ended_at_us = $1 WHERE ended_at_us IS NULL \
             AND user_id IN (SELECT id FROM users WHERE lower(name) = $2)",
        )
        .bind(to_us(now))
        .bind(folded(name))
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Whether anyone may sign in: a user who is not disabled exists. Without one, the server
    /// serves a single local user who needs no sign-in.
    async fn any_user(&self) -> AuthResult<bool> {
        let any: bool =
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE disabled = 0)")
                .fetch_one(&self.pool)
                .await?;
        Ok(any)
    }
}
