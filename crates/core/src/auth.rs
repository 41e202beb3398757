//! Who may do what: the roles of users and API tokens, and the rules their names, passwords and
//! lifetimes follow. Pure: checking a credential happens in the store, enforcing a role in the
//! server.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use time::Duration;

use crate::time_parse::parse_duration;

/// The longest name of a user or a token, in characters.
pub const NAME_MAX: usize = 64;
/// The shortest password a user may choose, in characters.
pub const PASSWORD_MIN: usize = 12;
/// The longest password, in bytes: enough for any passphrase, small enough to hash quickly.
pub const PASSWORD_MAX: usize = 1024;
/// The longest lifetime of a token.
pub const EXPIRY_MAX: Duration = Duration::days(3650);

/// What a user or a token may do.
///
/// `Viewer < Operator < Admin`: each may do everything the one before it may, and more.
/// `Ingest` may only write data (operations, samples, test reports, benchmarks): it is below
/// `Admin`, who may write too, and neither above nor below `Viewer` and `Operator`, who may read
/// but not write. The order is therefore partial: `Role::Ingest >= Role::Viewer` is false, and so
/// is `Role::Viewer >= Role::Ingest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Reads every view.
    Viewer,
    /// Reads, and acknowledges and silences alerts.
    Operator,
    /// Does everything: writes, rollback, users, tokens and the plan.
    Admin,
    /// Only writes operations, samples, test reports and benchmarks (for CI); tokens only.
    Ingest,
}

impl Role {
    /// The roles a user may have.
    pub const USER_ROLES: [Role; 3] = [Role::Viewer, Role::Operator, Role::Admin];
    /// The roles a token may have.
    pub const TOKEN_ROLES: [Role; 4] = [Role::Viewer, Role::Operator, Role::Admin, Role::Ingest];

    /// Its name, as written on the command line, in the store and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
            Role::Admin => "admin",
            Role::Ingest => "ingest",
        }
    }

    /// Reads a role name (`viewer`, `operator`, `admin` or `ingest`; case-insensitive).
    pub fn parse(s: &str) -> Result<Role, AuthInputError> {
        Role::TOKEN_ROLES
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| AuthInputError::BadRole {
                input: s.to_owned(),
                allowed: "viewer, operator, admin, ingest",
            })
    }

    /// Reads the role of a user: any role but `ingest`, which only tokens may have.
    pub fn parse_user_role(s: &str) -> Result<Role, AuthInputError> {
        match Role::parse(s) {
            Ok(Role::Ingest) | Err(_) => Err(AuthInputError::BadRole {
                input: s.to_owned(),
                allowed: "viewer, operator, admin (ingest is for tokens only)",
            }),
            Ok(r) => Ok(r),
        }
    }

    /// Whether this role may do what `needed` may: `self >= needed` in the partial order.
    pub fn includes(self, needed: Role) -> bool {
        self >= needed
    }

    /// Its place among `viewer < operator < admin`; `None` for `ingest`.
    fn rank(self) -> Option<u8> {
        match self {
            Role::Viewer => Some(0),
            Role::Operator => Some(1),
            Role::Admin => Some(2),
            Role::Ingest => None,
        }
    }
}

impl PartialOrd for Role {
    fn partial_cmp(&self, other: &Role) -> Option<Ordering> {
        match (self.rank(), other.rank()) {
            (Some(a), Some(b)) => Some(a.cmp(&b)),
            (None, None) => Some(Ordering::Equal),
            // Admin may write what ingest may, and more.
            (Some(2), None) => Some(Ordering::Greater),
            (None, Some(2)) => Some(Ordering::Less),
            _ => None,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Role {
    type Err = AuthInputError;

    fn from_str(s: &str) -> Result<Role, AuthInputError> {
        Role::parse(s)
    }
}

/// What a request needs: the table of what each role may do (the server maps each route and
/// method to one of these in one place).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Access {
    /// Anyone, signed in or not: liveness, the sign-in page, static assets, the API document.
    Public,
    /// Reading the views: viewer, operator and admin.
    Read,
    /// Acting on alerts (acknowledge, silence, open an issue): operator and admin.
    Operate,
    /// Writing data (operations, samples, test reports, benchmarks): ingest and admin.
    Write,
    /// Everything else: rollback, the audit log, users, tokens and the plan: admin only.
    Admin,
}

impl Access {
    /// Every level, from the least to the most guarded.
    pub const ALL: [Access; 5] = [
        Access::Public,
        Access::Read,
        Access::Operate,
        Access::Write,
        Access::Admin,
    ];

    /// Whether `role` may do what this level guards.
    pub fn allows(self, role: Role) -> bool {
        match self {
            Access::Public => true,
            Access::Read => role.includes(Role::Viewer),
            Access::Operate => role.includes(Role::Operator),
            Access::Write => role.includes(Role::Ingest),
            Access::Admin => role == Role::Admin,
        }
    }

    /// Its name, as in JSON and error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Access::Public => "public",
            Access::Read => "read",
            Access::Operate => "operate",
            Access::Write => "write",
            Access::Admin => "admin",
        }
    }

    /// The roles that may do it, in words, for an error message.
    pub fn roles(self) -> &'static str {
        match self {
            Access::Public => "anyone",
            Access::Read => "viewer, operator or admin",
            Access::Operate => "operator or admin",
            Access::Write => "ingest or admin",
            Access::Admin => "admin",
        }
    }
}

/// Input about users and tokens that breaks a rule. The messages name the input, never a
/// password.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthInputError {
    /// Not a role name.
    #[error("{input:?} is not a role: use one of {allowed}")]
    BadRole {
        /// What was given.
        input: String,
        /// The roles allowed there.
        allowed: &'static str,
    },
    /// A user or token name that breaks the naming rule.
    #[error("{what} name {input:?} {reason}")]
    BadName {
        /// `user` or `token`.
        what: &'static str,
        /// What was given.
        input: String,
        /// Which rule it breaks.
        reason: String,
    },
    /// A password shorter than [`PASSWORD_MIN`] characters.
    #[error(
        "the password is too short: it has {len} characters, at least {PASSWORD_MIN} are needed"
    )]
    ShortPassword {
        /// How many characters it has.
        len: usize,
    },
    /// A password longer than [`PASSWORD_MAX`] bytes.
    #[error("the password is too long: at most {PASSWORD_MAX} bytes")]
    LongPassword,
    /// A token lifetime that is not a positive duration of at most ten years.
    #[error("--expires: {0}")]
    BadExpiry(String),
}

/// Checks a user or token name: 1 to [`NAME_MAX`] characters, each an ASCII letter, a digit or
/// one of `.`, `_`, `-`, `@`. `what` (`user` or `token`) names it in the error.
pub fn validate_name(what: &'static str, name: &str) -> Result<(), AuthInputError> {
    let bad = |reason: String| AuthInputError::BadName {
        what,
        input: name.to_owned(),
        reason,
    };
    if name.is_empty() {
        return Err(bad("is empty".to_owned()));
    }
    let len = name.chars().count();
    if len > NAME_MAX {
        return Err(bad(format!(
            "is {len} characters long: at most {NAME_MAX} are allowed"
        )));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '@')))
    {
        return Err(bad(format!(
            "has {c:?}: only letters, digits and . _ - @ are allowed"
        )));
    }
    Ok(())
}

/// Checks a new password's length: at least [`PASSWORD_MIN`] characters, at most
/// [`PASSWORD_MAX`] bytes.
pub fn validate_password(password: &str) -> Result<(), AuthInputError> {
    let len = password.chars().count();
    if len < PASSWORD_MIN {
        return Err(AuthInputError::ShortPassword { len });
    }
    if password.len() > PASSWORD_MAX {
        return Err(AuthInputError::LongPassword);
    }
    Ok(())
}

/// Reads a token lifetime such as `30d`, `12h` or `1w`: positive, at most [`EXPIRY_MAX`].
pub fn parse_expiry(s: &str) -> Result<Duration, AuthInputError> {
    let d = parse_duration(s).map_err(AuthInputError::BadExpiry)?;
    if d <= Duration::ZERO {
        return Err(AuthInputError::BadExpiry(format!(
            "{s:?} is not a positive duration"
        )));
    }
    if d > EXPIRY_MAX {
        return Err(AuthInputError::BadExpiry(format!(
            "{s:?} is longer than the longest lifetime, 3650d"
        )));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_order_viewer_operator_admin() {
        assert!(Role::Viewer < Role::Operator);
        assert!(Role::Operator < Role::Admin);
        assert!(Role::Viewer < Role::Admin);
        assert!(Role::Admin.includes(Role::Viewer));
        assert!(Role::Operator.includes(Role::Viewer));
        assert!(!Role::Viewer.includes(Role::Operator));
        assert!(!Role::Operator.includes(Role::Admin));
    }

    #[test]
    fn ingest_is_only_below_admin() {
        for r in [Role::Viewer, Role::Operator] {
            assert_eq!(Role::Ingest.partial_cmp(&r), None, "{r}");
            assert!(!Role::Ingest.includes(r), "ingest may not read as {r}");
            assert!(!r.includes(Role::Ingest), "{r} may not write");
        }
        assert!(Role::Admin.includes(Role::Ingest));
        assert!(!Role::Ingest.includes(Role::Admin));
        assert!(Role::Ingest.includes(Role::Ingest));
    }

    #[test]
    fn the_table_of_what_each_role_may_do() {
        use Access::*;
        let table = [
            (Role::Viewer, [true, true, false, false, false]),
            (Role::Operator, [true, true, true, false, false]),
            (Role::Admin, [true, true, true, true, true]),
            (Role::Ingest, [true, false, false, true, false]),
        ];
        for (role, allowed) in table {
            for (access, want) in [Public, Read, Operate, Write, Admin]
                .into_iter()
                .zip(allowed)
            {
                assert_eq!(access.allows(role), want, "{role} {}", access.as_str());
            }
        }
    }

    #[test]
    fn roles_parse_and_print() {
        for r in Role::TOKEN_ROLES {
            assert_eq!(Role::parse(r.as_str()), Ok(r));
            assert_eq!(r.to_string().parse::<Role>(), Ok(r));
        }
        assert_eq!(Role::parse("Admin"), Ok(Role::Admin));
        let e = Role::parse("root").unwrap_err().to_string();
        assert!(e.contains("\"root\"") && e.contains("viewer"), "{e}");
        assert!(Role::parse_user_role("ingest").is_err());
        assert_eq!(Role::parse_user_role("operator"), Ok(Role::Operator));
    }

    #[test]
    fn names_follow_the_rule() {
        for ok in [
            "alice",
            "a",
            "ci.bot_2-x@example.org",
            &"x".repeat(NAME_MAX),
        ] {
            assert_eq!(validate_name("user", ok), Ok(()), "{ok}");
        }
        let cases = [
            ("", "is empty"),
            ("bob smith", "' '"),
            ("<script>", "'<'"),
            ("a'; DROP TABLE users; --", "'\\''"),
            ("élise", "'é'"),
            ("tab\there", "'\\t'"),
        ];
        for (bad, why) in cases {
            let e = validate_name("user", bad).unwrap_err().to_string();
            assert!(e.starts_with("user name "), "{e}");
            assert!(e.contains(why), "{bad:?}: {e}");
        }
        let long = "y".repeat(NAME_MAX + 1);
        let e = validate_name("token", &long).unwrap_err().to_string();
        assert!(e.contains("65 characters"), "{e}");
    }

    #[test]
    fn passwords_need_twelve_characters() {
        let e = validate_password("short-pw").unwrap_err().to_string();
        assert!(e.contains("8 characters") && e.contains("12"), "{e}");
        assert!(!e.contains("short-pw"), "the password is never shown: {e}");
        assert_eq!(validate_password("twelve chars"), Ok(()));
        assert_eq!(
            validate_password("ééééééééééé"),
            Err(AuthInputError::ShortPassword { len: 11 })
        );
        assert_eq!(
            validate_password(&"p".repeat(PASSWORD_MAX + 1)),
            Err(AuthInputError::LongPassword)
        );
    }

    #[test]
    fn expiry_is_a_positive_duration() {
        assert_eq!(parse_expiry("30d"), Ok(Duration::days(30)));
        assert_eq!(parse_expiry("1w12h"), Ok(Duration::hours(180)));
        assert!(parse_expiry("0d").is_err());
        assert!(
            parse_expiry("soon")
                .unwrap_err()
                .to_string()
                .contains("\"soon\"")
        );
        assert!(parse_expiry("3651d").is_err());
    }
}
