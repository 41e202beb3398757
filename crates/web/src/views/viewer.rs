//! Who looks at a page, and what they may do there: the templates render every personal part of
//! a page from a [`Viewer`] (the session strip, the CSRF token of the head and of the forms,
//! the actions only operators or admins may take, the parts shown only when nobody signs in).
//!
//! A page the same for every session of a role is rendered once with a viewer of that role
//! whose name and CSRF token are left open ([`Viewer::shared`]): the render ([`Page`]) records
//! where they go while it is written, and [`Page::fill`] joins a session's own name and token
//! in at those places, without reading the page again.

use std::fmt;
use std::sync::{Arc, Mutex};

use askama::Template;

use super::ViewError;

/// Who looks at a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Looker {
    /// Nobody needs to sign in (no user exists): the one local user, who may do everything.
    Local,
    /// Sign-in is required and nobody is signed in.
    Anonymous,
    /// A signed-in user, with a session (and its CSRF token).
    User,
    /// An API token.
    Token,
}

/// The viewer of a page: who looks, what they may do, and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// Who looks.
    pub looker: Looker,
    /// The user's or token's name (empty for nobody).
    pub name: Part,
    /// The role's name, such as `operator` (empty for nobody).
    pub role: &'static str,
    /// May act on alerts (acknowledge, silence, Jira): operators, admins and the local user.
    pub can_operate: bool,
    /// May administer, such as running a component's rollback: admins and the local user.
    pub can_admin: bool,
    /// The session's CSRF token, for the page's script and forms; `None` without a session.
    pub csrf: Option<Part>,
}

impl Viewer {
    /// The local user: nobody needs to sign in, and may do everything.
    pub fn local() -> Viewer {
        Viewer {
            looker: Looker::Local,
            name: Part::text(""),
            role: "",
            can_operate: true,
            can_admin: true,
            csrf: None,
        }
    }

    /// Nobody signed in where sign-in is required: sees the pages, may do nothing.
    pub fn anonymous() -> Viewer {
        Viewer {
            looker: Looker::Anonymous,
            can_operate: false,
            can_admin: false,
            ..Viewer::local()
        }
    }

    /// A signed-in user `name` with role `role` and the session's `csrf` token.
    pub fn user(name: &str, role: &'static str, can: (bool, bool), csrf: &str) -> Viewer {
        Viewer {
            looker: Looker::User,
            name: Part::text(name),
            role,
            can_operate: can.0,
            can_admin: can.1,
            csrf: Some(Part::text(csrf)),
        }
    }

    /// An API token `name` with role `role` (no session, so no CSRF token).
    pub fn token(name: &str, role: &'static str, can: (bool, bool)) -> Viewer {
        Viewer {
            looker: Looker::Token,
            name: Part::text(name),
            role,
            can_operate: can.0,
            can_admin: can.1,
            csrf: None,
        }
    }

    /// Every signed-in session of role `role` at once: the name and the CSRF token are left
    /// open, to be joined in by [`Page::fill`] for each session.
    pub fn shared(role: &'static str, can: (bool, bool)) -> Viewer {
        let marks = Arc::new(Marks::default());
        Viewer {
            looker: Looker::User,
            name: Part(Inner::Open(Slot::Name, Arc::clone(&marks))),
            role,
            can_operate: can.0,
            can_admin: can.1,
            csrf: Some(Part(Inner::Open(Slot::Csrf, marks))),
        }
    }

    /// Whether nobody needs to sign in.
    pub fn is_local(&self) -> bool {
        self.looker == Looker::Local
    }

    /// Whether a user is signed in (with a session to sign out of).
    pub fn is_user(&self) -> bool {
        self.looker == Looker::User
    }

    /// Whether an API token is used.
    pub fn is_token(&self) -> bool {
        self.looker == Looker::Token
    }

    /// The record of the open parts' places, when the viewer is [`Viewer::shared`].
    fn marks(&self) -> Option<&Arc<Marks>> {
        match &self.name.0 {
            Inner::Open(_, marks) => Some(marks),
            Inner::Text(_) => None,
        }
    }
}

/// A personal string of a page: the viewer's own text, or a place left open for each session
/// to fill ([`Viewer::shared`]). Shown escaped like every other string.
#[derive(Debug, Clone)]
pub struct Part(Inner);

#[derive(Debug, Clone)]
enum Inner {
    Text(String),
    Open(Slot, Arc<Marks>),
}

impl Part {
    fn text(s: &str) -> Part {
        Part(Inner::Text(s.to_owned()))
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Inner::Text(s) => f.write_str(s),
            Inner::Open(slot, marks) => {
                // Written nothing: the page's writer knows how far it is, which is where the
                // session's own text goes.
                marks.record(*slot);
                Ok(())
            }
        }
    }
}

/// Which open part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Name,
    Csrf,
}

/// Where the open parts went in the page being written: its length so far (kept by
/// [`Tracking`]) and the places recorded.
#[derive(Debug, Default)]
struct Marks {
    len: std::sync::atomic::AtomicUsize,
    at: Mutex<Vec<(usize, Slot)>>,
}

impl Marks {
    fn record(&self, slot: Slot) {
        let at = self.len.load(std::sync::atomic::Ordering::Relaxed);
        self.at
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((at, slot));
    }
}

/// A writer that keeps its length in [`Marks`], so an open part knows its place.
struct Tracking<'a> {
    out: String,
    marks: &'a Marks,
}

impl fmt::Write for Tracking<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.out.push_str(s);
        self.marks
            .len
            .store(self.out.len(), std::sync::atomic::Ordering::Relaxed);
        Ok(())
    }
}

/// A rendered page: its HTML, and where a shared viewer's open parts go (none for a viewer
/// with its own text).
#[derive(Debug, Clone, Default)]
pub struct Page {
    html: String,
    open: Vec<(usize, Slot)>,
}

impl Page {
    /// Renders `template`, which shows `viewer`, recording where its open parts go.
    pub(crate) fn render(template: &impl Template, viewer: &Viewer) -> Result<Page, ViewError> {
        let Some(marks) = viewer.marks() else {
            return Ok(Page {
                html: template.render()?,
                open: Vec::new(),
            });
        };
        marks.at.lock().unwrap_or_else(|e| e.into_inner()).clear();
        let mut out = Tracking {
            out: String::with_capacity(64 * 1024),
            marks,
        };
        template.render_into(&mut out)?;
        let open = std::mem::take(&mut *marks.at.lock().unwrap_or_else(|e| e.into_inner()));
        Ok(Page {
            html: out.out,
            open,
        })
    }

    /// The page's HTML as rendered (with a shared viewer's open parts empty).
    pub fn into_html(self) -> String {
        self.html
    }

    /// The page for the session of `name` with CSRF token `csrf`: their text, escaped, joined
    /// in at the places recorded.
    pub fn fill(&self, name: &str, csrf: &str) -> String {
        let name = escaped(name);
        let csrf = escaped(csrf);
        let mut out =
            String::with_capacity(self.html.len() + self.open.len() * name.len().max(csrf.len()));
        let mut from = 0;
        for &(at, slot) in &self.open {
            out.push_str(&self.html[from..at]);
            out.push_str(match slot {
                Slot::Name => &name,
                Slot::Csrf => &csrf,
            });
            from = at;
        }
        out.push_str(&self.html[from..]);
        out
    }
}

/// `s` escaped as the templates escape it.
fn escaped(s: &str) -> String {
    askama::filters::escape(s, askama::filters::Html)
        .map(|e| e.to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::page::{LiveChrome, PageKind, frame};
    use super::*;

    fn page(viewer: &Viewer) -> Page {
        let now = time::macros::datetime!(2025-03-03 12:00 UTC);
        frame(
            PageKind::Summary,
            Some(("<b>m</b>", 3, 10)),
            now,
            time::UtcOffset::UTC,
            LiveChrome::new(PageKind::Summary, "/live.js", viewer),
            Some("<p>section</p>".to_owned()),
            None,
        )
        .unwrap()
    }

    #[test]
    fn a_shared_render_filled_for_a_session_is_that_sessions_own_render() {
        let shared = page(&Viewer::shared("operator", (true, false)));
        for (name, csrf) in [("al", "tok1"), ("<b>\"bo\"</b>", "t&k'2"), ("", "")] {
            let own = page(&Viewer::user(name, "operator", (true, false), csrf)).into_html();
            assert_eq!(shared.fill(name, csrf), own, "{name}");
        }
        let own = page(&Viewer::user("<b>al</b>", "operator", (true, false), "tok")).into_html();
        assert!(
            own.contains("<meta name=\"csrf-token\" content=\"tok\">"),
            "{own}"
        );
        assert!(
            own.contains("Signed in as <strong>&#60;b&#62;al&#60;/b&#62;</strong> (operator)"),
            "{own}"
        );
        assert!(own.contains("<input type=\"hidden\" name=\"csrf_token\" value=\"tok\">"));
        // The name once, the token in the head and in the sign-out form.
        assert_eq!(shared.open.len(), 3);
    }

    #[test]
    fn the_session_strip_says_who_looks() {
        let local = page(&Viewer::local()).into_html();
        assert!(local.contains("data-single-user") && !local.contains("csrf"));
        let anonymous = page(&Viewer::anonymous()).into_html();
        assert!(!anonymous.contains("class=\"who\"") && !anonymous.contains("csrf"));
        let token = page(&Viewer::token("ci", "viewer", (false, false))).into_html();
        assert!(token.contains("Token <strong>ci</strong> (viewer)") && !token.contains("csrf"));
    }
}
