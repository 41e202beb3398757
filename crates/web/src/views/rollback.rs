//! The page confirming a component's rollback, and what the rollback did once run.

use askama::Template;

/// What a rollback did, as the page shows it.
#[derive(Debug, Clone, Default)]
pub struct RollbackShown {
    /// Whether it succeeded.
    pub ok: bool,
    /// How long it took, in milliseconds.
    pub duration_ms: u64,
    /// Why it failed, in plain words.
    pub error: Option<String>,
    /// The program's exit code, when it exited by itself.
    pub exit_code: Option<i32>,
    /// The webhook's HTTP status, when it answered.
    pub status: Option<u16>,
    /// The program's standard output.
    pub stdout: Option<String>,
    /// The program's standard error.
    pub stderr: Option<String>,
    /// The webhook's answer.
    pub body: Option<String>,
}

/// The rollback page of a component (`rollback.html`): what the rollback does and the form
/// confirming it, or what it did.
#[derive(Template)]
#[template(path = "rollback.html", whitespace = "minimize")]
pub struct RollbackPage {
    css: String,
    /// The component's id (the form posts to its path).
    pub component: String,
    /// The component's name.
    pub name: String,
    /// What the rollback does, in words: "runs …", "calls the webhook …".
    pub what: String,
    /// How long it may run, in words.
    pub timeout: String,
    /// Why it could not be run.
    pub error: Option<String>,
    /// What it did, once run.
    pub outcome: Option<RollbackShown>,
    /// Who looks: the session strip, and the token of the form.
    pub viewer: super::Viewer,
}

impl RollbackPage {
    /// The page of component `component` (`name`) whose rollback does `what` within `timeout`,
    /// as `viewer` sees it.
    pub fn new(
        component: String,
        name: String,
        what: String,
        timeout: String,
        viewer: super::Viewer,
    ) -> RollbackPage {
        RollbackPage {
            css: super::stylesheet(),
            component,
            name,
            what,
            timeout,
            error: None,
            outcome: None,
            viewer,
        }
    }
}
