//! Users and API tokens: who they are, their roles, and the hashes that prove them.
//!
//! Passwords are kept as Argon2id hashes in the PHC string format (algorithm, parameters and
//! salt travel with the hash, so the parameters can change later without breaking stored
//! hashes). A token's secret is shown once when it is made and never stored: only its SHA-256
//! is. A token secret is 32 random bytes from the operating system, so a fast hash is enough —
//! there is nothing to guess — and it lets a token be found by its hash with one index lookup.

use std::fmt;

use argon2::Argon2;
use argon2::password_hash::PasswordHasher;
use argon2::password_hash::phc::PasswordHash as Phc;
use base64::Engine as _;
use mhd_core::auth::{AuthInputError, Role, validate_name, validate_password};
use sha2::{Digest, Sha256};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;
use subtle::ConstantTimeEq;
use time::OffsetDateTime;

use crate::StoreError;
use crate::sqlite::{SqliteStore, from_us, to_us};

/// What the prefix of every token secret is: it makes a leaked token easy to spot in a log or a
/// repository scanner.
pub const TOKEN_PREFIX: &str = "mhd_";

/// What can go wrong with users and tokens. No message holds a password or a token secret.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// A name, role, password or lifetime broke a rule.
    #[error(transparent)]
    Input(#[from] AuthInputError),
    /// A user of that name (in any case) exists already.
    #[error("a user named {0:?} exists already")]
    UserExists(String),
    /// No user has that name.
    #[error("no user is named {0:?}")]
    NoUser(String),
    /// The change would leave no admin who can sign in.
    #[error(
        "{0:?} is the last admin: make another user admin first, so someone can still manage \
         users and tokens"
    )]
    LastAdmin(String),
    /// A token that is not revoked has that name already.
    #[error("a token named {0:?} exists already: revoke it first or choose another name")]
    TokenExists(String),
    /// No token has that id or name.
    #[error("no token has the id or name {0:?}")]
    NoToken(String),
    /// The token was revoked before.
    #[error("token {0:?} was already revoked")]
    AlreadyRevoked(String),
    /// Argon2 refused to hash (never with the default parameters).
    #[error("hashing failed: {0}")]
    Hash(String),
    /// The operating system gave no random bytes.
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for AuthError {
    fn from(e: sqlx::Error) -> Self {
        AuthError::Store(StoreError::from(e))
    }
}

/// Result of the user and token methods.
pub type AuthResult<T> = std::result::Result<T, AuthError>;

/// An Argon2id password hash as a PHC string. Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Hashes a new password with Argon2id (default parameters, a fresh salt from the OS),
    /// after checking its length.
    pub fn new(password: &str) -> AuthResult<PasswordHash> {
        validate_password(password)?;
        let hash = Argon2::default()
            .hash_password(password.as_bytes())
            .map_err(|e| AuthError::Hash(e.to_string()))?;
        Ok(PasswordHash(hash.to_string()))
    }

    /// A stored PHC string.
    pub fn from_phc(phc: String) -> PasswordHash {
        PasswordHash(phc)
    }

    /// The PHC string, to store.
    pub fn as_phc(&self) -> &str {
        &self.0
    }

    /// Whether `password` is the one hashed, compared in constant time; a malformed stored
    /// hash matches nothing. The hash's own algorithm, version and parameters are used.
    pub fn verify(&self, password: &str) -> bool {
        let Ok(parsed) = Phc::new(&self.0) else {
            return false;
        };
        let (Some(salt), Some(expected)) = (&parsed.salt, &parsed.hash) else {
            return false;
        };
        let Ok(algorithm) = argon2::Algorithm::new(parsed.algorithm.as_str()) else {
            return false;
        };
        let version = match parsed.version.map(argon2::Version::try_from) {
            None => argon2::Version::default(),
            Some(Ok(v)) => v,
            Some(Err(_)) => return false,
        };
        let Ok(params) = argon2::Params::try_from(&parsed) else {
            return false;
        };
        let blocks = params.block_count();
        if blocks > MAX_CHECK_BLOCKS {
            return false;
        }
        let mut memory = working_memory(blocks);
        let mut out = vec![0u8; expected.len()];
        let hashed = Argon2::new(algorithm, version, params).hash_password_into_with_memory(
            password.as_bytes(),
            salt.as_ref(),
            &mut out,
            &mut memory,
        );
        hashed.is_ok() && bool::from(out.as_slice().ct_eq(expected.as_bytes()))
    }
}

/// The most Argon2 memory blocks (1 KiB each) a stored hash may ask for: 1 GiB.
const MAX_CHECK_BLOCKS: usize = 1 << 20;

/// Blocks reserved for a check at least: 33 MiB, over the 32 MiB above which glibc always maps
/// an allocation apart from its heap.
const MAPPED_BLOCKS: usize = 33 * 1024;

/// Argon2's working memory for one check: `blocks` blocks, reserved at [`MAPPED_BLOCKS`] or
/// more so that the C allocator maps it apart and gives it back to the system as soon as the
/// check ends. (Argon2's own allocation, ~19 MiB with the default parameters, is mapped apart
/// only until the first one is freed: glibc then raises its threshold and serves the next ones
/// from its heap, which checks one after another fragment and grow by several MiB each. Only
/// the blocks the check uses are ever touched, so the rest costs no memory.)
fn working_memory(blocks: usize) -> Vec<argon2::Block> {
    let mut memory = Vec::with_capacity(blocks.max(MAPPED_BLOCKS));
    memory.resize(blocks, argon2::Block::new());
    memory
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// A token's secret, as handed to its owner once: `mhd_` and 32 random bytes in unpadded
/// base64url. Its `Debug` does not show it.
#[derive(Clone, PartialEq, Eq)]
pub struct TokenSecret(String);

impl TokenSecret {
    /// Draws a new secret from the operating system's random number generator.
    pub fn generate() -> AuthResult<TokenSecret> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| AuthError::Random(e.to_string()))?;
        let body = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        Ok(TokenSecret(format!("{TOKEN_PREFIX}{body}")))
    }

    /// The secret, to show its owner once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The SHA-256 of the secret in lowercase hex: what the store keeps.
    pub fn hash(&self) -> String {
        token_hash(&self.0)
    }
}

impl fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TokenSecret(<redacted>)")
    }
}

/// The SHA-256 of a presented token secret in lowercase hex, as the store keeps it.
pub fn token_hash(secret: &str) -> String {
    let digest = Sha256::digest(secret.as_bytes());
    let mut hex = String::with_capacity(64);
    for b in digest.iter() {
        hex.push(char::from(HEX[usize::from(b >> 4)]));
        hex.push(char::from(HEX[usize::from(b & 0x0f)]));
    }
    hex
}

const HEX: &[u8; 16] = b"0123456789abcdef";

/// A user, without the password hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct UserRecord {
    /// The store's id.
    pub id: i64,
    /// The name, as it was given when the user was added.
    pub name: String,
    /// The role.
    pub role: Role,
    /// When the user was added.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Whether the user may no longer sign in.
    pub disabled: bool,
}

/// A token, without its secret or the secret's hash.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct TokenRecord {
    /// The store's id, by which it is revoked.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// Its role.
    pub role: Role,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it stops working, when it does.
    #[serde(with = "time::serde::rfc3339::option")]
    pub expires_at: Option<OffsetDateTime>,
    /// When it was revoked, when it was.
    #[serde(with = "time::serde::rfc3339::option")]
    pub revoked_at: Option<OffsetDateTime>,
    /// When it last authenticated a request.
    #[serde(with = "time::serde::rfc3339::option")]
    pub last_used_at: Option<OffsetDateTime>,
}

impl TokenRecord {
    /// Whether it authenticates at `now`: not revoked and not expired.
    pub fn is_live(&self, now: OffsetDateTime) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|e| now < e)
    }

    /// `active`, `expired` or `revoked` at `now`.
    pub fn state(&self, now: OffsetDateTime) -> &'static str {
        if self.revoked_at.is_some() {
            "revoked"
        } else if self.is_live(now) {
            "active"
        } else {
            "expired"
        }
    }
}

/// A token just made: its record and the secret to show once.
#[derive(Debug)]
pub struct NewToken {
    /// The stored token.
    pub record: TokenRecord,
    /// The secret; the store has only its hash.
    pub secret: TokenSecret,
}

pub(crate) const USER_COLUMNS: &str = "id, name, role, created_at_us, disabled";
pub(crate) const TOKEN_COLUMNS: &str =
    "id, name, role, created_at_us, expires_at_us, revoked_at_us, last_used_at_us";

pub(crate) fn stored_role(s: &str) -> AuthResult<Role> {
    Role::parse(s).map_err(|_| {
        AuthError::Store(StoreError::Db(sqlx::Error::Decode(
            format!("unknown role {s:?} in the store").into(),
        )))
    })
}

fn user_row(row: &SqliteRow) -> AuthResult<UserRecord> {
    Ok(UserRecord {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        role: stored_role(row.try_get("role")?)?,
        created_at: from_us(row.try_get("created_at_us")?),
        disabled: row.try_get::<i64, _>("disabled")? != 0,
    })
}

fn token_row(row: &SqliteRow) -> AuthResult<TokenRecord> {
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

pub(crate) fn user_role(role: Role) -> AuthResult<Role> {
    if role == Role::Ingest {
        return Err(AuthInputError::BadRole {
            input: role.as_str().to_owned(),
            allowed: "viewer, operator, admin (ingest is for tokens only)",
        }
        .into());
    }
    Ok(role)
}

/// Whether a write broke a unique index: SQLite's constraint code or PostgreSQL's SQLSTATE
/// 23505, both of which sqlx reports as a unique violation.
pub(crate) fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// Users and API tokens.
pub trait AuthStore: Sync {
    /// Adds a user with a password already hashed; refuses a bad name, the `ingest` role and a
    /// name taken in any case.
    fn add_user(
        &self,
        name: &str,
        role: Role,
        password: &PasswordHash,
        now: OffsetDateTime,
    ) -> impl Future<Output = AuthResult<UserRecord>> + Send;
    /// Every user, by name.
    fn users(&self) -> impl Future<Output = AuthResult<Vec<UserRecord>>> + Send;
    /// The user of that name (in any case), with the password hash.
    fn user_by_name(
        &self,
        name: &str,
    ) -> impl Future<Output = AuthResult<Option<(UserRecord, PasswordHash)>>> + Send;
    /// Changes a user's role; refuses to take the admin role from the last admin who may sign
    /// in.
    fn set_role(
        &self,
        name: &str,
        role: Role,
    ) -> impl Future<Output = AuthResult<UserRecord>> + Send;
    /// Removes a user; refuses to remove the last admin who may sign in.
    fn remove_user(&self, name: &str) -> impl Future<Output = AuthResult<UserRecord>> + Send;
    /// Replaces a user's password hash.
    fn set_password_hash(
        &self,
        name: &str,
        password: &PasswordHash,
    ) -> impl Future<Output = AuthResult<()>> + Send;
    /// Makes a token with a fresh secret; stores only the secret's hash. `expires_at` `None`
    /// means it never expires.
    fn create_token(
        &self,
        name: &str,
        role: Role,
        expires_at: Option<OffsetDateTime>,
        now: OffsetDateTime,
    ) -> impl Future<Output = AuthResult<NewToken>> + Send;
    /// Every token, revoked and expired ones too, by id.
    fn tokens(&self) -> impl Future<Output = AuthResult<Vec<TokenRecord>>> + Send;
    /// Revokes a token named by its id (digits) or, when no token has that id, by its name
    /// among those not revoked.
    fn revoke_token(
        &self,
        id_or_name: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = AuthResult<TokenRecord>> + Send;
    /// The token whose secret hashes to `hash` (see [`token_hash`]), when it is neither revoked
    /// nor expired at `now`.
    fn token_by_hash(
        &self,
        hash: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = AuthResult<Option<TokenRecord>>> + Send;
    /// The token a presented secret proves, when it is live at `now`; records the use (at most
    /// once a minute).
    fn authenticate_token(
        &self,
        secret: &str,
        now: OffsetDateTime,
    ) -> impl Future<Output = AuthResult<Option<TokenRecord>>> + Send;
}

impl AuthStore for SqliteStore {
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
        let mut tx = crate::sqlite::WriteTx::begin(self).await?;
        let row = sqlx::query(
            "INSERT INTO users (name, role, password_hash, created_at_us) VALUES (?, ?, ?, ?) \
             RETURNING id, name, role, created_at_us, disabled",
        )
        .bind(name)
        .bind(role.as_str())
        .bind(password.as_phc())
        .bind(to_us(now))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                AuthError::UserExists(name.to_owned())
            } else {
                e.into()
            }
        })?;
        tx.commit().await?;
        user_row(&row)
    }

    /// Every user, by name.
    async fn users(&self) -> AuthResult<Vec<UserRecord>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS} FROM users ORDER BY name, id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(user_row).collect()
    }

    /// The user of that name (in any case), with the password hash.
    async fn user_by_name(&self, name: &str) -> AuthResult<Option<(UserRecord, PasswordHash)>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {USER_COLUMNS}, password_hash FROM users WHERE name = ?"
        )))
        .bind(name)
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
        let mut tx = crate::sqlite::WriteTx::begin(self).await?;
        let user = user_in(&mut tx, name).await?;
        if user.role == Role::Admin && role != Role::Admin && !user.disabled {
            refuse_last_admin(&mut tx, &user).await?;
        }
        sqlx::query("UPDATE users SET role = ? WHERE id = ?")
            .bind(role.as_str())
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(UserRecord { role, ..user })
    }

    /// Removes a user; refuses to remove the last admin who may sign in.
    async fn remove_user(&self, name: &str) -> AuthResult<UserRecord> {
        let mut tx = crate::sqlite::WriteTx::begin(self).await?;
        let user = user_in(&mut tx, name).await?;
        if user.role == Role::Admin && !user.disabled {
            refuse_last_admin(&mut tx, &user).await?;
        }
        sqlx::query("DELETE FROM users WHERE id = ?")
            .bind(user.id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// Replaces a user's password hash.
    async fn set_password_hash(&self, name: &str, password: &PasswordHash) -> AuthResult<()> {
        let done = self
            .write_one(
                sqlx::query("UPDATE users SET password_hash = ? WHERE name = ?")
                    .bind(password.as_phc())
                    .bind(name),
            )
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
        let mut tx = crate::sqlite::WriteTx::begin(self).await?;
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO api_tokens (name, role, secret_sha256, created_at_us, expires_at_us) \
             VALUES (?, ?, ?, ?, ?) RETURNING {TOKEN_COLUMNS}"
        )))
        .bind(name)
        .bind(role.as_str())
        .bind(secret.hash())
        .bind(to_us(now))
        .bind(expires_at.map(to_us))
        .fetch_one(&mut *tx)
        .await
        .map_err(|e| {
            if is_unique_violation(&e) {
                AuthError::TokenExists(name.to_owned())
            } else {
                e.into()
            }
        })?;
        tx.commit().await?;
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
        let mut tx = crate::sqlite::WriteTx::begin(self).await?;
        let by_id = match id_or_name.trim().parse::<i64>() {
            Ok(id) => {
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = ?"
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
                "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE name = ? \
                 ORDER BY revoked_at_us IS NOT NULL, id DESC LIMIT 1"
            )))
            .bind(id_or_name)
            .fetch_optional(&mut *tx)
            .await?
            .ok_or_else(|| AuthError::NoToken(id_or_name.to_owned()))?,
        };
        let token = token_row(&row)?;
        if token.revoked_at.is_some() {
            return Err(AuthError::AlreadyRevoked(id_or_name.to_owned()));
        }
        sqlx::query("UPDATE api_tokens SET revoked_at_us = ? WHERE id = ?")
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
             WHERE secret_sha256 = ? AND revoked_at_us IS NULL \
               AND (expires_at_us IS NULL OR expires_at_us > ?)"
        )))
        .bind(hash)
        .bind(to_us(now))
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else {
            return Ok(None);
        };
        // The lookup above may take longer or shorter depending on how much of the hash matches
        // an indexed one; that tells an attacker about SHA-256 outputs, not about any secret, as
        // the secret cannot be found from its hash. The found hash is still compared in constant
        // time with `subtle`, so no code path compares secret-derived bytes with an early exit.
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
        // The last use is written at most once a minute: a token sending many requests must
        // not make each one a write that waits for the store's one writer.
        if token
            .last_used_at
            .is_some_and(|at| now - at < time::Duration::minutes(1))
        {
            return Ok(Some(token));
        }
        self.write_one(
            sqlx::query("UPDATE api_tokens SET last_used_at_us = ? WHERE id = ?")
                .bind(to_us(now))
                .bind(token.id),
        )
        .await?;
        Ok(Some(TokenRecord {
            last_used_at: Some(now),
            ..token
        }))
    }
}

async fn user_in(tx: &mut crate::sqlite::WriteTx, name: &str) -> AuthResult<UserRecord> {
    let row = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {USER_COLUMNS} FROM users WHERE name = ?"
    )))
    .bind(name)
    .fetch_optional(&mut **tx)
    .await?
    .ok_or_else(|| AuthError::NoUser(name.to_owned()))?;
    user_row(&row)
}

/// Refuses when `user` is the only admin who may sign in.
async fn refuse_last_admin(tx: &mut crate::sqlite::WriteTx, user: &UserRecord) -> AuthResult<()> {
    let others: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM users WHERE role = 'admin' AND disabled = 0 AND id <> ?",
    )
    .bind(user.id)
    .fetch_one(&mut **tx)
    .await?;
    if others == 0 {
        return Err(AuthError::LastAdmin(user.name.clone()));
    }
    Ok(())
}
