//! The query string of a request read strictly, for the API and the pages alike: a parameter
//! the route does not take, or one given twice, is refused with a message naming it, in the
//! API's error shape.

use axum::extract::rejection::QueryRejection;

use crate::error::ApiError;

/// The query parameters of a route read into `T` (a struct of `Option<String>` fields, say,
/// with `#[serde(deny_unknown_fields)]`), answering 400 in the API's shape as [`params`] does:
/// a parameter `T` has no field for is unknown, naming those it has, and one given twice is
/// refused. The values are left to the handler, whose messages name the parameter.
#[derive(Debug)]
pub struct Query<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for Query<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, ApiError> {
        let query = parts.uri.query().unwrap_or_default();
        let unreadable = |e: serde_urlencoded::de::Error| {
            ApiError::bad_request(format!(
                "query string: Failed to deserialize query string: {e}"
            ))
        };
        let pairs: Params = serde_urlencoded::from_str(query).map_err(unreadable)?;
        check_names(&pairs, field_names::<T>())?;
        serde_urlencoded::from_str(query)
            .map(Query)
            .map_err(unreadable)
    }
}

/// The names of the fields `T` deserializes (a struct's, as serde names them), read from its
/// `Deserialize` implementation so that no second list is kept beside the struct.
fn field_names<T: serde::de::DeserializeOwned>() -> &'static [&'static str] {
    use serde::de::{self, Deserializer, Visitor};

    /// A deserializer that only records the fields of the struct asked of it.
    struct Fields<'a>(&'a mut &'static [&'static str]);

    impl<'de> Deserializer<'de> for Fields<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = fields;
            Err(de::Error::custom("fields read"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
            option unit unit_struct newtype_struct seq tuple tuple_struct map enum identifier
            ignored_any
        }
    }

    let mut fields: &'static [&'static str] = &[];
    let _ = T::deserialize(Fields(&mut fields));
    fields
}

/// Refuses a parameter not in `known`, or one given twice, naming it.
fn check_names(pairs: &Params, known: &[&str]) -> Result<(), ApiError> {
    for (name, _) in pairs {
        if !known.contains(&name.as_str()) {
            let known = if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            };
            return Err(ApiError::bad_request(format!(
                "parameter `{name}`: unknown (this route takes: {known})"
            )));
        }
    }
    let mut seen: Vec<&str> = pairs.iter().map(|(n, _)| n.as_str()).collect();
    seen.sort_unstable();
    if let Some(w) = seen.windows(2).find(|w| w[0] == w[1]) {
        return Err(ApiError::bad_request(format!(
            "parameter `{}`: given more than once",
            w[0]
        )));
    }
    Ok(())
}

/// The parameters of a route that takes none.
#[derive(Debug, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct NoParams {}

/// Query parameters as (name, value) pairs, refusing names outside `known` so that a typo is
/// an error rather than a silently ignored filter.
pub(crate) type Params = Vec<(String, String)>;

/// Reads the query string's parameters, or answers 400 naming what is wrong.
pub(crate) fn params(
    query: Result<axum::extract::Query<Params>, QueryRejection>,
    known: &[&str],
) -> Result<Params, ApiError> {
    let axum::extract::Query(pairs) =
        query.map_err(|e| ApiError::bad_request(format!("query string: {}", e.body_text())))?;
    check_names(&pairs, known)?;
    Ok(pairs)
}

/// The value of parameter `name`, if given.
pub(crate) fn param<'a>(pairs: &'a Params, name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
}
