//! Operations: one recorded operation, the row of the single-user store (DESIGN §2).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::limits;

/// Which side of the migration an operation ran on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum System {
    /// The system being migrated away from.
    Old,
    /// The system being migrated to.
    New,
}

impl System {
    /// The name used in storage, JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            System::Old => "old",
            System::New => "new",
        }
    }
}

impl std::str::FromStr for System {
    type Err = OperationError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "old" => Ok(System::Old),
            "new" => Ok(System::New),
            other => Err(OperationError::field(
                "system",
                format!("must be \"old\" or \"new\", not {other:?}"),
            )),
        }
    }
}

/// Metric types that carry the migration's state (DESIGN §2); every other type is shown as is.
pub mod kind {
    /// A dataset's migration has started.
    pub const MIGRATION_START: &str = "migration_start";
    /// An attempt to migrate a dataset.
    pub const MIGRATION: &str = "migration";
    /// A migrated dataset was rolled back.
    pub const ROLLBACK: &str = "rollback";
    /// A data-integrity check of a dataset.
    pub const VERIFICATION: &str = "verification";
    /// MDM's registration of a dataset.
    pub const DATASET_REGISTER: &str = "dataset_register";
}

/// An operation to be stored: what `mhd record`, `mhd ingest operations`, the API and imports
/// produce. The store adds the id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewOperation {
    /// When the operation happened (UTC).
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    /// What kind of operation: `migration`, `rollback`, `dataset_register`, ….
    pub metric_type: String,
    /// The operation's name.
    pub operation: String,
    /// The dataset it concerns, if any.
    #[serde(default)]
    pub dataset_name: Option<String>,
    /// The component it concerns, if any.
    #[serde(default)]
    pub component: Option<String>,
    /// Old or new system, if known.
    #[serde(default)]
    pub system: Option<System>,
    /// How long it took, in milliseconds.
    #[serde(default)]
    pub duration_ms: Option<f64>,
    /// Whether it succeeded (default true).
    #[serde(default = "yes")]
    pub success: bool,
    /// Rows it processed.
    #[serde(default)]
    pub row_count: Option<i64>,
    /// Why it failed.
    #[serde(default)]
    pub error_message: Option<String>,
    /// Free-form details: a JSON object, or a string kept as it came when it was not JSON.
    #[serde(default)]
    pub metadata: Option<serde_json::Value>,
    /// Identity of an imported row, so importing the same source twice adds nothing.
    #[serde(skip)]
    pub import_key: Option<String>,
}

fn yes() -> bool {
    true
}

/// A stored operation.
#[derive(Debug, Clone, PartialEq)]
pub struct Operation {
    /// The store's id.
    pub id: i64,
    /// Everything else, as recorded.
    pub op: NewOperation,
}

/// A stored operation as it is sent: its id, then the fields it was recorded with.
#[derive(Serialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Operation))]
struct OperationJson<'a> {
    /// The store's id.
    id: i64,
    /// When the operation happened (UTC); always set (a record sent without one took the time
    /// it was received).
    #[serde(with = "time::serde::rfc3339")]
    timestamp: OffsetDateTime,
    /// What kind of operation: `migration`, `rollback`, `dataset_register`, ….
    metric_type: &'a str,
    /// The operation's name.
    operation: &'a str,
    /// The dataset it concerns, if any.
    dataset_name: Option<&'a str>,
    /// The component it concerns, if any.
    component: Option<&'a str>,
    /// Old or new system, if known.
    system: Option<System>,
    /// How long it took, in milliseconds.
    duration_ms: Option<f64>,
    /// Whether it succeeded.
    success: bool,
    /// Rows it processed.
    row_count: Option<i64>,
    /// Why it failed.
    error_message: Option<&'a str>,
    /// Free-form details: an object as it was recorded, or text for an imported operation
    /// whose details were not JSON.
    #[cfg_attr(feature = "openapi", schema(schema_with = metadata_schema))]
    metadata: Option<&'a serde_json::Value>,
}

/// The schema of a stored operation's `metadata`: free-form, an object or (imported) text.
#[cfg(feature = "openapi")]
fn metadata_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{
        AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, Type,
    };
    let one_of = OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .additional_properties(Some(AdditionalProperties::FreeForm(true))),
        )
        .item(ObjectBuilder::new().schema_type(Type::String))
        .item(ObjectBuilder::new().schema_type(Type::Null))
        .description(Some(
            "Free-form details: an object as it was recorded, or text for an imported \
             operation whose details were not JSON; null when none.",
        ))
        .build();
    Schema::OneOf(one_of)
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Operation {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        <OperationJson<'static> as utoipa::PartialSchema>::schema()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Operation {
    fn name() -> std::borrow::Cow<'static, str> {
        <OperationJson<'static> as utoipa::ToSchema>::name()
    }

    fn schemas(
        schemas: &mut Vec<(
            String,
            utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
        )>,
    ) {
        <OperationJson<'static> as utoipa::ToSchema>::schemas(schemas);
    }
}

impl Serialize for Operation {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let op = &self.op;
        OperationJson {
            id: self.id,
            timestamp: op.timestamp,
            metric_type: &op.metric_type,
            operation: &op.operation,
            dataset_name: op.dataset_name.as_deref(),
            component: op.component.as_deref(),
            system: op.system,
            duration_ms: op.duration_ms,
            success: op.success,
            row_count: op.row_count,
            error_message: op.error_message.as_deref(),
            metadata: op.metadata.as_ref(),
        }
        .serialize(serializer)
    }
}

/// A field of an operation that is not acceptable, with the field's name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {message}")]
pub struct OperationError {
    /// The offending field.
    pub field: &'static str,
    /// What is wrong with it.
    pub message: String,
}

impl OperationError {
    /// An error about one field.
    pub fn field(field: &'static str, message: impl Into<String>) -> Self {
        OperationError {
            field,
            message: message.into(),
        }
    }
}

impl NewOperation {
    /// A successful operation of the given type and name at the given time, with nothing else set.
    pub fn new(timestamp: OffsetDateTime, metric_type: &str, operation: &str) -> Self {
        NewOperation {
            timestamp,
            metric_type: metric_type.to_owned(),
            operation: operation.to_owned(),
            dataset_name: None,
            component: None,
            system: None,
            duration_ms: None,
            success: true,
            row_count: None,
            error_message: None,
            metadata: None,
            import_key: None,
        }
    }

    /// Checks the rules every stored operation obeys, naming the first field that breaks one.
    ///
    /// Rules (the input limits of [`crate::limits`]): `metric_type` and `operation` are
    /// non-empty names; `dataset_name` and `component` are names too; names are at most
    /// [`MAX_NAME_BYTES`](crate::limits::MAX_NAME_BYTES) without control characters;
    /// `error_message` (and metadata kept as text) at most
    /// [`MAX_TEXT_BYTES`](crate::limits::MAX_TEXT_BYTES) without NUL; `duration_ms` is finite
    /// and not negative; `row_count` is not negative; `metadata` is an object (or, for imports,
    /// a string); the timestamp lies between years 1970 and 9999. How far in the future the
    /// timestamp may be depends on when it is received: [`crate::limits::TimeLimits`].
    pub fn validate(&self) -> Result<(), OperationError> {
        let name = |field: &'static str, v: &str| {
            limits::check_name(v, true).map_err(|m| OperationError::field(field, m))
        };
        let text = |field: &'static str, v: &str| {
            limits::check_text(v).map_err(|m| OperationError::field(field, m))
        };
        name("metric_type", &self.metric_type)?;
        name("operation", &self.operation)?;
        if let Some(v) = &self.dataset_name {
            name("dataset_name", v)?;
        }
        if let Some(v) = &self.component {
            name("component", v)?;
        }
        if let Some(v) = &self.error_message {
            text("error_message", v)?;
        }
        if let Some(d) = self.duration_ms
            && (!d.is_finite() || d < 0.0)
        {
            return Err(OperationError::field(
                "duration_ms",
                format!("must be a finite number of milliseconds ≥ 0, not {d}"),
            ));
        }
        if let Some(r) = self.row_count
            && r < 0
        {
            return Err(OperationError::field(
                "row_count",
                format!("must be ≥ 0, not {r}"),
            ));
        }
        match &self.metadata {
            None | Some(serde_json::Value::Object(_)) => {}
            Some(serde_json::Value::String(s)) if self.import_key.is_some() => text("metadata", s)?,
            Some(_) => return Err(OperationError::field("metadata", "must be a JSON object")),
        }
        let year = self.timestamp.year();
        if !(1970..=9999).contains(&year) {
            return Err(OperationError::field(
                "timestamp",
                format!("year {year} is outside 1970–9999"),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn op() -> NewOperation {
        NewOperation::new(datetime!(2025-01-06 10:00 UTC), "migration", "migrate")
    }

    #[test]
    fn a_plain_operation_is_valid() {
        assert_eq!(op().validate(), Ok(()));
    }

    #[test]
    fn each_rule_names_its_field() {
        type Breaker = fn(&mut NewOperation);
        let cases: Vec<(&str, Breaker)> = vec![
            ("metric_type", |o| o.metric_type = " ".into()),
            ("operation", |o| o.operation = String::new()),
            ("dataset_name", |o| o.dataset_name = Some("a\0b".into())),
            ("component", |o| {
                o.component = Some("x".repeat(limits::MAX_NAME_BYTES + 1))
            }),
            ("dataset_name", |o| o.dataset_name = Some("a\tb".into())),
            ("error_message", |o| o.error_message = Some("a\0b".into())),
            ("duration_ms", |o| o.duration_ms = Some(-1.0)),
            ("duration_ms", |o| o.duration_ms = Some(f64::NAN)),
            ("row_count", |o| o.row_count = Some(-5)),
            ("metadata", |o| o.metadata = Some(serde_json::json!([1, 2]))),
            ("metadata", |o| o.metadata = Some(serde_json::json!("text"))),
            ("timestamp", |o| {
                o.timestamp = datetime!(1969-12-31 0:00 UTC)
            }),
        ];
        for (field, break_it) in cases {
            let mut o = op();
            break_it(&mut o);
            assert_eq!(o.validate().unwrap_err().field, field);
        }
    }

    #[test]
    fn imported_metadata_may_be_a_string() {
        let mut o = op();
        o.import_key = Some("mdm:1".into());
        o.metadata = Some(serde_json::json!("{'a': datetime(2025)}"));
        assert_eq!(o.validate(), Ok(()));
    }

    #[test]
    fn system_parses_only_old_and_new() {
        assert_eq!("old".parse::<System>().unwrap(), System::Old);
        assert_eq!("new".parse::<System>().unwrap(), System::New);
        assert!("NEW".parse::<System>().is_err());
    }
}
