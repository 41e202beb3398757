//! The HTTP client shared by collectors and notification channels.
//!
//! TLS is rustls with the ring provider, installed as the process default on first use; the
//! certificates trusted are the system's. Every client has its own timeout, set per request by
//! the caller, and never follows redirects to another host's secrets (redirects are refused).

use std::sync::Once;
use std::time::Duration;

/// The `User-Agent` every request sends.
pub const USER_AGENT: &str = concat!("mhd/", env!("CARGO_PKG_VERSION"));

/// Installs ring as rustls's process-wide provider (once; later calls do nothing).
pub fn install_crypto_provider() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // An error means another provider is installed already, which serves as well.
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
}

/// A client whose requests time out after `timeout` (connect and whole request).
pub fn client(timeout: Duration) -> reqwest::Result<reqwest::Client> {
    install_crypto_provider();
    reqwest::Client::builder()
        .user_agent(USER_AGENT)
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
}
