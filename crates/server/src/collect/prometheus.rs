//! The Prometheus collector: named PromQL queries against the HTTP query API of any
//! Prometheus-compatible server.
//!
//! An instant query is `GET {url}/api/v1/query?query=…`; a range query (a query with `range`
//! and `step`) is `GET {url}/api/v1/query_range?query=…&start=…&end=…&step=…` over the last
//! `range`. The answer is read as the API documents it: `status`, then `data.resultType`
//! `vector`, `matrix` or `scalar` (a `string` result is refused), each value a pair
//! `[unix time, "number"]`.
//!
//! Each series of a result becomes samples named after the query (its key in `queries`), with
//! the series' labels (`__name__` included when the result has it) and the collector's
//! `component`, at the time the server gives. A scalar is one sample without labels. Values
//! `NaN`, `+Inf` and `-Inf` are no measurement a chart or a rule can use: they are left out.
//! Of a range query, only the points newer than those already stored (by this running
//! collector) are stored again, so overlapping ranges do not write the same point twice.
//!
//! Errors name the query and say what went wrong: the server unreachable, an HTTP status, an
//! error answer (`errorType: error`), or an answer that is not the API's JSON. The server's
//! address is shown without any user name, password or query string.

use std::collections::{BTreeMap, HashMap};

use mhd_core::plan::{PromQuery, PrometheusCollector};
use mhd_core::sample::Sample;
use serde::Deserialize;
use time::OffsetDateTime;

/// The most of an answer read, in bytes; a longer one is refused.
pub const MAX_ANSWER_BYTES: usize = 32 * 1024 * 1024;

/// Why a Prometheus query failed. Never holds the server's credentials.
#[derive(Debug, thiserror::Error)]
pub enum PrometheusError {
    /// The configured address is not an HTTP(S) URL.
    #[error("{0}")]
    BadUrl(String),
    /// The HTTP client could not be made.
    #[error("cannot make an HTTP client: {0}")]
    Client(String),
    /// The request did not get an answer.
    #[error("query {query:?}: cannot reach {server}: {reason}")]
    Unreachable {
        /// The query's name.
        query: String,
        /// The server, without credentials.
        server: String,
        /// Why.
        reason: String,
    },
    /// The server answered with an HTTP error and no error document.
    #[error("query {query:?}: {server} answered HTTP {status}")]
    Status {
        /// The query's name.
        query: String,
        /// The server, without credentials.
        server: String,
        /// The status, such as `503 Service Unavailable`.
        status: String,
    },
    /// The server refused the query (`status: "error"`).
    #[error("query {query:?}: the server refused it (HTTP {status}): {error_type}: {error}")]
    Refused {
        /// The query's name.
        query: String,
        /// The HTTP status code.
        status: u16,
        /// `errorType`, such as `bad_data`.
        error_type: String,
        /// `error`, the server's message.
        error: String,
    },
    /// The answer is not the query API's JSON.
    #[error("query {query:?}: the answer of {server} is not Prometheus query JSON: {reason}")]
    Garbage {
        /// The query's name.
        query: String,
        /// The server, without credentials.
        server: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// A Prometheus collector with what it remembers between runs.
pub struct PrometheusRunner {
    config: PrometheusCollector,
    client: Option<reqwest::Client>,
    /// The newest point stored of each range query's series, by query name and labels.
    newest: HashMap<String, OffsetDateTime>,
}

impl PrometheusRunner {
    /// A collector for `config`.
    pub fn new(config: PrometheusCollector) -> PrometheusRunner {
        PrometheusRunner {
            config,
            client: None,
            newest: HashMap::new(),
        }
    }

    /// Its configuration.
    pub fn config(&self) -> &PrometheusCollector {
        &self.config
    }

    /// Runs every query once; the first failing query fails the run (the samples of the
    /// queries before it are not stored either, so a run is all or nothing).
    pub async fn run(&mut self, now: OffsetDateTime) -> Result<Vec<Sample>, PrometheusError> {
        let base = reqwest::Url::parse(&self.config.url).map_err(|e| {
            PrometheusError::BadUrl(format!(
                "url {:?} is not a URL: {e}",
                shown_text(&self.config.url)
            ))
        })?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(PrometheusError::BadUrl(format!(
                "url {} is not an http:// or https:// address",
                shown(&base)
            )));
        }
        if self.client.is_none() {
            // The run's own timeout comes first; the client's is a backstop.
            let timeout = super::std_duration(self.config.schedule.timeout)
                + std::time::Duration::from_secs(1);
            self.client = Some(
                crate::http::client(timeout)
                    .map_err(|e| PrometheusError::Client(e.without_url().to_string()))?,
            );
        }
        let Some(client) = self.client.clone() else {
            return Err(PrometheusError::Client("no client".into()));
        };
        let mut samples = Vec::new();
        let mut newest = HashMap::new();
        for q in &self.config.queries {
            let url = query_url(&base, q, now);
            let (status, body) =
                fetch(&client, url)
                    .await
                    .map_err(|reason| PrometheusError::Unreachable {
                        query: q.name.clone(),
                        server: shown(&base),
                        reason,
                    })?;
            let result = parse_answer(&body).map_err(|e| match e {
                AnswerError::Refused { error_type, error } => PrometheusError::Refused {
                    query: q.name.clone(),
                    status: status.as_u16(),
                    error_type,
                    error,
                },
                AnswerError::Garbage(_) if !status.is_success() => PrometheusError::Status {
                    query: q.name.clone(),
                    server: shown(&base),
                    status: status.to_string(),
                },
                AnswerError::Garbage(reason) => PrometheusError::Garbage {
                    query: q.name.clone(),
                    server: shown(&base),
                    reason,
                },
            })?;
            if !status.is_success() {
                return Err(PrometheusError::Status {
                    query: q.name.clone(),
                    server: shown(&base),
                    status: status.to_string(),
                });
            }
            for point in result {
                let key = series_key(&q.name, &point.labels);
                if q.range.is_some() {
                    let known = self.newest.get(&key).copied();
                    let slot = newest.entry(key).or_insert(known.unwrap_or(point.time));
                    if point.time > *slot {
                        *slot = point.time;
                    }
                    if known.is_some_and(|t| point.time <= t) {
                        continue;
                    }
                }
                if !point.value.is_finite() {
                    continue;
                }
                samples.push(Sample {
                    timestamp: point.time,
                    metric: q.name.clone(),
                    value: point.value,
                    unit: None,
                    component: self.config.component.clone(),
                    labels: point.labels,
                });
            }
        }
        // Series no longer answered are forgotten, so the memory follows the answers.
        self.newest = newest;
        Ok(samples)
    }
}

/// The address of one query.
fn query_url(base: &reqwest::Url, q: &PromQuery, now: OffsetDateTime) -> reqwest::Url {
    let mut url = base.clone();
    let path = format!(
        "{}/api/v1/{}",
        base.path().trim_end_matches('/'),
        if q.range.is_some() {
            "query_range"
        } else {
            "query"
        }
    );
    url.set_path(&path);
    {
        let mut pairs = url.query_pairs_mut();
        pairs.append_pair("query", &q.query);
        if let Some(r) = &q.range {
            pairs.append_pair("start", &unix(now - r.range));
            pairs.append_pair("end", &unix(now));
            pairs.append_pair("step", &format!("{}", r.step.as_seconds_f64().max(0.001)));
        }
    }
    url
}

fn unix(t: OffsetDateTime) -> String {
    format!("{:.3}", t.unix_timestamp_nanos() as f64 / 1e9)
}

/// GETs `url`, reading at most [`MAX_ANSWER_BYTES`]; the error never names the URL.
async fn fetch(
    client: &reqwest::Client,
    url: reqwest::Url,
) -> Result<(reqwest::StatusCode, Vec<u8>), String> {
    let mut response = client
        .get(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| error_text(&e))?;
    let status = response.status();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| error_text(&e))? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(format!(
                "the answer is longer than {MAX_ANSWER_BYTES} bytes"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok((status, body))
}

/// A request error's text without its URL, with its causes.
fn error_text(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        "request failed".to_owned()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The server's address as shown in errors: scheme, host, port and path, never a user name,
/// password or query.
fn shown(url: &reqwest::Url) -> String {
    let mut u = url.clone();
    let _ = u.set_username("");
    let _ = u.set_password(None);
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

/// A configured address that is not a URL, shown without anything after a `@` that could be a
/// password.
fn shown_text(url: &str) -> String {
    match url.rfind('@') {
        Some(at) => format!("…{}", &url[at..]),
        None => url.to_owned(),
    }
}

fn series_key(query: &str, labels: &BTreeMap<String, String>) -> String {
    let mut key = query.to_owned();
    for (k, v) in labels {
        key.push('\u{1f}');
        key.push_str(k);
        key.push('=');
        key.push_str(v);
    }
    key
}

/// One value of one series of an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct Point {
    /// The series' labels.
    pub labels: BTreeMap<String, String>,
    /// When the value holds.
    pub time: OffsetDateTime,
    /// The value (may be NaN or infinite, as the server wrote it).
    pub value: f64,
}

/// Why an answer was not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnswerError {
    /// `status: "error"`.
    Refused {
        /// `errorType`.
        error_type: String,
        /// `error`.
        error: String,
    },
    /// Not the query API's JSON.
    Garbage(String),
}

#[derive(Deserialize)]
struct Answer {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
#[serde(tag = "resultType", content = "result", rename_all = "lowercase")]
enum Data {
    Vector(Vec<VectorSeries>),
    Matrix(Vec<MatrixSeries>),
    Scalar(RawPoint),
    String(serde::de::IgnoredAny),
}

#[derive(Deserialize)]
struct VectorSeries {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    /// Absent for a native histogram, which has `histogram` instead.
    #[serde(default)]
    value: Option<RawPoint>,
}

#[derive(Deserialize)]
struct MatrixSeries {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    values: Vec<RawPoint>,
}

#[derive(Deserialize)]
struct RawPoint(f64, String);

/// Reads an answer of the query API, returning every value of every series.
pub fn parse_answer(body: &[u8]) -> Result<Vec<Point>, AnswerError> {
    let answer: Answer =
        serde_json::from_slice(body).map_err(|e| AnswerError::Garbage(e.to_string()))?;
    match answer.status.as_str() {
        "success" => {}
        "error" => {
            return Err(AnswerError::Refused {
                error_type: answer.error_type.unwrap_or_else(|| "error".into()),
                error: answer.error.unwrap_or_default(),
            });
        }
        other => {
            return Err(AnswerError::Garbage(format!(
                "status is {other:?}, neither \"success\" nor \"error\""
            )));
        }
    }
    let data = answer
        .data
        .ok_or_else(|| AnswerError::Garbage("a successful answer without `data`".into()))?;
    let mut out = Vec::new();
    match data {
        Data::Vector(series) => {
            for s in series {
                if let Some(p) = s.value {
                    out.push(point(s.metric, &p)?);
                }
            }
        }
        Data::Matrix(series) => {
            for s in series {
                for p in &s.values {
                    out.push(point(s.metric.clone(), p)?);
                }
            }
        }
        Data::Scalar(p) => out.push(point(BTreeMap::new(), &p)?),
        Data::String(_) => {
            return Err(AnswerError::Garbage(
                "the query gives a string, not a number".into(),
            ));
        }
    }
    Ok(out)
}

fn point(labels: BTreeMap<String, String>, raw: &RawPoint) -> Result<Point, AnswerError> {
    let time = OffsetDateTime::from_unix_timestamp_nanos((raw.0 * 1e9).round() as i128)
        .map_err(|_| AnswerError::Garbage(format!("time {} is out of range", raw.0)))?;
    Ok(Point {
        labels,
        time,
        value: parse_value(&raw.1)
            .ok_or_else(|| AnswerError::Garbage(format!("value {:?} is not a number", raw.1)))?,
    })
}

/// A sample value as Prometheus writes it: a decimal number, `NaN`, `+Inf` or `-Inf`.
pub fn parse_value(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse::<f64>().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_vector_gives_one_point_per_series_with_its_labels() {
        let body = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"__name__":"up","job":"mhd"},"value":[1735689600.5,"1"]},
            {"metric":{"job":"x"},"value":[1735689600,"NaN"]},
            {"metric":{"job":"y"},"value":[1735689600,"+Inf"]}]}}"#;
        let points = parse_answer(body).expect("read");
        assert_eq!(points.len(), 3);
        assert_eq!(points[0].labels["job"], "mhd");
        assert_eq!(points[0].value, 1.0);
        assert_eq!(
            points[0].time.unix_timestamp_nanos(),
            1_735_689_600_500_000_000
        );
        assert!(points[1].value.is_nan());
        assert_eq!(points[2].value, f64::INFINITY);
    }

    #[test]
    fn a_matrix_gives_every_value_and_a_scalar_one() {
        let body = br#"{"status":"success","data":{"resultType":"matrix","result":[
            {"metric":{"a":"b"},"values":[[1,"1.5"],[2,"-Inf"],[3,"2e3"]]}]}}"#;
        let points = parse_answer(body).expect("read");
        let values: Vec<f64> = points.iter().map(|p| p.value).collect();
        assert_eq!(values, vec![1.5, f64::NEG_INFINITY, 2000.0]);
        let scalar = parse_answer(
            br#"{"status":"success","data":{"resultType":"scalar","result":[5,"0.25"]}}"#,
        )
        .expect("read");
        assert_eq!(scalar.len(), 1);
        assert!(scalar[0].labels.is_empty());
        assert_eq!(scalar[0].value, 0.25);
    }

    #[test]
    fn errors_and_garbage_are_told_apart() {
        let refused = parse_answer(
            br#"{"status":"error","errorType":"bad_data","error":"parse error at char 4"}"#,
        );
        assert_eq!(
            refused,
            Err(AnswerError::Refused {
                error_type: "bad_data".into(),
                error: "parse error at char 4".into()
            })
        );
        assert!(matches!(
            parse_answer(b"<html>hello</html>"),
            Err(AnswerError::Garbage(_))
        ));
        assert!(matches!(
            parse_answer(
                br#"{"status":"success","data":{"resultType":"string","result":[1,"x"]}}"#
            ),
            Err(AnswerError::Garbage(m)) if m.contains("string")
        ));
        assert!(matches!(
            parse_answer(
                br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"abc"]}]}}"#
            ),
            Err(AnswerError::Garbage(m)) if m.contains("abc")
        ));
    }

    #[test]
    fn the_shown_address_has_no_credentials_or_query() {
        let url =
            reqwest::Url::parse("https://user:s3cret@prom.example:9090/p?token=abc").expect("url");
        let text = shown(&url);
        assert!(!text.contains("s3cret") && !text.contains("user") && !text.contains("abc"));
        assert!(text.contains("prom.example:9090/p"));
        assert!(!shown_text("http://u:s3cret@host").contains("s3cret"));
    }

    #[test]
    fn query_urls_carry_the_query_and_the_range() {
        let base = reqwest::Url::parse("http://127.0.0.1:9090/prom/").expect("url");
        let now = OffsetDateTime::from_unix_timestamp(1000).expect("time");
        let instant = PromQuery {
            name: "rate".into(),
            query: "sum(rate(x[5m])) > 0 & y".into(),
            range: None,
        };
        let url = query_url(&base, &instant, now);
        assert_eq!(url.path(), "/prom/api/v1/query");
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs, vec![("query".into(), instant.query.clone())]);
        let range = PromQuery {
            range: Some(mhd_core::plan::RangeQuery {
                range: time::Duration::minutes(10),
                step: time::Duration::seconds(30),
            }),
            ..instant
        };
        let url = query_url(&base, &range, now);
        assert_eq!(url.path(), "/prom/api/v1/query_range");
        let pairs: BTreeMap<String, String> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs["start"], "400.000");
        assert_eq!(pairs["end"], "1000.000");
        assert_eq!(pairs["step"], "30");
    }
}
