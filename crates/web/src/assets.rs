//! The pages' scripts, embedded in the binary: the charts' read-outs and live updates, loaded
//! by the pages under a name that carries a hash of their content (so a page names the script
//! it was built with), and the service worker. The server serves them; the static dashboard
//! file inlines the charts' part.

use std::sync::OnceLock;

/// The charts' read-outs (pointer, touch and keyboard), driven by the charts' data attributes:
/// part of [`LIVE_JS`], and inline in the static dashboard file.
pub const CHARTS_JS: &str = include_str!("../assets/charts.js");
/// [`CHARTS_JS`] as the static dashboard file inlines it: without its comment lines and
/// indentation (the file is meant to stay small).
pub fn charts_js_inline() -> &'static str {
    static JS: OnceLock<String> = OnceLock::new();
    JS.get_or_init(|| {
        CHARTS_JS
            .lines()
            .map(str::trim_start)
            .filter(|l| !l.is_empty() && !l.starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n")
    })
}

/// The pages' script: the charts' read-outs, live updates, reconnection, preferences,
/// notifications.
pub const LIVE_JS: &str = concat!(
    include_str!("../assets/charts.js"),
    include_str!("../assets/live.js")
);
/// The service worker: the last seen pages when offline.
pub const SW_JS: &str = include_str!("../assets/sw.js");

/// 64-bit FNV-1a of `bytes`: enough to tell two builds' assets apart.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The script's file name, `live.<hash>.js`, computed once.
pub fn live_js_name() -> &'static str {
    static NAME: OnceLock<String> = OnceLock::new();
    NAME.get_or_init(|| format!("live.{:016x}.js", fnv1a(LIVE_JS.as_bytes())))
}

/// The path pages load the script from: `/assets/live.<hash>.js`.
pub fn live_js_path() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| format!("/assets/{}", live_js_name()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_name_carries_its_content_hash() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        let path = live_js_path();
        assert!(path.starts_with("/assets/live.") && path.ends_with(".js"));
        assert_eq!(path.len(), "/assets/live.".len() + 16 + ".js".len());
    }
}
