//! The sign-in page, which also says who is signed in, and the short pages of refusals: the
//! site's stylesheet, no navigation, no script.

use askama::Template;

/// The sign-in page (`signin.html`); every string is escaped by the template.
#[derive(Template)]
#[template(path = "signin.html", whitespace = "minimize")]
pub struct SignInPage {
    /// The page's heading and title.
    pub heading: String,
    css: String,
    /// What went wrong, shown as an alert.
    pub error: Option<String>,
    /// A note, shown as a status.
    pub notice: Option<String>,
    /// Who is signed in (name, role), with the sign-out form.
    pub signed_in: Option<(String, &'static str)>,
    /// The session's CSRF token, for the sign-out form.
    pub csrf: String,
    /// Whether the page shows the sign-in form.
    pub form: bool,
    /// Where to go after signing in (a path of this site).
    pub next: String,
    /// The name given, kept in the form.
    pub name: String,
}

impl SignInPage {
    /// A page with `heading` and nothing else yet.
    pub fn new(heading: &str) -> SignInPage {
        SignInPage {
            heading: heading.to_owned(),
            css: super::stylesheet(),
            error: None,
            notice: None,
            signed_in: None,
            csrf: String::new(),
            form: false,
            next: "/".to_owned(),
            name: String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_form_keeps_the_name_escaped() {
        let mut page = SignInPage::new("Sign in");
        page.form = true;
        page.name = "<b>x".to_owned();
        page.error = Some("wrong & late".to_owned());
        let html = page.render().unwrap();
        assert!(html.contains("value=\"&#60;b&#62;x\"") || html.contains("value=\"&lt;b&gt;x\""));
        assert!(!html.contains("<b>x"));
        assert!(html.contains("wrong &#38; late") || html.contains("wrong &amp; late"));
    }
}
