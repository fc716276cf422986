//! Event bytes in and keyed messages out.

use std::collections::VecDeque;

use async_trait::async_trait;

use super::json_text::{self, JsonText};

use crate::Result;

/// A message for an [`EventSink`]: a key (the user id for events, so one user's events stay
/// in order on one partition), the payload bytes and string headers.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Message {
    /// Partitioning key.
    pub key: Option<String>,
    /// The bytes.
    pub payload: Vec<u8>,
    /// Headers, e.g. a dead letter's reason.
    pub headers: Vec<(String, String)>,
}

/// Where raw event bytes come from. Delivery is at-least-once: what [`next_batch`] returned
/// is delivered again after a restart unless [`commit`] was called after it.
///
/// [`next_batch`]: EventSource::next_batch
/// [`commit`]: EventSource::commit
#[async_trait]
pub trait EventSource: Send {
    /// Up to `max` inputs; `Ok(None)` when the source has ended (a bounded source, or an
    /// unbounded one that was idle for longer than it was told to wait).
    async fn next_batch(&mut self, max: usize) -> Result<Option<Vec<Vec<u8>>>>;
    /// Marks everything returned so far as processed and acknowledged downstream.
    async fn commit(&mut self) -> Result<()>;
    /// Where the source is, in its own terms (e.g. Kafka offsets), for a checkpoint; `None`
    /// (the default) when the count of inputs taken says it all.
    fn position(&self) -> Option<serde_json::Value> {
        None
    }

    /// Whether the flow may read the next batch before the one before it is processed
    /// (it then decodes that batch on another thread meanwhile): `true` only for a source
    /// whose [`EventSource::commit`] acknowledges nothing outside the process — a file, a
    /// pipe, a generator — since a commit then also covers the batch read ahead. `false`
    /// (the default) for a source whose commit tells a broker.
    fn reads_ahead(&self) -> bool {
        false
    }

    /// Continues at a checkpoint: after `taken` inputs, at `position` (what
    /// [`EventSource::position`] said then). The default passes over the first `taken`
    /// inputs — a source that starts from its beginning (a file, the generator); a consumer
    /// group overrides it.
    async fn resume(&mut self, taken: u64, _position: Option<&serde_json::Value>) -> Result<()> {
        let mut left = taken;
        while left > 0 {
            let max = usize::try_from(left.min(10_000)).unwrap_or(10_000);
            match self.next_batch(max).await? {
                Some(batch) => left = left.saturating_sub(batch.len() as u64),
                None => {
                    return Err(crate::CoreError::parameter(
                        "checkpoint",
                        format!("the source ended {left} inputs before the checkpoint's position"),
                    ));
                }
            }
        }
        self.commit().await
    }
}

/// A source that reads through another: only how it takes batches is its own; commits,
/// positions, read-ahead and resuming are the inner source's. Implementing it implements
/// [`EventSource`].
///
/// ```
/// use async_trait::async_trait;
/// use websight_core::io::{block_on, EventSource, MemorySource, WrapsSource};
///
/// /// At most `left` inputs of the inner source.
/// struct Capped {
///     inner: MemorySource,
///     left: usize,
/// }
///
/// #[async_trait]
/// impl WrapsSource for Capped {
///     type Inner = MemorySource;
///     fn inner(&self) -> &MemorySource {
///         &self.inner
///     }
///     fn inner_mut(&mut self) -> &mut MemorySource {
///         &mut self.inner
///     }
///     async fn take_batch(&mut self, max: usize) -> websight_core::Result<Option<Vec<Vec<u8>>>> {
///         if self.left == 0 {
///             return Ok(None);
///         }
///         let batch = self.inner.next_batch(max.min(self.left)).await?;
///         self.left -= batch.as_ref().map_or(0, Vec::len);
///         Ok(batch)
///     }
/// }
///
/// let inputs = (0..5).map(|i| format!("{{\"n\":{i}}}").into_bytes());
/// let mut source = Capped { inner: MemorySource::new(inputs), left: 3 };
/// assert_eq!(block_on(source.next_batch(10))?.map(|b| b.len()), Some(3));
/// assert_eq!(block_on(source.next_batch(10))?, None);
/// block_on(source.commit())?;
/// assert_eq!(source.inner().committed(), 3);
/// # Ok::<(), websight_core::CoreError>(())
/// ```
#[async_trait]
pub trait WrapsSource: Send {
    /// The source read through.
    type Inner: EventSource;
    /// The inner source.
    fn inner(&self) -> &Self::Inner;
    /// The inner source, to read, commit or resume.
    fn inner_mut(&mut self) -> &mut Self::Inner;
    /// [`EventSource::next_batch`]: up to `max` inputs, taken through the inner source.
    async fn take_batch(&mut self, max: usize) -> Result<Option<Vec<Vec<u8>>>>;
    /// Told that the flow resumes at a checkpoint after `taken` inputs, before the inner
    /// source resumes (the default does nothing).
    fn resumed(&mut self, _taken: u64) {}
}

#[async_trait]
impl<W: WrapsSource> EventSource for W {
    async fn next_batch(&mut self, max: usize) -> Result<Option<Vec<Vec<u8>>>> {
        self.take_batch(max).await
    }

    async fn commit(&mut self) -> Result<()> {
        self.inner_mut().commit().await
    }

    fn position(&self) -> Option<serde_json::Value> {
        self.inner().position()
    }

    fn reads_ahead(&self) -> bool {
        self.inner().reads_ahead()
    }

    async fn resume(&mut self, taken: u64, position: Option<&serde_json::Value>) -> Result<()> {
        self.resumed(taken);
        self.inner_mut().resume(taken, position).await
    }
}

/// Where messages go. Returns only when every message is acknowledged.
#[async_trait]
pub trait EventSink: Send {
    /// Sends a batch, in order per key.
    async fn send(&mut self, messages: &[Message]) -> Result<()>;

    /// [`EventSink::send`] for messages whose payloads the caller vouches are each one line of
    /// valid JSON (the flow's checked events, written by its own encoder): a sink that checks
    /// payloads before writing them as they are may skip the check. The default sends them.
    async fn send_json(&mut self, messages: &[Message]) -> Result<()> {
        self.send(messages).await
    }
}

/// The embedded source: inputs in memory, with a committed position.
#[derive(Debug, Clone, Default)]
pub struct MemorySource {
    inputs: VecDeque<Vec<u8>>,
    delivered: usize,
    committed: usize,
}

impl MemorySource {
    /// A source of `inputs`, in order.
    pub fn new(inputs: impl IntoIterator<Item = Vec<u8>>) -> Self {
        MemorySource {
            inputs: inputs.into_iter().collect(),
            delivered: 0,
            committed: 0,
        }
    }

    /// Inputs acknowledged by [`EventSource::commit`].
    pub fn committed(&self) -> usize {
        self.committed
    }
}

#[async_trait]
impl EventSource for MemorySource {
    async fn next_batch(&mut self, max: usize) -> Result<Option<Vec<Vec<u8>>>> {
        if self.inputs.is_empty() {
            return Ok(None);
        }
        let n = max.max(1).min(self.inputs.len());
        self.delivered += n;
        Ok(Some(self.inputs.drain(..n).collect()))
    }

    async fn commit(&mut self) -> Result<()> {
        self.committed = self.delivered;
        Ok(())
    }
}

/// The embedded sink: an append-only list of messages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryTopic {
    /// Every message sent, in order.
    pub messages: Vec<Message>,
}

#[async_trait]
impl EventSink for MemoryTopic {
    async fn send(&mut self, messages: &[Message]) -> Result<()> {
        self.messages.extend_from_slice(messages);
        Ok(())
    }
}

/// An [`EventSink`] writing one JSON line per message to any writer (a file, standard
/// output): the payload itself ([`JsonLinesSink::payloads`], e.g. `checked.jsonl`, which can
/// be read back as input), or an envelope with key, headers and payload
/// ([`JsonLinesSink::envelopes`], e.g. `dead_letters.jsonl` with each reason). Payloads that
/// are not JSON are written as strings. Flushed after every batch.
pub struct JsonLinesSink<W> {
    out: W,
    envelopes: bool,
    written: u64,
    /// Lines on their way to `out`, reused: no allocation per message.
    line: Vec<u8>,
}

impl<W: std::io::Write + Send> JsonLinesSink<W> {
    /// Writes each payload as a line.
    pub fn payloads(out: W) -> Self {
        JsonLinesSink {
            out,
            envelopes: false,
            written: 0,
            line: Vec::new(),
        }
    }

    /// Writes `{"key": …, "headers": {…}, "payload": …}` lines; a header holding JSON is
    /// written as JSON.
    pub fn envelopes(out: W) -> Self {
        JsonLinesSink {
            out,
            envelopes: true,
            written: 0,
            line: Vec::new(),
        }
    }

    /// Lines written.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Writes one line per message and flushes; `vouched`: each payload is one line of JSON
    /// ([`EventSink::send_json`]).
    fn write(&mut self, messages: &[Message], vouched: bool) -> Result<()> {
        let (envelopes, written) = (self.envelopes, &mut self.written);
        super::write_lines(&mut self.out, &mut self.line, messages, |line, m| {
            Self::line(envelopes, vouched, m, line)?;
            *written += 1;
            Ok::<(), crate::CoreError>(())
        })?;
        self.out.flush()?;
        Ok(())
    }

    /// Serialises `m` into `line`.
    fn line(envelopes: bool, vouched: bool, m: &Message, line: &mut Vec<u8>) -> Result<()> {
        let payload = if vouched {
            // Not read again: the check costs as much as reading the line to decode it.
            debug_assert!(
                json_text::is_line(&m.payload),
                "send_json given a payload that is not one line of JSON"
            );
            Json::Line(&m.payload)
        } else {
            Json::of(&m.payload)
        };
        if !envelopes {
            return payload.write(line);
        }
        // `{"headers":{…},"key":…,"payload":…}`: the keys in the order a JSON map keeps
        // them, the headers by name (the last of a repeated name wins).
        let headers: std::collections::BTreeMap<&str, Json<'_>> = m
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), Json::of(v.as_bytes())))
            .collect();
        line.extend_from_slice(b"{\"headers\":{");
        for (i, (name, value)) in headers.iter().enumerate() {
            if i > 0 {
                line.push(b',');
            }
            serde_json::to_writer(&mut *line, name)?;
            line.push(b':');
            value.write(line)?;
        }
        line.extend_from_slice(b"},\"key\":");
        serde_json::to_writer(&mut *line, &m.key)?;
        line.extend_from_slice(b",\"payload\":");
        payload.write(line)?;
        line.push(b'}');
        Ok(())
    }
}

/// Bytes written into a JSON line: as they are when they are one line of valid JSON (no copy
/// into a `Value`, no re-encoding), re-encoded when valid but spread over lines, else as a
/// string.
enum Json<'a> {
    /// One line of JSON: its text.
    Line(&'a [u8]),
    Value(serde_json::Value),
    Text(std::borrow::Cow<'a, str>),
}

impl<'a> Json<'a> {
    /// Checked by [`json_text::read`] (a few instructions a byte; what serde_json accepts).
    fn of(bytes: &'a [u8]) -> Json<'a> {
        match json_text::read(bytes) {
            JsonText::Line(text) => Json::Line(text),
            JsonText::Lines => {
                serde_json::from_slice(bytes).map_or_else(|_| Json::text(bytes), Json::Value)
            }
            JsonText::Invalid => Json::text(bytes),
        }
    }

    fn text(bytes: &'a [u8]) -> Json<'a> {
        Json::Text(String::from_utf8_lossy(bytes))
    }

    fn write(&self, out: &mut Vec<u8>) -> Result<()> {
        match self {
            Json::Line(text) => out.extend_from_slice(text),
            Json::Value(value) => serde_json::to_writer(out, value)?,
            Json::Text(text) => serde_json::to_writer(out, text)?,
        }
        Ok(())
    }
}

#[async_trait]
impl<W: std::io::Write + Send> EventSink for JsonLinesSink<W> {
    async fn send(&mut self, messages: &[Message]) -> Result<()> {
        self.write(messages, false)
    }

    async fn send_json(&mut self, messages: &[Message]) -> Result<()> {
        self.write(messages, true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::block_on;

    fn messages() -> Vec<Message> {
        let generator = crate::synth::Generator::new(crate::synth::SynthConfig {
            sessions: 20,
            ..crate::synth::SynthConfig::default()
        })
        .unwrap();
        generator
            .events()
            .map(|e| Message {
                key: e.event.person().map(str::to_owned),
                payload: crate::decode::segment_json(&e.event),
                headers: vec![("reason".into(), r#"{"kind":"test"}"#.into())],
            })
            .collect()
    }

    fn written(envelopes: bool, vouched: bool, messages: &[Message]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut sink = if envelopes {
            JsonLinesSink::envelopes(&mut out)
        } else {
            JsonLinesSink::payloads(&mut out)
        };
        block_on(if vouched {
            sink.send_json(messages)
        } else {
            sink.send(messages)
        })
        .unwrap();
        assert_eq!(sink.written(), messages.len() as u64);
        out
    }

    #[test]
    fn vouched_json_lines_are_written_as_a_checked_send_writes_them() {
        let messages = messages();
        assert!(messages.len() > 100);
        for envelopes in [false, true] {
            let checked = written(envelopes, false, &messages);
            assert_eq!(written(envelopes, true, &messages), checked);
            assert_eq!(
                checked.iter().filter(|&&b| b == b'\n').count(),
                messages.len()
            );
        }
    }

    #[test]
    fn envelopes_keep_json_as_it_is_and_carry_anything_else_as_text() {
        let message = |payload: &[u8], headers: &[(&str, &str)]| Message {
            key: Some("k\"1".into()),
            payload: payload.to_vec(),
            headers: headers
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        let messages = [
            // One line of JSON, spaces kept; JSON headers as JSON, others as strings; a
            // repeated header's last value wins.
            message(
                br#"  {"b": [1, 2.50], "a":"x"} "#,
                &[("z", r#"{"kind":"late"}"#), ("a", "plain text"), ("z", "7")],
            ),
            // Valid JSON over several lines: re-encoded on one.
            message(b"{\"a\":\n 1}", &[]),
            // Not JSON (and not UTF-8): a string.
            message(b"{\"a\": \xff", &[("\u{1}", "")]),
        ];
        let out = String::from_utf8(written(true, false, &messages)).unwrap();
        let want = [
            r#"{"headers":{"a":"plain text","z":7},"key":"k\"1","payload":{"b": [1, 2.50], "a":"x"}}"#,
            r#"{"headers":{},"key":"k\"1","payload":{"a":1}}"#,
            r#"{"headers":{"\u0001":""},"key":"k\"1","payload":"{\"a\": �"}"#,
        ];
        assert_eq!(out.lines().collect::<Vec<_>>(), want);
        let payloads = String::from_utf8(written(false, false, &messages)).unwrap();
        assert_eq!(
            payloads.lines().collect::<Vec<_>>(),
            [
                r#"{"b": [1, 2.50], "a":"x"}"#,
                r#"{"a":1}"#,
                r#""{\"a\": �""#
            ]
        );
    }
}
