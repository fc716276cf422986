//! Elasticsearch / OpenSearch: index templates, idempotent bulk writes with retries.
//!
//! Plain HTTP/JSON (`Content-Type: application/json`, no vendor headers), so Elasticsearch 8
//! and OpenSearch-compatible servers both work.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use websight_core::analytics::Documents;
use websight_core::io::{DocumentSink, Refusal, WriteReport};

use crate::backoff::Backoff;
use crate::{ConnectorError, Result};

/// The index templates (strict mappings of exactly the documents' fields), by index name —
/// the same file as `docs/kibana/index_templates.json`.
pub const INDEX_TEMPLATES: &str = include_str!("../data/index_templates.json");

/// The four document indexes (the embedded stores' names).
pub use websight_core::io::INDEX_NAMES as INDEXES;

/// A [`DocumentSink`] writing to Elasticsearch or OpenSearch through the bulk API.
///
/// Every document is indexed under its deterministic id (`document_id()`), so a retried or
/// replayed batch replaces documents instead of duplicating them. Items the server rejects
/// with a retryable status (429, 5xx) and whole requests that fail to connect are retried
/// with exponential backoff; a document the server refuses with a client status (400–499: a
/// mapping conflict, a number out of range) is refused for good and reported in
/// [`WriteReport::refused`] (the flow makes it a dead letter); anything else is an error.
#[derive(Debug, Clone)]
pub struct SearchSink {
    client: reqwest::Client,
    base: String,
    prefix: String,
    retries: u32,
    backoff: Duration,
}

impl SearchSink {
    /// A sink for the server at `base_url` (e.g. `http://127.0.0.1:9200`), indexes named as
    /// in [`INDEXES`], 8 retries starting at 50 ms.
    pub fn new(base_url: impl Into<String>) -> SearchSink {
        SearchSink {
            client: reqwest::Client::new(),
            base: base_url.into().trim_end_matches('/').to_owned(),
            prefix: String::new(),
            retries: 8,
            backoff: Duration::from_millis(50),
        }
    }

    /// Prefixes every index name (tests and tenants keep apart).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    /// Retries after a failure, and the first wait (doubled each time, capped at 5 s).
    pub fn retries(mut self, retries: u32, first_backoff: Duration) -> Self {
        self.retries = retries;
        self.backoff = first_backoff;
        self
    }

    /// The full name of an index.
    pub fn index_name(&self, index: &str) -> String {
        format!("{}{index}", self.prefix)
    }

    /// Installs (or replaces) one index template per index, matching the prefixed names.
    pub async fn install_templates(&self) -> Result<()> {
        let templates: Value = serde_json::from_str(INDEX_TEMPLATES)?;
        for index in INDEXES {
            let mut template = templates[index].clone();
            template["index_patterns"] =
                serde_json::json!([format!("{}*", self.index_name(index))]);
            let url = format!(
                "{}/_index_template/websight-{}",
                self.base,
                self.index_name(index)
            );
            let body = serde_json::to_vec(&template)?;
            self.send(|c| c.put(&url).body(body.clone())).await?;
        }
        Ok(())
    }

    /// Makes written documents visible to search and counts.
    pub async fn refresh(&self) -> Result<()> {
        let names: Vec<String> = INDEXES.iter().map(|i| self.index_name(i)).collect();
        let url = format!(
            "{}/{}/_refresh?ignore_unavailable=true",
            self.base,
            names.join(",")
        );
        self.send(|c| c.post(&url)).await?;
        Ok(())
    }

    /// Documents in one index (after [`SearchSink::refresh`]); 0 when it does not exist.
    pub async fn count(&self, index: &str) -> Result<u64> {
        let url = format!("{}/{}/_count", self.base, self.index_name(index));
        let response = self.client.get(&url).send().await?;
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return Ok(0);
        }
        let body: Value = response.error_for_status()?.json().await?;
        body["count"]
            .as_u64()
            .ok_or_else(|| ConnectorError::Protocol {
                reason: format!("no count in {body}"),
            })
    }

    /// Sends a request, retrying connection failures and retryable statuses.
    async fn send(
        &self,
        request: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<Value> {
        let mut backoff = self.backoff();
        loop {
            let outcome = request(&self.client)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .send()
                .await;
            let retryable = match outcome {
                Ok(response) if response.status().is_success() => {
                    let text = response.text().await?;
                    return Ok(serde_json::from_str(&text).unwrap_or(Value::Null));
                }
                Ok(response) => {
                    let status = response.status();
                    let text = response.text().await.unwrap_or_default();
                    if !(status.as_u16() == 429 || status.is_server_error()) {
                        return Err(ConnectorError::Protocol {
                            reason: format!("HTTP {status}: {text}"),
                        });
                    }
                    ConnectorError::Protocol {
                        reason: format!("HTTP {status}: {text}"),
                    }
                }
                Err(e) => ConnectorError::Http(e),
            };
            if !backoff.retry("search request", retryable.to_string()).await {
                return Err(retryable);
            }
        }
    }

    fn backoff(&self) -> Backoff {
        Backoff::new(self.retries, self.backoff, Duration::from_secs(5))
    }

    /// The bulk body lines (action, document) of `docs`, with their ids.
    fn actions(&self, docs: &Documents) -> Result<Vec<(String, String)>> {
        let mut lines = Vec::new();
        let mut push = |index: &str, id: String, doc: Value| -> Result<()> {
            let action =
                serde_json::json!({"index": {"_index": self.index_name(index), "_id": id}});
            lines.push((action.to_string(), serde_json::to_string(&doc)?));
            Ok(())
        };
        for d in &docs.sessions {
            push("session_summary", d.document_id(), serde_json::to_value(d)?)?;
        }
        for d in &docs.products {
            push("product_details", d.document_id(), serde_json::to_value(d)?)?;
        }
        for d in &docs.sentiments {
            push(
                "product_sentiment",
                d.document_id(),
                serde_json::to_value(d)?,
            )?;
        }
        for d in &docs.windows {
            push("kpi_windows", d.document_id(), serde_json::to_value(d)?)?;
        }
        Ok(lines)
    }
}

/// Largest bulk request, in documents.
const BULK_DOCUMENTS: usize = 2_000;

#[async_trait]
impl DocumentSink for SearchSink {
    async fn write(&mut self, docs: &Documents) -> websight_core::Result<WriteReport> {
        self.write_all(docs).await.map_err(Into::into)
    }
}

impl SearchSink {
    async fn write_all(&self, docs: &Documents) -> Result<WriteReport> {
        let mut pending = self.actions(docs)?;
        let mut report = WriteReport::default();
        let mut backoff = self.backoff();
        while !pending.is_empty() {
            let mut retry = Vec::new();
            for chunk in pending.chunks(BULK_DOCUMENTS) {
                let mut body = String::new();
                for (action, doc) in chunk {
                    body.push_str(action);
                    body.push('\n');
                    body.push_str(doc);
                    body.push('\n');
                }
                let url = format!("{}/_bulk", self.base);
                let response = self.send(|c| c.post(&url).body(body.clone())).await?;
                let items =
                    response["items"]
                        .as_array()
                        .ok_or_else(|| ConnectorError::Protocol {
                            reason: format!("bulk response without items: {response}"),
                        })?;
                if items.len() != chunk.len() {
                    return Err(ConnectorError::Protocol {
                        reason: format!("{} items answered for {} sent", items.len(), chunk.len()),
                    });
                }
                for (item, line) in items.iter().zip(chunk) {
                    let result = &item["index"];
                    let status = result["status"].as_u64().unwrap_or(0);
                    match status {
                        200..=299 => {
                            report.written += 1;
                            if result["result"] == "updated" {
                                report.replaced += 1;
                            }
                        }
                        429 | 500..=599 => retry.push(line.clone()),
                        // The server answered for this document: it will answer the same on
                        // every retry (a mapping conflict, a value out of range).
                        400..=499 => report.refused.push(Refusal::new(
                            result["_index"].as_str().unwrap_or("?"),
                            result["_id"].as_str().unwrap_or("?"),
                            &error_text(&result["error"]),
                            line.1.clone().into_bytes(),
                        )),
                        _ => {
                            return Err(ConnectorError::Rejected {
                                id: result["_id"].as_str().unwrap_or("?").to_owned(),
                                reason: result["error"].to_string(),
                            });
                        }
                    }
                }
            }
            if !retry.is_empty() {
                let refused = format!("{} documents refused for now", retry.len());
                if !backoff.retry("bulk write", refused).await {
                    return Err(ConnectorError::Protocol {
                        reason: format!(
                            "{} documents still refused after {} tries",
                            retry.len(),
                            backoff.attempts() + 1
                        ),
                    });
                }
            }
            pending = retry;
        }
        Ok(report)
    }
}

/// `type: reason` of a bulk item's error (its cause's too), else the error as JSON.
fn error_text(error: &Value) -> String {
    match (error["type"].as_str(), error["reason"].as_str()) {
        (Some(kind), Some(reason)) => match error["caused_by"]["reason"].as_str() {
            Some(cause) => format!("{kind}: {reason} ({cause})"),
            None => format!("{kind}: {reason}"),
        },
        _ => error.to_string(),
    }
}
