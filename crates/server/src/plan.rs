//! The plan in force: replaced whole when the plan file is reloaded, read by each part of the
//! server when it needs it; every replacement bumps a generation, on which the leader's work
//! (alert rules, collectors) restarts.

use std::sync::{Arc, PoisonError, RwLock};

use mhd_core::plan::Plan;
use tokio::sync::watch;

/// The plan in force, if any; cheap to clone (the clones share it).
#[derive(Clone)]
pub struct PlanInForce(Arc<Parts>);

/// What a [`PlanInForce`] holds.
struct Parts {
    /// The plan now.
    now: RwLock<Option<Arc<Plan>>>,
    /// Bumped whenever the plan is replaced.
    generation: watch::Sender<u64>,
}

impl PlanInForce {
    /// `plan` in force.
    pub fn new(plan: Option<Plan>) -> PlanInForce {
        PlanInForce(Arc::new(Parts {
            now: RwLock::new(plan.map(Arc::new)),
            generation: watch::Sender::new(0),
        }))
    }

    /// The plan in force now, if any.
    pub fn get(&self) -> Option<Arc<Plan>> {
        self.0
            .now
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Puts `plan` (checked already) in force and bumps the generation.
    pub fn replace(&self, plan: Option<Plan>) {
        *self.0.now.write().unwrap_or_else(PoisonError::into_inner) = plan.map(Arc::new);
        self.0.generation.send_modify(|g| *g += 1);
    }

    /// The generation: bumped by every [`PlanInForce::replace`].
    pub fn generation(&self) -> &watch::Sender<u64> {
        &self.0.generation
    }
}
