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
            sqlx::query("UPDATE sessions SET last_seen_at_us = ? WHERE id = ?")
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
        let done =
            sqlx::query("UPDATE sessions SET ended_at_us = ? WHERE id = ? AND ended_at_us IS NULL")
                .bind(to_us(now))
                .bind(id)
                .execute(&self.pool)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Ends every session of the user named `name` (a new password, a changed role); how many.
    async fn end_sessions_of(&self, name: &str, now: OffsetDateTime) -> AuthResult<u64> {
        let done = sqlx::query(
            "UPDATE sessions SET ended_at_us = ? WHERE ended_at_us IS NULL \
             AND user_id IN (SELECT id FROM users WHERE name = ?)",
        )
        .bind(to_us(now))
        .bind(name)
        .execute(&self.pool)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::PasswordHash;
    use crate::prelude::*;

    async fn store() -> (tempfile::TempDir, SqliteStore) {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("s.db"), 2)
            .await
            .unwrap();
        (dir, store)
    }

    fn t0() -> OffsetDateTime {
        time::macros::datetime!(2026-03-02 09:00 UTC)
    }

    #[tokio::test]
    async fn a_session_lasts_until_ended_idle_or_expired() {
        let (_d, store) = store().await;
        assert!(!store.any_user().await.unwrap());
        let hash = PasswordHash::new("correct horse battery").unwrap();
        let alice = store
            .add_user("alice", Role::Viewer, &hash, t0())
            .await
            .unwrap();
        assert!(store.any_user().await.unwrap());
        let s = store
            .start_session(alice.id, Some("127.0.0.1:5"), t0())
            .await
            .unwrap();
        assert!(!format!("{s:?}").contains(&s.secret));
        let found = store
            .session(&s.secret, t0() + Duration::hours(1))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.user.name, "alice");
        assert_eq!(found.csrf_token, s.csrf_token);
        assert!(store.session("forged", t0()).await.unwrap().is_none());
        // The role is the user's current one.
        let bob = store
            .add_user("bob", Role::Admin, &hash, t0())
            .await
            .unwrap();
        store.set_role("alice", Role::Operator).await.unwrap();
        let found = store
            .session(&s.secret, t0() + Duration::hours(2))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.user.role, Role::Operator);
        // Idle for longer than IDLE: gone.
        assert!(
            store
                .session(&s.secret, t0() + Duration::hours(15))
                .await
                .unwrap()
                .is_none()
        );
        // Used often, it still ends at LIFETIME.
        let s2 = store.start_session(bob.id, None, t0()).await.unwrap();
        let mut at = t0();
        while at < t0() + LIFETIME - Duration::hours(1) {
            at += Duration::hours(6);
            let live = store.session(&s2.secret, at).await.unwrap();
            assert_eq!(live.is_some(), at < t0() + LIFETIME, "{at}");
        }
        assert!(
            store
                .session(&s2.secret, t0() + LIFETIME)
                .await
                .unwrap()
                .is_none()
        );
        // Ended: the cookie proves nothing any more.
        let s3 = store.start_session(bob.id, None, t0()).await.unwrap();
        assert!(store.session_live(s3.id, t0()).await.unwrap());
        assert!(store.end_session(s3.id, t0()).await.unwrap());
        assert!(!store.session_live(s3.id, t0()).await.unwrap());
        assert!(!store.end_session(s3.id, t0()).await.unwrap());
        assert!(store.session(&s3.secret, t0()).await.unwrap().is_none());
        // A new password ends every session of the user; removal too.
        let s4 = store.start_session(alice.id, None, t0()).await.unwrap();
        // (Her first session, idle but never ended, is ended too.)
        assert_eq!(store.end_sessions_of("alice", t0()).await.unwrap(), 2);
        assert!(store.session(&s4.secret, t0()).await.unwrap().is_none());
        let s5 = store.start_session(alice.id, None, t0()).await.unwrap();
        store.remove_user("alice").await.unwrap();
        assert!(store.session(&s5.secret, t0()).await.unwrap().is_none());
        assert!(!store.session_live(s5.id, t0()).await.unwrap());
        // Tokens: live until revoked or expired.
        let t = store
            .create_token("ci", Role::Ingest, Some(t0() + Duration::days(1)), t0())
            .await
            .unwrap();
        assert!(store.token_live(t.record.id, t0()).await.unwrap());
        assert!(
            !store
                .token_live(t.record.id, t0() + Duration::days(2))
                .await
                .unwrap()
        );
        store.revoke_token("ci", t0()).await.unwrap();
        assert!(!store.token_live(t.record.id, t0()).await.unwrap());
    }
}
