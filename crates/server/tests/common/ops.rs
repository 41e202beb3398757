//! Operations for the tests to store: `op("sales").at(t).failed("disk full").build()`.

use mhd_core::{NewOperation, System};
use time::OffsetDateTime;

/// An operation on `dataset`: by default a successful `migration` named `migrate` of component
/// `storage` on the new system at [`super::NOW`], taking 12 ms.
pub fn op(dataset: &str) -> Op {
    let mut o = NewOperation::new(super::NOW, "migration", "migrate");
    o.dataset_name = Some(dataset.to_owned());
    o.component = Some("storage".to_owned());
    o.system = Some(System::New);
    o.duration_ms = Some(12.0);
    Op(o)
}

/// An operation being built; [`Op::build`] gives it to the store.
#[derive(Debug, Clone)]
#[must_use]
pub struct Op(NewOperation);

impl Op {
    /// When it happened.
    pub fn at(mut self, at: OffsetDateTime) -> Op {
        self.0.timestamp = at;
        self
    }

    /// Its kind (`metric_type`).
    pub fn kind(mut self, metric_type: &str) -> Op {
        self.0.metric_type = metric_type.to_owned();
        self
    }

    /// Its name (`operation`).
    pub fn named(mut self, operation: &str) -> Op {
        self.0.operation = operation.to_owned();
        self
    }

    /// Its component.
    pub fn component(mut self, component: &str) -> Op {
        self.0.component = Some(component.to_owned());
        self
    }

    /// Its system, if known.
    pub fn system(mut self, system: Option<System>) -> Op {
        self.0.system = system;
        self
    }

    /// How long it took, in milliseconds.
    pub fn duration(mut self, ms: f64) -> Op {
        self.0.duration_ms = Some(ms);
        self
    }

    /// Failed, saying `why`.
    pub fn failed(mut self, why: &str) -> Op {
        self.0.success = false;
        self.0.error_message = Some(why.to_owned());
        self
    }

    /// Failed saying `why` when `failed` is true; as it was otherwise.
    pub fn failed_if(self, failed: bool, why: &str) -> Op {
        if failed { self.failed(why) } else { self }
    }

    /// The operation.
    pub fn build(self) -> NewOperation {
        self.0
    }
}

impl From<Op> for NewOperation {
    fn from(op: Op) -> NewOperation {
        op.0
    }
}

/// The operations of a store seen at [`super::SATURDAY`]: `sales` migrated 2 minutes before,
/// `orders` failed 3 minutes before ("disk full"), `stock` started 1 minute before (in flight),
/// and `old` migrated 3 days before.
pub fn around_saturday() -> Vec<NewOperation> {
    use time::Duration;
    let at = |d: Duration| super::SATURDAY - d;
    vec![
        op("sales").at(at(Duration::minutes(2))).build(),
        op("orders")
            .at(at(Duration::minutes(3)))
            .failed("disk full")
            .build(),
        op("stock")
            .at(at(Duration::minutes(1)))
            .kind("migration_start")
            .build(),
        op("old").at(at(Duration::days(3))).build(),
    ]
}
