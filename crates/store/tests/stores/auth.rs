//! Users and API tokens: unique names in any case, the last-admin guard, passwords kept only as
//! Argon2id hashes, and tokens kept only as hashes that stop working when revoked or expired.

use mhd_core::auth::Role;
use mhd_store::auth::{AuthError, PasswordHash, token_hash};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::backends;
use crate::both::Both;
use mhd_store::prelude::*;

const T0: OffsetDateTime = datetime!(2025-03-03 9:00 UTC);

crate::on_both!(
    "au";
    user_names_are_unique_in_any_case_and_passwords_stored_hashed,
    bad_names_roles_and_passwords_change_nothing,
    the_last_admin_can_be_neither_removed_nor_demoted,
    only_the_hash_of_a_token_is_stored,
    tokens_stop_at_expiry_and_revocation,
    users_and_tokens_survive_reopening,
    two_admins_demoted_at_once_leave_one,
    a_token_revoked_twice_at_once_is_revoked_once,
    names_with_a_nul_find_nothing,
    users_come_by_name_in_any_case,
);

/// Every text cell of a table, to look for what must not be there.
async fn cells<B: Both>(b: &B, table: &str) -> Vec<String> {
    let raw = b.raw().await;
    let out = raw.cells(table).await;
    raw.close().await;
    out
}

async fn user_names_are_unique_in_any_case_and_passwords_stored_hashed<B: Both>(b: &B) {
    let store = b.open().await;
    let password = "correct horse battery";
    let hash = PasswordHash::new(password).unwrap();
    assert!(hash.as_phc().starts_with("$argon2id$"), "{}", hash.as_phc());
    assert!(
        !format!("{hash:?}").contains("argon2"),
        "Debug hides the hash"
    );

    let alice = store
        .add_user("Alice", Role::Admin, &hash, T0)
        .await
        .unwrap();
    assert_eq!(alice.role, Role::Admin);
    assert_eq!(alice.created_at, T0);
    assert!(!alice.disabled);
    let again = store.add_user("alice", Role::Viewer, &hash, T0).await;
    assert!(
        matches!(&again, Err(AuthError::UserExists(n)) if n == "alice"),
        "{again:?}"
    );
    assert_eq!(store.users().await.unwrap().len(), 1);

    // Found in any case; the password verifies and a wrong one does not.
    let (found, stored) = store.user_by_name("ALICE").await.unwrap().unwrap();
    assert_eq!(found.name, "Alice");
    assert!(stored.verify(password));
    assert!(!stored.verify("correct horse battery "));
    assert!(store.user_by_name("bob").await.unwrap().is_none());

    // The password is nowhere in the table.
    let table = cells(b, "users").await;
    assert!(
        table.iter().any(|c| c.starts_with("$argon2id$")),
        "{table:?}"
    );
    assert!(!table.iter().any(|c| c.contains(password)), "{table:?}");

    // A new password replaces the old one.
    let new = PasswordHash::new("another long passphrase").unwrap();
    store.set_password_hash("alice", &new).await.unwrap();
    let (_, stored) = store.user_by_name("alice").await.unwrap().unwrap();
    assert!(stored.verify("another long passphrase"));
    assert!(!stored.verify(password));
    let missing = store.set_password_hash("nobody", &new).await;
    assert!(matches!(missing, Err(AuthError::NoUser(_))), "{missing:?}");
}

async fn bad_names_roles_and_passwords_change_nothing<B: Both>(b: &B) {
    let store = b.open().await;
    let short = PasswordHash::new("Xq7#pw!zz");
    let e = short.unwrap_err().to_string();
    assert!(e.contains("at least 12"), "{e}");
    assert!(
        !e.contains("Xq7#pw!zz"),
        "the password is never in an error: {e}"
    );

    let hash = PasswordHash::new("a good long password").unwrap();
    for bad in ["", "bob smith", "x'); DROP TABLE users; --", "<b>"] {
        let r = store.add_user(bad, Role::Viewer, &hash, T0).await;
        assert!(matches!(r, Err(AuthError::Input(_))), "{bad:?}: {r:?}");
    }
    let r = store.add_user("ci", Role::Ingest, &hash, T0).await;
    assert!(matches!(r, Err(AuthError::Input(_))), "{r:?}");
    assert!(store.users().await.unwrap().is_empty());
    let r = store.create_token("a b", Role::Viewer, None, T0).await;
    assert!(matches!(r, Err(AuthError::Input(_))), "{r:?}");
    assert!(store.tokens().await.unwrap().is_empty());
}

async fn the_last_admin_can_be_neither_removed_nor_demoted<B: Both>(b: &B) {
    let store = b.open().await;
    let hash = PasswordHash::new("a good long password").unwrap();
    store
        .add_user("root", Role::Admin, &hash, T0)
        .await
        .unwrap();
    store
        .add_user("vera", Role::Viewer, &hash, T0)
        .await
        .unwrap();

    let r = store.remove_user("root").await;
    let msg = r
        .as_ref()
        .map(|_| String::new())
        .unwrap_or_else(|e| e.to_string());
    assert!(matches!(r, Err(AuthError::LastAdmin(_))), "{r:?}");
    assert!(msg.contains("last admin"), "{msg}");
    let r = store.set_role("ROOT", Role::Operator).await;
    assert!(matches!(r, Err(AuthError::LastAdmin(_))), "{r:?}");
    let (root, _) = store.user_by_name("root").await.unwrap().unwrap();
    assert_eq!(root.role, Role::Admin, "nothing changed");

    // With a second admin, the first may go.
    let vera = store.set_role("vera", Role::Admin).await.unwrap();
    assert_eq!(vera.role, Role::Admin);
    let op = store.set_role("root", Role::Operator).await.unwrap();
    assert_eq!(op.role, Role::Operator);
    let removed = store.remove_user("root").await.unwrap();
    assert_eq!(removed.name, "root");
    let names: Vec<_> = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(names, ["vera"]);
    assert!(matches!(
        store.remove_user("vera").await,
        Err(AuthError::LastAdmin(_))
    ));
    assert!(matches!(
        store.remove_user("ghost").await,
        Err(AuthError::NoUser(_))
    ));
    // Removing the last viewer is fine; demoting anyone to ingest is not.
    assert!(matches!(
        store.set_role("vera", Role::Ingest).await,
        Err(AuthError::Input(_))
    ));
}

async fn only_the_hash_of_a_token_is_stored<B: Both>(b: &B) {
    let store = b.open().await;
    let made = store
        .create_token("ci", Role::Ingest, None, T0)
        .await
        .unwrap();
    let secret = made.secret.expose().to_owned();
    assert!(secret.starts_with("mhd_"), "{secret}");
    assert_eq!(secret.len(), 4 + 43, "32 bytes in unpadded base64url");
    assert!(!format!("{made:?}").contains(&secret), "Debug hides it");
    assert_eq!(made.record.role, Role::Ingest);

    let table = cells(b, "api_tokens").await;
    let body = &secret[4..];
    assert!(!table.iter().any(|c| c.contains(body)), "{table:?}");
    assert!(table.contains(&token_hash(&secret)), "{table:?}");
    assert!(token_hash(&secret).len() == 64);

    // Two tokens never share a secret.
    let other = store
        .create_token("ci2", Role::Viewer, None, T0)
        .await
        .unwrap();
    assert_ne!(other.secret.expose(), secret);

    // The secret authenticates; anything else does not.
    let found = store
        .authenticate_token(&secret, T0 + Duration::hours(1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, made.record.id);
    assert_eq!(found.last_used_at, Some(T0 + Duration::hours(1)));
    let listed = store.tokens().await.unwrap();
    assert_eq!(listed[0].last_used_at, Some(T0 + Duration::hours(1)));
    let forged = format!("{}A", &secret[..secret.len() - 1]);
    let forged = if forged == secret {
        format!("{}B", &secret[..secret.len() - 1])
    } else {
        forged
    };
    for bad in [forged.as_str(), "", "mhd_", "' OR 1=1 --"] {
        assert!(
            store.authenticate_token(bad, T0).await.unwrap().is_none(),
            "{bad:?}"
        );
    }
}

async fn tokens_stop_at_expiry_and_revocation<B: Both>(b: &B) {
    let store = b.open().await;
    let expires = T0 + Duration::days(30);
    let t = store
        .create_token("deploy", Role::Admin, Some(expires), T0)
        .await
        .unwrap();
    let hash = t.secret.hash();
    let before = expires - Duration::seconds(1);
    assert!(store.token_by_hash(&hash, before).await.unwrap().is_some());
    assert!(store.token_by_hash(&hash, expires).await.unwrap().is_none());
    let listed = store.tokens().await.unwrap();
    assert_eq!(listed[0].state(before), "active");
    assert_eq!(listed[0].state(expires), "expired");

    // Live names are unique; revoking by name frees it.
    let dup = store.create_token("DEPLOY", Role::Viewer, None, T0).await;
    assert!(matches!(dup, Err(AuthError::TokenExists(_))), "{dup:?}");
    let revoked = store.revoke_token("deploy", T0).await.unwrap();
    assert_eq!(revoked.id, t.record.id);
    assert_eq!(revoked.revoked_at, Some(T0));
    assert!(store.token_by_hash(&hash, T0).await.unwrap().is_none());
    assert!(
        store
            .authenticate_token(t.secret.expose(), T0)
            .await
            .unwrap()
            .is_none()
    );
    let again = store.revoke_token(&t.record.id.to_string(), T0).await;
    assert!(
        matches!(again, Err(AuthError::AlreadyRevoked(_))),
        "{again:?}"
    );

    let second = store
        .create_token("deploy", Role::Viewer, None, T0)
        .await
        .unwrap();
    let by_id = store
        .revoke_token(&second.record.id.to_string(), T0)
        .await
        .unwrap();
    assert_eq!(by_id.name, "deploy");
    assert!(matches!(
        store.revoke_token("nope", T0).await,
        Err(AuthError::NoToken(_))
    ));
    let states: Vec<_> = store
        .tokens()
        .await
        .unwrap()
        .iter()
        .map(|t| t.state(T0))
        .collect();
    assert_eq!(states, ["revoked", "revoked"]);
}

async fn users_and_tokens_survive_reopening<B: Both>(b: &B) {
    let secret = {
        let store = b.open().await;
        let hash = PasswordHash::new("a good long password").unwrap();
        store
            .add_user("ann", Role::Operator, &hash, T0)
            .await
            .unwrap();
        let t = store
            .create_token("ci", Role::Ingest, None, T0)
            .await
            .unwrap();
        b.close(store).await;
        t.secret.expose().to_owned()
    };
    let store = b.open().await;
    let (ann, hash) = store.user_by_name("ann").await.unwrap().unwrap();
    assert_eq!(ann.role, Role::Operator);
    assert!(hash.verify("a good long password"));
    let t = store
        .authenticate_token(&secret, T0)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((t.name.as_str(), t.role), ("ci", Role::Ingest));
}

async fn two_admins_demoted_at_once_leave_one<B: Both>(b: &B) {
    let store = b.open().await;
    let hash = PasswordHash::new("a good long password").unwrap();
    let mut left: Option<String> = None;
    for round in 0..5 {
        let (a, b) = (format!("a{round}"), format!("b{round}"));
        store.add_user(&a, Role::Admin, &hash, T0).await.unwrap();
        store.add_user(&b, Role::Admin, &hash, T0).await.unwrap();
        if let Some(x) = left.take() {
            store.remove_user(&x).await.unwrap();
        }
        // The last two admins, one demoted and one removed at the same moment.
        let (ra, rb) = tokio::join!(store.set_role(&a, Role::Viewer), store.remove_user(&b));
        let refused = [ra.is_err(), rb.is_err()];
        assert_eq!(
            refused.iter().filter(|r| **r).count(),
            1,
            "round {round}: exactly one is refused: {ra:?} {rb:?}"
        );
        let err = ra.err().or(rb.err()).unwrap();
        assert!(matches!(err, AuthError::LastAdmin(_)), "{err:?}");
        let admins: Vec<String> = store
            .users()
            .await
            .unwrap()
            .into_iter()
            .filter(|u| u.role == Role::Admin)
            .map(|u| u.name)
            .collect();
        assert_eq!(admins.len(), 1, "round {round}: {admins:?}");
        left = admins.into_iter().next();
    }
}

async fn a_token_revoked_twice_at_once_is_revoked_once<B: Both>(b: &B) {
    let store = b.open().await;
    // Several rounds, so that the later ones race on connections already open.
    for round in 0..5 {
        let name = format!("deploy{round}");
        let t = store
            .create_token(&name, Role::Admin, None, T0)
            .await
            .unwrap();
        let id = t.record.id.to_string();
        let upper = name.to_uppercase();
        let (by_name, by_id) = tokio::join!(
            store.revoke_token(&upper, T0),
            store.revoke_token(&id, T0 + Duration::seconds(1))
        );
        let done = [by_name.is_ok(), by_id.is_ok()];
        assert_eq!(
            done.iter().filter(|d| **d).count(),
            1,
            "round {round}: {by_name:?} {by_id:?}"
        );
        let err = by_name.err().or(by_id.err()).unwrap();
        assert!(matches!(err, AuthError::AlreadyRevoked(_)), "{err:?}");
    }
}

/// A name with a NUL in it (which no stored name has) finds nothing, and is not an error.
async fn names_with_a_nul_find_nothing<B: Both>(b: &B) {
    let store = b.open().await;
    let hash = PasswordHash::new("a good long password").unwrap();
    store
        .add_user("alice", Role::Admin, &hash, T0)
        .await
        .unwrap();
    store
        .create_token("ci", Role::Ingest, None, T0)
        .await
        .unwrap();
    assert!(store.user_by_name("alice\0").await.unwrap().is_none());
    let r = store.set_password_hash("alice\0", &hash).await;
    assert!(matches!(r, Err(AuthError::NoUser(_))), "{r:?}");
    let r = store.revoke_token("ci\0", T0).await;
    assert!(matches!(r, Err(AuthError::NoToken(_))), "{r:?}");
    assert!(store.token_by_hash("\0", T0).await.unwrap().is_none());
    assert_eq!(store.end_sessions_of("alice\0", T0).await.unwrap(), 0);
    let r = store.add_user("bob\0", Role::Viewer, &hash, T0).await;
    assert!(matches!(r, Err(AuthError::Input(_))), "{r:?}");
}

/// Users are listed by name whatever its case, in byte order otherwise (`_` before letters).
async fn users_come_by_name_in_any_case<B: Both>(b: &B) {
    let store = b.open().await;
    let hash = PasswordHash::new("a good long password").unwrap();
    for name in ["bob", "Alice", "carol", "_ops", "Zed", "alice.b", "0day"] {
        store.add_user(name, Role::Viewer, &hash, T0).await.unwrap();
    }
    let names: Vec<String> = store
        .users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.name)
        .collect();
    assert_eq!(
        names,
        ["0day", "_ops", "Alice", "alice.b", "bob", "carol", "Zed"]
    );
}

#[test]
fn passwords_are_checked_with_each_hashs_own_parameters() {
    use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _};
    let default = PasswordHash::new("a good long password").unwrap();
    // Older or other parameters, which a stored hash carries with it.
    let small = argon2::Argon2::new(
        argon2::Algorithm::Argon2i,
        argon2::Version::V0x10,
        argon2::Params::new(64, 3, 1, Some(20)).unwrap(),
    )
    .hash_password_with_salt(b"a good long password", b"sixteen byte salt")
    .unwrap();
    let small = PasswordHash::from_phc(small.to_string());
    for hash in [&default, &small] {
        let phc = argon2::password_hash::phc::PasswordHash::new(hash.as_phc()).unwrap();
        for (password, right) in [
            ("a good long password", true),
            ("a good long passwore", false),
        ] {
            // As Argon2's own verifier says.
            let reference = argon2::Argon2::default()
                .verify_password(password.as_bytes(), &phc)
                .is_ok();
            assert_eq!(reference, right);
            assert_eq!(hash.verify(password), right, "{}", hash.as_phc());
        }
    }
    for broken in [
        "",
        "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA",
        "$md5$xyz",
        "$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo",
    ] {
        assert!(
            !PasswordHash::from_phc(broken.to_owned()).verify("a good long password"),
            "{broken}"
        );
    }
}
