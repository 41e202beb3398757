//! Checking JSON against the OpenAPI document the server serves: [`departure`] finds where a
//! value departs from a schema, [`answer_departure`] where an answer departs from what its
//! route documents.

use serde_json::Value;

/// Where `value` departs from `schema` (resolved in `doc`): its path and what was expected, or
/// nothing when it conforms. Checks what OpenAPI 3.0 schemas say of JSON: references, `allOf`,
/// `oneOf`, `nullable`, types, `enum`, `minimum`, required and described properties, items and
/// the values of maps. An object's field its schema does not describe departs unless the
/// schema gives `additionalProperties` (a map's values, or `true`): every field an answer
/// sends is documented.
pub fn departure(doc: &Value, schema: &Value, value: &Value, at: &str) -> Option<String> {
    check(doc, schema, value, at, true)
}

/// The schema `schema` refers to in `doc`, or itself.
fn resolved<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(name) => {
            &doc["components"]["schemas"][name.trim_start_matches("#/components/schemas/")]
        }
        None => schema,
    }
}

/// [`departure`]; with `closed` false, an object's fields no property describes are left to
/// the caller (the other parts of an `allOf` may describe them).
fn check(doc: &Value, schema: &Value, value: &Value, at: &str, closed: bool) -> Option<String> {
    if let Some(name) = schema["$ref"].as_str() {
        let named = resolved(doc, schema);
        if named.is_null() {
            return Some(format!("{at}: the document has no schema {name}"));
        }
        return check(doc, named, value, at, closed);
    }
    if value.is_null() && schema["nullable"] == true {
        return None;
    }
    if let Some(all) = schema["allOf"].as_array() {
        if let Some(why) = all.iter().find_map(|s| check(doc, s, value, at, false)) {
            return Some(why);
        }
        let parts: Vec<&Value> = all.iter().map(|s| resolved(doc, s)).collect();
        let open = parts
            .iter()
            .any(|p| p["properties"].is_null() || !p["additionalProperties"].is_null());
        let object = value.as_object().filter(|_| closed && !open)?;
        return object
            .keys()
            .find(|k| parts.iter().all(|p| p["properties"][k.as_str()].is_null()))
            .map(|k| format!("{at}: `{k}` is not described by the schema"));
    }
    if let Some(one) = schema["oneOf"].as_array() {
        let fits = one
            .iter()
            .filter(|s| check(doc, s, value, at, closed).is_none())
            .count();
        return (fits != 1).then(|| format!("{at}: fits {fits} of the oneOf schemas: {value}"));
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        return Some(format!("{at}: {value} is none of {options:?}"));
    }
    let fits = match schema["type"].as_str() {
        Some("object") => value.is_object(),
        Some("array") => value.is_array(),
        Some("string") => value.is_string(),
        Some("integer") => value.is_i64() || value.is_u64(),
        Some("number") => value.is_number(),
        Some("boolean") => value.is_boolean(),
        _ => true,
    };
    if !fits {
        return Some(format!("{at}: {value} is not of type {}", schema["type"]));
    }
    if let (Some(min), Some(n)) = (schema["minimum"].as_f64(), value.as_f64())
        && n < min
    {
        return Some(format!("{at}: {n} is below the minimum {min}"));
    }
    if let Some(items) = value.as_array() {
        return items
            .iter()
            .enumerate()
            .find_map(|(i, v)| departure(doc, &schema["items"], v, &format!("{at}[{i}]")));
    }
    let object = value.as_object()?;
    for field in schema["required"].as_array().into_iter().flatten() {
        let field = field.as_str().unwrap();
        if !object.contains_key(field) {
            return Some(format!("{at}: lacks the required `{field}`"));
        }
    }
    object.iter().find_map(|(k, v)| {
        let described = &schema["properties"][k];
        let of_map = &schema["additionalProperties"];
        let field = if described.is_object() {
            described
        } else if of_map.is_object() {
            of_map
        } else if !closed
            || *of_map == Value::Bool(true)
            || (of_map.is_null() && schema["properties"].is_null())
        {
            return None;
        } else {
            return Some(format!("{at}: `{k}` is not described by the schema"));
        };
        departure(doc, field, v, &format!("{at}.{k}"))
    })
}

/// Where the answer `body` of `method` on the route `template` with `status` departs from
/// what the document says that route answers with that status (its JSON schema), or that the
/// document says nothing of it.
pub fn answer_departure(
    doc: &Value,
    method: &str,
    template: &str,
    status: u16,
    body: &Value,
) -> Option<String> {
    let at = format!("{method} {template} {status}");
    let documented = &doc["paths"][template][method.to_ascii_lowercase()]["responses"]
        [status.to_string()]["content"]["application/json"]["schema"];
    if !documented.is_object() {
        return Some(format!("{at}: the document has no JSON answer for it"));
    }
    departure(doc, documented, body, &at)
}
