//! `kind = "email"`: a plain-text e-mail over SMTP.
//!
//! `tls` is `starttls` (the default: the connection must be upgraded with STARTTLS, or nothing
//! is sent), `tls` (TLS from the first byte) or `none` (plain text, refused at start unless the
//! server is on this machine: `localhost` or a loopback address). The server is `host:port` or
//! `smtp://host:port`; the port defaults to 587, or 465 with `tls`. With `username` the client
//! authenticates (PLAIN or LOGIN, whichever the server offers) with the password secret.
//! The subject is `[MHD] CRITICAL: <title>` for a firing and `[MHD] RESOLVED: <title>` for a
//! resolution. A 5xx answer fails at once; a 4xx, a timeout or a refused connection is tried
//! again.

use std::net::IpAddr;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, Mailboxes, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::{Credentials, Mechanism};
use lettre::transport::smtp::client::{Certificate, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use mhd_store::outbox::DeliveryEvent;
use serde_json::Value;

use super::{
    AlertDoc, NotifierOptions, SecretValue, SendContext, SendError, dashboard_url, one_line,
    truncate,
};

/// The settings of an e-mail channel, as the plan gives them (the password read already).
#[derive(Debug)]
pub struct EmailSettings<'a> {
    /// `host:port` or `smtp://host:port`.
    pub server: &'a str,
    /// `starttls`, `tls` or `none`.
    pub tls: &'a str,
    /// The user name to authenticate with.
    pub username: Option<&'a str>,
    /// The password.
    pub password: Option<SecretValue>,
    /// The sender.
    pub from: &'a str,
    /// The recipients.
    pub to: &'a [String],
}

/// An e-mail channel.
pub struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Mailboxes,
}

impl std::fmt::Debug for Email {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Email")
            .field("from", &self.from.to_string())
            .field("to", &self.to.to_string())
            .finish_non_exhaustive()
    }
}

/// The server's host and port, from `host:port`, `smtp://host:port` or `[::1]:port`.
fn host_port(server: &str, default_port: u16) -> Option<(String, u16)> {
    let rest = server.trim();
    let rest = rest.strip_prefix("smtp://").unwrap_or(rest);
    let rest = rest.trim_end_matches('/');
    if rest.is_empty() || rest.contains('/') || rest.contains('@') {
        return None;
    }
    let (host, port) = if let Some(inner) = rest.strip_prefix('[') {
        let (host, after) = inner.split_once(']')?;
        let port = match after.strip_prefix(':') {
            Some(p) => p.parse().ok()?,
            None if after.is_empty() => default_port,
            None => return None,
        };
        (host.to_owned(), port)
    } else {
        match rest.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') => (h.to_owned(), p.parse().ok()?),
            Some(_) => return None,
            None => (rest.to_owned(), default_port),
        }
    };
    (!host.is_empty()).then_some((host, port))
}

/// Whether a host is this machine.
fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

impl Email {
    /// Checks the settings and builds the SMTP client; `owner` names the channel in the error.
    pub fn new(
        owner: &str,
        s: &EmailSettings<'_>,
        options: &NotifierOptions,
    ) -> Result<Email, String> {
        let mode = s.tls.trim();
        let default_port = match mode {
            "starttls" | "none" => 587,
            "tls" => 465,
            other => {
                return Err(format!(
                    "{owner}: tls {other:?}: expected \"starttls\", \"tls\" or \"none\""
                ));
            }
        };
        let (host, port) = host_port(s.server, default_port).ok_or_else(|| {
            format!(
                "{owner}: server {:?} is not host:port or smtp://host:port",
                s.server
            )
        })?;
        if mode == "none" && !is_loopback(&host) {
            return Err(format!(
                "{owner}: tls \"none\" sends mail and passwords in plain text: it is allowed only \
                 for a server on this machine (localhost), not {host:?}; use \"starttls\" or \"tls\""
            ));
        }
        let tls = if mode == "none" {
            Tls::None
        } else {
            let mut builder = TlsParameters::builder(host.clone());
            for pem in &options.smtp_root_certificates {
                let cert = Certificate::from_pem(pem.as_bytes()).map_err(|e| {
                    format!("{owner}: a trusted SMTP certificate is not valid PEM: {e}")
                })?;
                builder = builder.add_root_certificate(cert);
            }
            let params = builder
                .build_rustls()
                .map_err(|e| format!("{owner}: TLS settings for {host}: {e}"))?;
            if mode == "tls" {
                Tls::Wrapper(params)
            } else {
                Tls::Required(params)
            }
        };
        crate::http::install_crypto_provider();
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .tls(tls)
            .timeout(Some(options.timeout));
        match (s.username, &s.password) {
            (Some(user), Some(password)) => {
                builder = builder
                    .credentials(Credentials::new(
                        user.to_owned(),
                        password.expose().to_owned(),
                    ))
                    .authentication(vec![Mechanism::Plain, Mechanism::Login]);
            }
            (Some(_), None) => {
                return Err(format!(
                    "{owner}: username is given without a password (password_file or \
                     password_env)"
                ));
            }
            (None, Some(_)) => {
                return Err(format!("{owner}: a password is given without a username"));
            }
            (None, None) => {}
        }
        let from: Mailbox = s
            .from
            .parse()
            .map_err(|e| format!("{owner}: from {:?} is not an e-mail address: {e}", s.from))?;
        if s.to.is_empty() {
            return Err(format!("{owner}: to names no recipient"));
        }
        let mut to = Mailboxes::new();
        for (i, r) in s.to.iter().enumerate() {
            let m: Mailbox = r
                .parse()
                .map_err(|e| format!("{owner}: to[{i}] {r:?} is not an e-mail address: {e}"))?;
            to.push(m);
        }
        Ok(Email {
            transport: builder.build(),
            from,
            to,
        })
    }

    /// Sends one event.
    pub async fn send(
        &self,
        ctx: &SendContext<'_>,
        event: DeliveryEvent,
        alert: &Value,
    ) -> Result<(), SendError> {
        let doc = AlertDoc::from_value(alert).map_err(SendError::permanent)?;
        let message = self
            .message(subject(event, &doc))
            .header(ContentType::TEXT_PLAIN)
            .body(body(event, &doc, &ctx.options.public_url))
            .map_err(|e| SendError::permanent(format!("the e-mail could not be built: {e}")))?;
        self.deliver(message).await
    }
}

impl Email {
    /// Sends a scheduled report as an attachment (the stored document, read again from the
    /// store so every attempt sends the same bytes), with its link in the text.
    pub async fn send_report(
        &self,
        ctx: &SendContext<'_>,
        report: &super::ReportDoc,
    ) -> Result<(), SendError> {
        let stored = ctx
            .store
            .stored_report(report.id)
            .await
            .map_err(|e| SendError::transient(format!("the report could not be read: {e}")))?
            .ok_or_else(|| {
                SendError::permanent(format!("report {} is no longer stored", report.id))
            })?;
        let content_type = if report.format == "pdf" {
            "application/pdf"
        } else {
            "text/html; charset=utf-8"
        };
        let attachment = Attachment::new(report.file_name.clone()).body(
            stored.body,
            ContentType::parse(content_type)
                .map_err(|e| SendError::permanent(format!("content type: {e}")))?,
        );
        let text = format!(
            "{}\n\nThe report is attached ({}). It can also be downloaded from\n{}\n",
            report.title,
            report.file_name,
            report.url(&ctx.options.public_url)
        );
        let message = self
            .message(truncate(&one_line(&format!("[MHD] {}", report.title)), 200))
            .multipart(
                MultiPart::mixed()
                    .singlepart(SinglePart::plain(text))
                    .singlepart(attachment),
            )
            .map_err(|e| SendError::permanent(format!("the e-mail could not be built: {e}")))?;
        self.deliver(message).await
    }
}

impl Email {
    /// A message from the channel's sender to its recipients under `subject`.
    fn message(&self, subject: String) -> lettre::message::MessageBuilder {
        let mut builder = Message::builder().from(self.from.clone()).subject(subject);
        for m in self.to.iter() {
            builder = builder.to(m.clone());
        }
        builder
    }

    /// Sends `message`: an SMTP refusal that will not change (5xx) is permanent, the rest
    /// transient.
    async fn deliver(&self, message: Message) -> Result<(), SendError> {
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) => {
                let text = error_text(&e);
                if e.is_permanent() {
                    Err(SendError::permanent(text))
                } else {
                    Err(SendError::transient(text))
                }
            }
        }
    }
}

/// An SMTP error with its causes, on one line.
fn error_text(e: &lettre::transport::smtp::Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        source = s.source();
    }
    truncate(&one_line(&text), 300)
}

/// `[MHD] CRITICAL: <title>` or `[MHD] RESOLVED: <title>`, on one line.
pub fn subject(event: DeliveryEvent, alert: &AlertDoc) -> String {
    let word = match event {
        DeliveryEvent::Fired | DeliveryEvent::Report => alert.severity_word(),
        DeliveryEvent::Resolved => "RESOLVED".to_owned(),
    };
    truncate(
        &one_line(&format!("[MHD] {word}: {}", alert.title.trim())),
        200,
    )
}

/// The plain-text body.
pub fn body(event: DeliveryEvent, alert: &AlertDoc, public_url: &str) -> String {
    let mut out = String::new();
    let headline = match event {
        DeliveryEvent::Fired | DeliveryEvent::Report => {
            format!("{}: {}", alert.severity_word(), alert.title.trim())
        }
        DeliveryEvent::Resolved => format!("RESOLVED: {}", alert.title.trim()),
    };
    out.push_str(&headline);
    out.push_str("\n\n");
    if !alert.message.trim().is_empty() {
        out.push_str(alert.message.trim());
        out.push_str("\n\n");
    }
    let mut line = |label: &str, value: &str| {
        out.push_str(&format!("{label:<11}{value}\n"));
    };
    line("Severity:", &alert.severity);
    line(
        "Component:",
        alert.component.as_deref().unwrap_or("whole migration"),
    );
    line("Rule:", &alert.rule);
    if !alert.started_at.is_empty() {
        line("Started:", &alert.started_at);
    }
    if let Some(at) = &alert.fired_at {
        line("Fired:", at);
    }
    if let Some(at) = alert
        .resolved_at
        .as_ref()
        .filter(|_| event == DeliveryEvent::Resolved)
    {
        line("Resolved:", at);
    }
    if let Some(impact) = alert.impact_line() {
        line("Impact:", &impact);
    }
    if let Some(runbook) = alert.runbook.as_deref().filter(|r| !r.trim().is_empty()) {
        line("Runbook:", runbook);
    }
    line("Dashboard:", &dashboard_url(public_url, alert.id));
    out.push_str("\n-- \nSent by mhd, the migration health dashboard.\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_addresses_read_with_default_ports() {
        assert_eq!(
            host_port("smtp.example:25", 587),
            Some(("smtp.example".into(), 25))
        );
        assert_eq!(
            host_port("smtp://mail.example", 587),
            Some(("mail.example".into(), 587))
        );
        assert_eq!(host_port("[::1]:2525", 587), Some(("::1".into(), 2525)));
        assert_eq!(host_port("user@host:25", 587), None);
        assert_eq!(host_port("host:port", 587), None);
        assert!(is_loopback("127.0.0.1") && is_loopback("localhost") && is_loopback("::1"));
        assert!(!is_loopback("mail.example"));
    }

    #[test]
    fn plain_text_is_refused_for_a_remote_server() {
        let to = vec!["ops@example.org".to_owned()];
        let settings = EmailSettings {
            server: "mail.example:25",
            tls: "none",
            username: None,
            password: None,
            from: "mhd@example.org",
            to: &to,
        };
        let e = Email::new("channel \"mail\"", &settings, &NotifierOptions::default()).unwrap_err();
        assert!(e.starts_with("channel \"mail\": tls \"none\""), "{e}");
        let e = Email::new(
            "channel \"mail\"",
            &EmailSettings {
                tls: "ssl",
                ..settings
            },
            &NotifierOptions::default(),
        )
        .unwrap_err();
        assert_eq!(
            e,
            "channel \"mail\": tls \"ssl\": expected \"starttls\", \"tls\" or \"none\""
        );
    }

    #[test]
    fn the_subject_is_one_line() {
        let alert = AlertDoc {
            severity: "critical".into(),
            title: "Disk\r\nBcc: x@y".into(),
            ..AlertDoc::default()
        };
        assert_eq!(
            subject(DeliveryEvent::Fired, &alert),
            "[MHD] CRITICAL: Disk  Bcc: x@y"
        );
        assert_eq!(
            subject(DeliveryEvent::Resolved, &alert),
            "[MHD] RESOLVED: Disk  Bcc: x@y"
        );
    }
}
