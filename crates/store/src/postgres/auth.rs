//! Users and API tokens in PostgreSQL, answering as the SQLite store does.
//!
//! SQLite compares and sorts user and token names with `NOCASE`, which folds ASCII letters
//! only; here a name is looked up as `lower(name) = $1` with the given name folded in ASCII
//! only (so a name with other letters matches exactly what it matches on SQLite, and the
//! `lower(name)` indexes serve the lookup), and sorted by `lower(name)` in byte order.

use mhd_core::auth::{Role, validate_name};
use sqlx::Row;
use sqlx::postgres::{PgRow, Postgres};
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use super::{PgStore, text};
use crate::auth::{
    AuthError, AuthResult, AuthStore, NewToken, PasswordHash, TOKEN_COLUMNS, TokenRecord,
    TokenSecret, USER_COLUMNS, UserRecord, is_unique_violation, stored_role, token_hash, user_role,
};
use crate::sqlite::{from_us, to_us};

/// The advisory lock (the second key is unused) that role changes and removals hold while
/// they check that an admin remains: SQLite's single writer makes the check and the change one
/// step, and here two replicas demoting two admins at once would otherwise leave none.
const ADMIN_GUARD_LOCK: i64 = 0x6d68_6402;

/// A name as the `lower(name)` indexes hold it: ASCII letters folded, others kept, as SQLite's
/// `NOCASE` compares (and a NUL as [`text`] keeps it).
pub(crate) fn folded(name: &str) -> String {
    text(&name.to_ascii_lowercase()).into_owned()
}

fn user_row(row: &PgRow) -> AuthResult<UserRecord> {
    Ok(UserRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: stored_role(row.try_get("role")?)?,
        created_at: from_us(row.try_get("created_at_us")?),
        disabled: row.try_get::<i64, _>("disabled")? != 0,
    })
}

fn token_row(row: &PgRow) -> AuthResult<TokenRecord> {
    Ok(TokenRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: stored_role(row.try_get("role")?)?,
        created_at: from_us(row.try_get("created_at_us")?),
        expires_at: row.try_get::<Option<i64>, _>("expires_at_us")?.map(from_us),
        revoked_at: row.try_get::<Option<i64>, _>("revoked_at_us")?.map(from_us),
        last_used_at: row
            .try_get::<Option<i64>, _>("last_used_at_us")?
            .map(from_us),
    })
}

type Tx = sqlx::Transaction<'static, Postgres>;

impl AuthStore for PgStore {
    /// Adds a user with a password already hashed; refuses a bad name, the `ingest` role and a
    /// name taken in any case.
    async fn add_user(
        &self,
        name: &str,
        role: Role,
        password: &PasswordHash,
        now: OffsetDateTime,
    ) -> AuthResult<UserRecord> {
        validate_name("user", name)?;
        user_role(role)?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO users (name, role, password_hash, created_at_us) VALUES ($1, $2, $3, $4) \
             RETURNING {USER_COLUMNS}"
        )))
        .bind(name)
        .bind(role.as_str())
        .bind(password.as_phc())
        .bind(to_us(now))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                AuthError::UserExists(name.to_owned())
            } else {
                e.into()
            }
        })?;
        user_row(&row)
    }

    /// Every user, by name.
    async fn users(&self) -> AuthResult<Vec<UserRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY lower(name) COLLATE \"C\", id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_row).collect()
    }

    /// The user of that name (in any case), with the password hash.
    async fn user_by_name(&self, name: &str) -> AuthResult<Option<(UserRecord, PasswordHash)>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, password_hash FROM users WHERE lower(name) = $1"
        )))
        .bind(folded(name))
        .fetch_optional(&self.pool)
        .await?;
        match row {
            None => Ok(None),
            Some(row) => {
                let hash = PasswordHash::from_phc(row.try_get("password_hash")?);
                Ok(Some((user_row(&row)?, hash)))
            }
        }
    }

    /// Changes a user's role; refuses to take the admin role from the last admin who may sign
    /// in.
    async fn set_role(&self, name: &str, role: Role) -> AuthResult<UserRecord> {
        user_role(role)?;
        let mut tx = admin_guarded(self).await?;
        let user = user_in(&mut tx, name).await?;
        if user.role == Role::Admin && role != Role::Admin && !user.disabled {
            refuse_last_admin(&mut tx, &user).await?;
        }
        sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
            .bind(role.as_str())
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(UserRecord { role, ..user })
    }

    /// Removes a user; refuses to remove the last admin who may sign in.
    async fn remove_user(&self, name: &str) -> AuthResult<UserRecord> {
        let mut tx = admin_guarded(self).await?;
        let user = user_in(&mut tx, name).await?;
        if user.role == Role::Admin && !user.disabled {
            refuse_last_admin(&mut tx, &user).await?;
        }
        sqlx::query("DELETE FROM users WHERE id = $1")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Replaces a user's password hash.
    async fn set_password_hash(&self, name: &str, password: &PasswordHash) -> AuthResult<()> {
        let done = sqlx::query("UPDATE users SET password_hash = $1 WHERE lower(name) = $2")
            .bind(password.as_phc())
            .bind(folded(name))
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(AuthError::NoUser(name.to_owned()));
        }
        Ok(())
    }

    /// Makes a token with a fresh secret; stores only the secret's hash. `expires_at` `None`
    /// means it never expires.
    async fn create_token(
        &self,
        name: &str,
        role: Role,
        expires_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> AuthResult<NewToken> {
        validate_name("token", name)?;
        let secret = TokenSecret::generate()?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO api_tokens (name, role, secret_sha256, created_at_us, expires_at_us) \
             VALUES ($1, $2, $3, $4, $5) RETURNING {TOKEN_COLUMNS}"
        )))
        .bind(name)
        .bind(role.as_str())
        .bind(secret.hash())
        .bind(to_us(now))
        .bind(expires_at.map(to_us))
        .fetch_one(&self.pool)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                AuthError::TokenExists(name.to_owned())
            } else {
                e.into()
            }
        })?;
        Ok(NewToken {
            record: token_row(&row)?,
            secret,
        })
    }

    /// Every token, revoked and expired ones too, by id.
    async fn tokens(&self) -> AuthResult<Vec<TokenRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(token_row).collect()
    }

    /// Revokes a token named by its id (digits) or, when no token has that id, by its name
    /// among those not revoked.
    async fn revoke_token(&self, id_or_name: &str, now: OffsetDateTime) -> AuthResult<TokenRecord> {
        // The token's row is locked (`FOR UPDATE`) until the revocation commits: a second
        // revocation at the same time waits, then reads the row revoked and refuses, as it
        // would after SQLite's single writer.
        let mut tx = self.pool.begin().await?;
        let by_id = match id_or_name.trim().parse::<i64>() {
            Ok(id) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1 FOR UPDATE"
                )))
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?
            }
            Err(_) => None,
        };
        let row = match by_id {
            Some(row) => row,
            None => sqlx::query(sqlx::AssertSqlSafe(format!(
                "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE lower(name) = $1 \
                 ORDER BY revoked_at_us IS NOT NULL, id DESC LIMIT 1 FOR UPDATE"
            )))
            .bind(folded(id_or_name))
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| AuthError::NoToken(id_or_name.to_owned()))?,
        };
        let token = token_row(&row)?;
        if token.revoked_at.is_some() {
            return Err(AuthError::AlreadyRevoked(id_or_name.to_owned()));
        }
        sqlx::query("UPDATE api_tokens SET revoked_at_us = $1 WHERE id = $2")
            .bind(to_us(now))
            .bind(token.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(TokenRecord {
            revoked_at: Some(now),
            ..token
        })
    }

    /// The token whose secret hashes to `hash` (see [`token_hash`]), when it is neither revoked
    /// nor expired at `now`.
    async fn token_by_hash(
        &self,
        hash: &str,
        now: OffsetDateTime,
    ) -> AuthResult<Option<TokenRecord>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS}, secret_sha256 FROM api_tokens \
             WHERE secret_sha256 = $1 AND revoked_at_us IS NULL \
               AND (expires_at_us IS NULL OR expires_at_us > $2)"
        )))
        .bind(text(hash))
        .bind(to_us(now))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        // As on SQLite: the found hash is still compared in constant time.
        let stored: String = row.try_get("secret_sha256")?;
        if !bool::from(stored.as_bytes().ct_eq(hash.as_bytes())) {
            return Ok(None);
        }
        Ok(Some(token_row(&row)?))
    }

    /// The token a presented secret proves, when it is live at `now`; records the use (at most
    /// once a minute).
    async fn authenticate_token(
        &self,
        secret: &str,
        now: OffsetDateTime,
    ) -> AuthResult<Option<TokenRecord>> {
        let Some(token) = self.token_by_hash(&token_hash(secret), now).await? else {
            return Ok(None);
        };
        // The last use is written at most once a minute, so a busy token does not make every
        // request a write.
        if token
            .last_used_at
            .is_some_and(|at| now - at < time::Duration::minutes(1))
        {
            return Ok(Some(token));
        }
        sqlx::query("UPDATE api_tokens SET last_used_at_us = $1 WHERE id = $2")
            .bind(to_us(now))
            .bind(token.id)
            .execute(&self.pool)
            .await?;
        Ok(Some(TokenRecord {
            last_used_at: Some(now),
            ..token
        }))
    }
}

/// A transaction holding [`ADMIN_GUARD_LOCK`] until it ends. Every change that could take the
/// last admin away takes it first, so such changes run one after another; each statement after
/// it reads what the previous holder committed.
async fn admin_guarded(store: &PgStore) -> AuthResult<Tx> {
    let mut tx = store.pool.begin().await?;
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(ADMIN_GUARD_LOCK)
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

async fn user_in(tx: &mut Tx, name: &str) -> AuthResult<UserRecord> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE lower(name) = $1"
    )))
    .bind(folded(name))
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| AuthError::NoUser(name.to_owned()))?;
    user_row(&row)
}

/// Refuses when `user` is the only admin who may sign in.
async fn refuse_last_admin(tx: &mut Tx, user: &UserRecord) -> AuthResult<()> {
    let others: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0 AND id <> $1",
    )
    .bind(user.id)
    .fetch_one(&mut **tx)
    .await?;
    if others == 0 {
        return Err(AuthError::LastAdmin(user.name.clone()));
    }
    Ok(())
}
