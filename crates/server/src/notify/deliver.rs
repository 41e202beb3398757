//! Delivering: one worker per channel takes the outbox's due deliveries of its channel, one
//! attempt at a time within the channel's pace, and records each attempt.

use super::*;

/// Delivers: marks failed the deliveries of channels no longer in the plan, then spawns one
/// worker per channel, which resume the deliveries a previous run (or a previous leader) left
/// pending.
pub async fn run_workers(notifier: &Notifier) -> Result<Vec<JoinHandle<()>>, String> {
    let shared = notifier.shared.clone();
    let names: Vec<&str> = shared
        .channels
        .iter()
        .map(|c| c.config.name.as_str())
        .collect();
    let abandoned = shared
        .store
        .abandon_deliveries(&names, "the channel is no longer in the plan")
        .await
        .map_err(|e| format!("notifications: {e}"))?;
    if abandoned > 0 {
        tracing::warn!(
            deliveries = abandoned,
            "pending notifications of channels no longer in the plan were marked failed"
        );
    }
    // Deliveries claimed by the workers of a leader that died are due again shortly, once a
    // leader that only lost the lead has surely stopped its own (it looks every second).
    let released = shared
        .store
        .release_claims((shared.clock)() + CLAIM_GRACE)
        .await
        .map_err(|e| format!("notifications: {e}"))?;
    if released > 0 {
        tracing::info!(
            deliveries = released,
            "notifications being sent when the previous leader stopped are sent again"
        );
    }
    let pending = shared
        .store
        .pending_deliveries()
        .await
        .map_err(|e| format!("notifications: {e}"))?;
    for c in &shared.channels {
        let n = pending
            .iter()
            .find(|(name, _)| *name == c.config.name)
            .map_or(0, |(_, n)| *n);
        shared
            .pending
            .get_or_create(&ChannelLabels {
                channel: c.config.name.clone(),
            })
            .set(i64::try_from(n).unwrap_or(i64::MAX));
        if n > 0 {
            tracing::info!(
                channel = c.config.name.as_str(),
                pending = n,
                "resuming pending notifications"
            );
        }
    }
    Ok((0..shared.channels.len())
        .map(|i| tokio::spawn(worker(shared.clone(), i)))
        .collect())
}

/// The longest a worker sleeps without looking at the outbox (a safety net: enqueues wake it).
const IDLE_POLL: Duration = Duration::from_secs(30);

/// How long the claims of a previous leader's workers are kept when a server starts leading:
/// longer than a server that lost the lead takes to notice it and stop its workers.
const CLAIM_GRACE: Duration = Duration::from_secs(4);

/// One channel's delivery loop.
async fn worker(shared: Arc<Shared>, index: usize) {
    let channel = &shared.channels[index];
    let name = channel.config.name.as_str();
    let mut next_slot = tokio::time::Instant::now();
    loop {
        let now = (shared.clock)();
        // Held while this worker sends it: a replica that takes the lead meanwhile (this one
        // lost it but has not noticed yet) does not send it too; if this process dies, it is
        // due again when the hold ends.
        let hold = shared.options.timeout * 2 + shared.options.min_interval;
        match shared.store.claim_delivery(name, now, now + hold).await {
            Ok(Some(delivery)) => {
                tokio::time::sleep_until(next_slot).await;
                next_slot = tokio::time::Instant::now() + shared.options.min_interval;
                attempt(&shared, channel, delivery).await;
                refresh_pending(&shared, name).await;
            }
            Ok(None) => {
                let wait = match shared.store.next_due_at(name).await {
                    Ok(Some(at)) => Duration::try_from(at - (shared.clock)())
                        .unwrap_or(Duration::ZERO)
                        .clamp(Duration::from_millis(5), IDLE_POLL),
                    Ok(None) => IDLE_POLL,
                    Err(e) => {
                        tracing::error!(channel = name, "notification outbox: {e}");
                        Duration::from_secs(1)
                    }
                };
                tokio::select! {
                    () = channel.wake.notified() => {}
                    () = tokio::time::sleep(wait) => {}
                }
            }
            Err(e) => {
                tracing::error!(channel = name, "notification outbox: {e}");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

/// Sets the channel's pending gauge from the store.
async fn refresh_pending(shared: &Shared, name: &str) {
    if let Ok(pending) = shared.store.pending_deliveries().await {
        let n = pending
            .iter()
            .find(|(c, _)| c == name)
            .map_or(0, |(_, n)| *n);
        shared
            .pending
            .get_or_create(&ChannelLabels {
                channel: name.to_owned(),
            })
            .set(i64::try_from(n).unwrap_or(i64::MAX));
    }
}

/// Makes one attempt at a delivery and records its outcome.
async fn attempt(shared: &Shared, channel: &ChannelRuntime, delivery: Delivery) {
    let name = channel.config.name.as_str();
    let number = delivery.attempts.saturating_add(1);
    let ctx = SendContext {
        http: &shared.http,
        options: &shared.options,
        store: &shared.store,
        now: (shared.clock)(),
        channel: name,
        delivery: Some(delivery.id),
    };
    let result = match serde_json::from_str::<serde_json::Value>(&delivery.payload) {
        Ok(alert) => channel.send(&ctx, delivery.event, &alert).await,
        Err(e) => Err(SendError::permanent(format!(
            "the stored alert is unreadable: {e}"
        ))),
    };
    let now = (shared.clock)();
    let (outcome, label) = match result {
        Ok(()) => (Attempt::Sent { at: now }, "sent"),
        Err(e) => {
            let error = channel.redact(&e.message);
            if e.retry && number < shared.options.max_attempts {
                let wait = shared
                    .options
                    .backoff(number)
                    .max(e.retry_after.unwrap_or(Duration::ZERO));
                let next_at = now + wait;
                (Attempt::Retry { next_at, error }, "retry")
            } else {
                (Attempt::Failed { error }, "failed")
            }
        }
    };
    match &outcome {
        Attempt::Sent { .. } => tracing::info!(
            channel = name,
            alert_id = delivery.alert_id,
            event = delivery.event.as_str(),
            attempt = number,
            outcome = label,
            "notification sent"
        ),
        Attempt::Retry { next_at, error } => tracing::warn!(
            channel = name,
            alert_id = delivery.alert_id,
            event = delivery.event.as_str(),
            attempt = number,
            outcome = label,
            error = error.as_str(),
            retry_in_ms = i64::try_from((*next_at - now).whole_milliseconds()).unwrap_or(0),
            "notification not delivered; will try again"
        ),
        Attempt::Failed { error } => tracing::error!(
            channel = name,
            alert_id = delivery.alert_id,
            event = delivery.event.as_str(),
            attempt = number,
            outcome = label,
            error = error.as_str(),
            "notification failed; giving up"
        ),
    }
    shared
        .sent
        .get_or_create(&NotificationLabels {
            channel: name.to_owned(),
            outcome: label.to_owned(),
        })
        .inc();
    if let Err(e) = shared
        .store
        .record_attempt(delivery.id, number, &outcome)
        .await
    {
        tracing::error!(
            channel = name,
            alert_id = delivery.alert_id,
            "notification outbox: the attempt could not be recorded: {e}"
        );
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
