//! Sessions of signed-in browsers.
//!
//! A session is proven by a cookie holding 32 random bytes; the store keeps only their SHA-256
//! (like a token's), so a copy of the store signs nobody in. Each session also has a CSRF token
//! that the pages put in their forms. A session lasts until it is ended (sign-out, a new
//! password), until it has been idle for its idle time, or until its absolute end; it always
//! carries its user's current role, and a removed or disabled user's sessions stop at once.

use base64::Engine as _;
use mhd_core::auth::Role;
use sqlx::Row;
use subtle::ConstantTimeEq;
use time::{Duration, OffsetDateTime};

use crate::auth::{AuthError, AuthResult, UserRecord, token_hash};
use crate::sqlite::{SqliteStore, from_us, to_us};

/// How long a session lasts without being used.
pub const IDLE: Duration = Duration::hours(12);
/// How long a session lasts at most, used or not.
pub const LIFETIME: Duration = Duration::days(7);
/// How often the last use of a session is written (not at every request).
pub(crate) const TOUCH_EVERY: Duration = Duration::minutes(1);

/// A session just started: the cookie's value and the CSRF token to hand out.
pub struct NewSession {
    /// The session's id.
    pub id: i64,
    /// The cookie's value; the store has only its hash.
    pub secret: String,
    /// The token forms and scripts send back with every change.
    pub csrf_token: String,
    /// When it ends at the latest.
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for NewSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewSession")
            .field("id", &self.id)
            .field("secret", &"<redacted>")
            .field("csrf_token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// A live session and its user as they are now.
#[derive(Clone)]
pub struct SessionRecord {
    /// The session's id.
    pub id: i64,
    /// Its user, with the current role.
    pub user: UserRecord,
    /// The CSRF token of the session.
    pub csrf_token: String,
    /// When it ends at the latest (idle time or absolute end, whichever comes first).
    pub expires_at: OffsetDateTime,
}

impl std::fmt::Debug for SessionRecord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionRecord")
            .field("id", &self.id)
            .field("user", &self.user.name)
            .field("csrf_token", &"<redacted>")
            .field("expires_at", &self.expires_at)
            .finish()
    }
}

/// 32 random bytes from the operating system, in unpadded base64url.
pub(crate) fn random_text() -> AuthResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AuthError::Random(e.to_string()))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes))
}

/// Sessions of signed-in browsers.
pub trait SessionStore: Sync {
    /// Starts a session for user `user_id` (from `client`, an address, for the record).
    fn start_session(
        &self,
        user_id: i64,
        client: Option<&str>,
        now: OffsetDateTime,
    ) -> impl Future<Output = AuthResult<NewSession>> + Send;
    /// The live session a cookie's value proves at `now`, with its user's current role; `None`
    /// for an unknown, ended, idle, expired or disabled one. Records the use (at most once a
    /// minute).
    fn session(
        &self,
        secret: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = AuthResult<Option<SessionRecord>>> + Send;
    /// Whether session `id` is still live at `now` (not ended, idle or expired, its user not
    /// disabled or removed): what a long-lived connection opened with it checks now and then.
    fn session_live(
        &self,
        id: i64,
        now: OffsetDateTime,
    ) -> impl Future<Output = AuthResult<bool>> + Send;
    /// Whether token `id` is still live at `now` (neither revoked nor expired).
    fn token_live(
        &self,
        id: i64,
        now: OffsetDateTime,
    ) -> impl Future<Output = AuthResult<bool>> + Send;
    /// Ends session `id` (sign-out): its cookie proves nothing afterwards. `false` when it had
    /// ended already.
    fn end_session(
        &self,
        id: i64,
        now: OffsetDateTime,
    ) -> impl Future<Output = AuthResult<bool>> + Send;
    /// Ends every session of the user named `name` (a new password, a changed role); how many.
    fn end_sessions_of(
        &self,
        name: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = AuthResult<u64>> + Send;
    /// Whether anyone may sign in: a user who is not disabled exists. Without one, the server
    /// serves a single local user who needs no sign-in.
    fn any_user(&self) -> impl Future<Output = AuthResult<bool>> + Send;
}

impl SessionStore for SqliteStore {
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
        let mut tx = crate::sqlite::WriteTx::begin(self).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO sessions (secret_sha256, user_id, csrf_token, created_at_us, \
             last_seen_at_us, expires_at_us, client) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(token_hash(&secret))
        .bind(user_id)
        .bind(&csrf_token)
        .bind(to_us(now))
        .bind(to_us(now))
        .bind(to_us(end))
        .bind(client)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
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
             WHERE s.secret_sha256 = ? AND s.ended_at_us IS NULL AND u.disabled = 0 \
               AND s.expires_at_us > ? AND s.last_seen_at_us > ?",
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
            self.write_one(
                sqlx::query("UPDATE sessions SET last_seen_at_us = ? WHERE id = ?")
                    .bind(to_us(now))
                    .bind(id),
            )
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
        let live: i64 = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id \
             WHERE s.id = ? AND s.ended_at_us IS NULL AND u.disabled = 0 \
               AND s.expires_at_us > ? AND s.last_seen_at_us > ?)",
        )
        .bind(id)
        .bind(to_us(now))
        .bind(to_us(now - IDLE))
        .fetch_one(&self.pool)
        .await?;
        Ok(live != 0)
    }

    /// Whether token `id` is still live at `now` (neither revoked nor expired).
    async fn token_live(&self, id: i64, now: OffsetDateTime) -> AuthResult<bool> {
        let live: i64 = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM api_tokens WHERE id = ? AND revoked_at_us IS NULL \
               AND (expires_at_us IS NULL OR expires_at_us > ?))",
        )
        .bind(id)
        .bind(to_us(now))
        .fetch_one(&self.pool)
        .await?;
        Ok(live != 0)
    }

    /// Ends session `id` (sign-out): its cookie proves nothing afterwards. `false` when it had
    /// ended already.
    async fn end_session(&self, id: i64, now: OffsetDateTime) -> AuthResult<bool> {
        let done = self
            .write_one(
                sqlx::query(
                    "UPDATE sessions SET ended_at_us = ? WHERE id = ? AND ended_at_us IS NULL",
                )
                .bind(to_us(now))
                .bind(id),
            )
            .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Ends every session of the user named `name` (a new password, a changed role); how many.
    async fn end_sessions_of(&self, name: &str, now: OffsetDateTime) -> AuthResult<u64> {
        let done = self
            .write_one(
                sqlx::query(
                    "UPDATE sessions SET ended_at_us = ? WHERE ended_at_us IS NULL \
             AND user_id IN (SELECT id FROM users WHERE name = ?)",
                )
                .bind(to_us(now))
                .bind(name),
            )
            .await?;
        Ok(done.rows_affected())
    }

    /// Whether anyone may sign in: a user who is not disabled exists. Without one, the server
    /// serves a single local user who needs no sign-in.
    async fn any_user(&self) -> AuthResult<bool> {
        let any: i64 = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM users WHERE disabled = 0)")
            .fetch_one(&self.pool)
            .await?;
        Ok(any != 0)
    }
}
