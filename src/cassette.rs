//! Cassettes: exchanges with a target, recorded one JSON object per line (`reports/cassette.schema.json`
//! describes both kinds of line). The first line is a [`Header`] saying what was recorded; every
//! other line is an [`Entry`]: one request as it was sent and the answer as it came, redacted when
//! recorded (see `exchange`), so a cassette can be shared like a report.
//!
//! `run --record` and `proxy --record` write them through a [`Recorder`]; `replay`, `diff` and
//! `serve --cassette` read them with [`Cassette::load`].

use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::{Deserialize, Serialize};

use crate::exchange::Exchange;

/// The format of a cassette's lines; the header names it, and a reader refuses another.
pub const FORMAT: &str = "appmesh-conformance-cassette/1";

/// The first line: what the cassette holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Always [`FORMAT`].
    pub format: String,
    /// What was recorded, for a reader: "run against the embedded emulator", "proxy to ...".
    pub source: String,
    /// The region the requests were signed for.
    pub region: String,
    /// The run id the recorded names carry (`acf-...`), which a replay swaps for its own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// When recording started, epoch seconds.
    pub recorded_at: u64,
}

impl Header {
    pub fn new(source: impl Into<String>, region: impl Into<String>, run_id: Option<String>) -> Header {
        let recorded_at =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
        Header { format: FORMAT.to_string(), source: source.into(), region: region.into(), run_id, recorded_at }
    }
}

/// One recorded exchange.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Entry {
    /// 1, 2, ... in the order the answers came.
    pub seq: u64,
    #[serde(flatten)]
    pub exchange: Exchange,
    /// A deliberately wrong signature the request was sent with (`wrong-secret`, `unsigned`, ...),
    /// which a replay reproduces.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tamper: Option<String>,
    /// When the request was sent and when its answer came, in milliseconds after recording
    /// started; what a replay needs to tell requests that raced from requests that followed one
    /// another. Absent in hand-made cassettes, whose entries are taken one after another.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timing: Option<Timing>,
}

/// When one recorded request was in flight.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Timing {
    /// The first attempt left, in milliseconds after recording started.
    pub sent_ms: f64,
    /// The answer was recorded (at or after it came), in milliseconds after recording started.
    pub answered_ms: f64,
}

#[derive(Debug, thiserror::Error)]
pub enum CassetteError {
    #[error("cannot write the cassette {path}: {source}; choose a writable path for --record")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("cannot read the cassette {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error(
        "{path}:{line}: not a cassette line ({problem}); a cassette is what `run --record` or `proxy --record` writes (reports/cassette.schema.json)"
    )]
    Line { path: PathBuf, line: usize, problem: String },
    #[error("{path}: the cassette is empty: it has no header line")]
    Empty { path: PathBuf },
    #[error("{path}: format {found:?}, but this harness reads {FORMAT:?}")]
    Format { path: PathBuf, found: String },
}

/// A cassette read whole.
#[derive(Debug, Clone)]
pub struct Cassette {
    pub header: Header,
    pub entries: Vec<Entry>,
}

impl Cassette {
    /// Reads a cassette, naming the line that is not one.
    pub fn load(path: &Path) -> Result<Cassette, CassetteError> {
        let file = std::fs::File::open(path).map_err(|source| CassetteError::Read { path: path.into(), source })?;
        let mut lines = std::io::BufReader::new(file).lines().enumerate();
        let line_error = |line: usize, problem: String| CassetteError::Line { path: path.into(), line, problem };
        let mut next_line = || -> Result<Option<(usize, String)>, CassetteError> {
            for (index, line) in lines.by_ref() {
                let line = line.map_err(|source| CassetteError::Read { path: path.into(), source })?;
                if !line.trim().is_empty() {
                    return Ok(Some((index + 1, line)));
                }
            }
            Ok(None)
        };
        let Some((number, first)) = next_line()? else { return Err(CassetteError::Empty { path: path.into() }) };
        let header: Header = serde_json::from_str(&first).map_err(|e| line_error(number, e.to_string()))?;
        if header.format != FORMAT {
            return Err(CassetteError::Format { path: path.into(), found: header.format });
        }
        let mut entries = Vec::new();
        while let Some((number, line)) = next_line()? {
            entries.push(serde_json::from_str(&line).map_err(|e| line_error(number, e.to_string()))?);
        }
        Ok(Cassette { header, entries })
    }

    /// The cassette as its lines, header first.
    pub fn to_lines(&self) -> String {
        let mut text = serde_json::to_string(&self.header).expect("a header serializes");
        text.push('\n');
        for entry in &self.entries {
            text.push_str(&serde_json::to_string(entry).expect("an entry serializes"));
            text.push('\n');
        }
        text
    }
}

/// Appends exchanges to a cassette as they happen, from any number of tasks. A write that fails
/// is kept and reported by [`Recorder::finish`]; recording never stops the traffic it records.
#[derive(Debug)]
pub struct Recorder {
    path: PathBuf,
    out: Mutex<Option<std::io::BufWriter<std::fs::File>>>,
    seq: AtomicU64,
    failed: Mutex<Option<std::io::Error>>,
    /// When recording started: entries' times count from here.
    started: std::time::Instant,
}

impl Recorder {
    /// Creates (or truncates) the cassette and writes its header.
    pub fn create(path: &Path, header: &Header) -> Result<Recorder, CassetteError> {
        let write_error = |source| CassetteError::Write { path: path.into(), source };
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(write_error)?;
        }
        let file = std::fs::File::create(path).map_err(write_error)?;
        let mut out = std::io::BufWriter::new(file);
        let line = serde_json::to_string(header).expect("a header serializes");
        writeln!(out, "{line}").map_err(write_error)?;
        Ok(Recorder {
            path: path.into(),
            out: Mutex::new(Some(out)),
            seq: AtomicU64::new(0),
            failed: Mutex::new(None),
            started: std::time::Instant::now(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one exchange (already redacted by whoever recorded it), as soon as it is answered.
    pub fn record(&self, exchange: &Exchange, tamper: Option<&str>) {
        let timing = self.timing(exchange);
        let mut out = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let Some(writer) = out.as_mut() else { return };
        let seq = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        let entry = EntryRef { seq, exchange, tamper, timing };
        let written = serde_json::to_writer(&mut *writer, &entry)
            .map_err(std::io::Error::other)
            .and_then(|()| writer.write_all(b"\n"));
        if let Err(error) = written {
            self.failed.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert(error);
            *out = None;
        }
    }

    /// The exchange's time in flight: from its first attempt (exact when it had one attempt; its
    /// duration back from now otherwise) to now, which is at or after its answer. Both ends err
    /// towards a longer flight, so requests that overlapped are never taken for ones in sequence.
    fn timing(&self, exchange: &Exchange) -> Timing {
        let now = std::time::Instant::now();
        let millis = |at: std::time::Instant| at.saturating_duration_since(self.started).as_secs_f64() * 1000.0;
        let sent = match exchange.sent_at {
            Some(sent_at) if exchange.attempts == 1 => sent_at,
            _ => now.checked_sub(exchange.duration).unwrap_or(self.started),
        };
        Timing { sent_ms: millis(sent), answered_ms: millis(now) }
    }

    /// Exchanges recorded so far.
    pub fn count(&self) -> u64 {
        self.seq.load(Ordering::Relaxed)
    }

    /// Flushes the cassette; the first write that failed, if one did. Later records are dropped.
    pub fn finish(&self) -> Result<u64, CassetteError> {
        let flushed = match self.out.lock().unwrap_or_else(|p| p.into_inner()).take() {
            Some(mut writer) => writer.flush(),
            None => Ok(()),
        };
        let failed = self.failed.lock().unwrap_or_else(|p| p.into_inner()).take();
        match failed.map_or(flushed, Err) {
            Ok(()) => Ok(self.count()),
            Err(source) => Err(CassetteError::Write { path: self.path.clone(), source }),
        }
    }
}

/// [`Entry`] by reference, for writing without a copy of the exchange.
#[derive(Serialize)]
struct EntryRef<'a> {
    seq: u64,
    #[serde(flatten)]
    exchange: &'a Exchange,
    #[serde(skip_serializing_if = "Option::is_none")]
    tamper: Option<&'a str>,
    timing: Timing,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exchange(status: u16) -> Exchange {
        let mut exchange = Exchange::fixture("GET", "/v20190125/meshes/m", status, "{\"mesh\":{}}");
        exchange.operation = Some("DescribeMesh".into());
        exchange.duration = std::time::Duration::from_millis(3);
        exchange
    }

    #[test]
    fn what_is_recorded_reads_back_in_order() {
        let dir = std::env::temp_dir().join(format!("cassette-{}", std::process::id()));
        let path = dir.join("one.jsonl");
        let header = Header::new("a test", "us-east-1", Some("acf-6743a1b2-x9k2".into()));
        let recorder = Recorder::create(&path, &header).expect("creates");
        recorder.record(&exchange(200), None);
        recorder.record(&exchange(403), Some("wrong-secret"));
        assert_eq!(recorder.finish().expect("flushes"), 2);
        let cassette = Cassette::load(&path).expect("reads");
        assert_eq!(cassette.header, header);
        let seen: Vec<(u64, u16, Option<&str>)> =
            cassette.entries.iter().map(|e| (e.seq, e.exchange.status(), e.tamper.as_deref())).collect();
        assert_eq!(seen, vec![(1, 200, None), (2, 403, Some("wrong-secret"))]);
        assert_eq!(cassette.entries[0].exchange.request, exchange(200).request);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), cassette.to_lines());
        std::fs::remove_dir_all(dir).ok();
    }

    #[test]
    fn a_bad_line_is_named() {
        let dir = std::env::temp_dir().join(format!("cassette-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("bad.jsonl");
        let header = serde_json::to_string(&Header::new("t", "us-east-1", None)).unwrap();
        std::fs::write(&path, format!("{header}\n\n{{\"seq\": 1}}\n")).unwrap();
        let error = Cassette::load(&path).unwrap_err().to_string();
        assert!(error.contains("bad.jsonl:3: not a cassette line"), "{error}");
        std::fs::write(&path, "{\"format\":\"other/9\",\"source\":\"x\",\"region\":\"r\",\"recorded_at\":1}\n")
            .unwrap();
        assert!(Cassette::load(&path).unwrap_err().to_string().contains("\"other/9\""));
        std::fs::write(&path, "").unwrap();
        assert!(matches!(Cassette::load(&path), Err(CassetteError::Empty { .. })));
        std::fs::remove_dir_all(dir).ok();
    }
}
