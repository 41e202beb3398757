//! Sessions of signed-in browsers: live until ended, idle or past their lifetime, always with
//! their user's current role; and tokens live until revoked or expired.

use mhd_core::auth::Role;
use mhd_store::auth::PasswordHash;
use mhd_store::sessions::LIFETIME;
use time::{Duration, OffsetDateTime};

use crate::backends;
use crate::both::Both;
use mhd_store::prelude::*;

crate::on_both!("se"; a_session_lasts_until_ended_idle_or_expired);

fn t0() -> OffsetDateTime {
    time::macros::datetime!(2026-03-02 09:00 UTC)
}

async fn a_session_lasts_until_ended_idle_or_expired<B: Both>(b: &B) {
    let store = b.open().await;
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
