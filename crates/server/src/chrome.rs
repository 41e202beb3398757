//! The parts of a page that depend on who looks at it. Pages are rendered from data shared by
//! every visitor; they mark the visitor's parts with HTML comments (which no escaped string can
//! make, as `<` is always escaped), and [`personalize`] fills them in for each response:
//!
//! - `<!--mhd:session-->`: who is signed in, with a sign-out button, or that nobody needs to;
//! - `<!--mhd:head-->`: the CSRF token for the page's script (`<meta name="csrf-token">`);
//! - `<!--mhd:csrf-->`: the CSRF token as a hidden form field;
//! - `<!--mhd:need operator-->…<!--mhd:end-->` (and `admin`): shown only to those roles;
//! - `<!--mhd:local-->…<!--mhd:end-->`: shown only when nobody signs in.

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use mhd_core::auth::Access;
use mhd_web::charts::escape;

use crate::security::{Caller, Who};

/// What every marker starts with.
const MARK: &str = "<!--mhd:";

/// The largest page personalized (larger bodies are not pages).
const PAGE_LIMIT: usize = 32 * 1024 * 1024;

/// Fills in the visitor's parts of an HTML response (see the module's documentation).
pub async fn personalize(request: Request, next: Next) -> Response {
    let who = request
        .extensions()
        .get::<Who>()
        .cloned()
        .unwrap_or_default();
    let response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    // An encoded page was filled in before it was compressed (crate::pagecache).
    let encoded = response.headers().contains_key(header::CONTENT_ENCODING);
    if !is_html || encoded {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let Ok(bytes) = to_bytes(body, PAGE_LIMIT).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let html = match std::str::from_utf8(&bytes) {
        Ok(html) if html.contains(MARK) => html,
        // Nothing to fill in: the body as it came.
        _ => return Response::from_parts(parts, Body::from(bytes)),
    };
    let out = fill(html, &who.caller);
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(out))
}

/// `html` with the visitor's parts filled in for `caller`.
pub fn fill(html: &str, caller: &Caller) -> String {
    let csrf = match caller {
        Caller::User { csrf, .. } => Some(csrf.as_str()),
        _ => None,
    };
    let mut out = String::with_capacity(html.len() + 512);
    let mut rest = html;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let Some(close) = tail.find("-->") else {
            out.push_str(tail);
            return out;
        };
        let marker = &tail[MARK.len()..close];
        let after = &tail[close + 3..];
        rest = after;
        match marker {
            "session" => out.push_str(&session_box(caller)),
            "head" => {
                if let Some(t) = csrf {
                    out.push_str(&format!(
                        "<meta name=\"csrf-token\" content=\"{}\">",
                        escape(t)
                    ));
                }
            }
            "csrf" => {
                if let Some(t) = csrf {
                    out.push_str(&format!(
                        "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                        crate::security::CSRF_FIELD,
                        escape(t)
                    ));
                }
            }
            "end" => {}
            block => {
                let shown = match block {
                    "need operator" => caller.may(Access::Operate),
                    "need admin" => caller.may(Access::Admin),
                    "local" => *caller == Caller::Local,
                    _ => true,
                };
                if !shown {
                    rest = skip_block(after);
                }
            }
        }
    }
    out.push_str(rest);
    out
}

/// What follows the end of the block whose inside starts `inside` (blocks may nest).
fn skip_block(inside: &str) -> &str {
    let mut depth = 1usize;
    let mut rest = inside;
    while let Some(at) = rest.find(MARK) {
        let tail = &rest[at..];
        let Some(close) = tail.find("-->") else {
            return "";
        };
        let marker = &tail[MARK.len()..close];
        rest = &tail[close + 3..];
        match marker {
            "end" => {
                depth -= 1;
                if depth == 0 {
                    return rest;
                }
            }
            "session" | "head" | "csrf" => {}
            _ => depth += 1,
        }
    }
    ""
}

/// Who is signed in, and the sign-out button; or that nobody needs to sign in.
fn session_box(caller: &Caller) -> String {
    match caller {
        Caller::User {
            name, role, csrf, ..
        } => format!(
            "<div class=\"who\"><span>Signed in as <strong>{}</strong> ({})</span>\
             <form class=\"inl\" method=\"post\" action=\"/signout\">\
             <input type=\"hidden\" name=\"{}\" value=\"{}\">\
             <button type=\"submit\">Sign out</button></form></div>",
            escape(name),
            role.as_str(),
            crate::security::CSRF_FIELD,
            escape(csrf)
        ),
        Caller::Token { name, role, .. } => format!(
            "<div class=\"who\"><span>Token <strong>{}</strong> ({})</span></div>",
            escape(name),
            role.as_str()
        ),
        Caller::Local => "<div class=\"who\"><span class=\"note\" data-single-user>Single-user \
             mode: nobody needs to sign in on this machine (add a user with \
             <code>mhd user add</code> to require it).</span></div>"
            .to_owned(),
        Caller::Anonymous => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mhd_core::auth::Role;

    fn user(role: Role) -> Caller {
        Caller::User {
            name: "<b>al</b>".into(),
            role,
            session: 1,
            csrf: "tok".into(),
        }
    }

    #[test]
    fn blocks_show_by_role_and_tokens_fill_forms() {
        let page = "<head><!--mhd:head--></head><nav><!--mhd:session--></nav>\
            <!--mhd:need operator--><form><!--mhd:csrf--><!--mhd:local--><i>by</i><!--mhd:end--><button>Ack</button></form><!--mhd:end-->\
            <!--mhd:need admin--><a>Roll back</a><!--mhd:end--><!--mhd:local--><input name=by><!--mhd:end-->end";
        let viewer = fill(page, &user(Role::Viewer));
        assert!(
            !viewer.contains("Ack") && !viewer.contains("Roll back") && !viewer.contains("name=by")
        );
        assert!(viewer.contains("Signed in as <strong>&lt;b&gt;al&lt;/b&gt;</strong> (viewer)"));
        assert!(viewer.contains("<meta name=\"csrf-token\" content=\"tok\">"));
        assert!(viewer.ends_with("end"));
        let op = fill(page, &user(Role::Operator));
        assert!(op.contains(
            "<form><input type=\"hidden\" name=\"csrf_token\" value=\"tok\"><button>Ack</button>"
        ));
        assert!(!viewer.contains("<button>Ack</button></form>") && !viewer.contains("<i>by</i>"));
        assert!(!op.contains("Roll back"));
        let admin = fill(page, &user(Role::Admin));
        assert!(admin.contains("Roll back") && !admin.contains("name=by"));
        let local = fill(page, &Caller::Local);
        assert!(local.contains("Ack") && local.contains("Roll back") && local.contains("name=by"));
        assert!(local.contains("Single-user mode") && !local.contains("csrf"));
        assert!(!local.contains("<!--mhd:"));
    }
}
