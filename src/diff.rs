//! `diff`: two targets side by side. The same requests (a cassette's, or those of a seeded run of
//! the suite recorded against the embedded emulator, one scenario at a time) are replayed against
//! target A twice and target B once; each of B's answers is compared with A's first, and every
//! difference that A's second answer also shows against its first is noise (something that varies
//! by itself: a clock, an order, a random choice) and is set aside, as is what a race explains
//! (see [`crate::races`]). What is left is how B differs from A, grouped by cause in the reports,
//! each with both answers.

use std::collections::BTreeSet;
use std::path::Path;

use crate::cassette::Cassette;
use crate::checks::CheckFailure;
use crate::client::Client;
use crate::compare::{Difference, Normalizer, differences};
use crate::exchange::Exchange;
use crate::races::Races;
use crate::replay::{self, Replay};
use crate::report::traffic::Judged;
use crate::target::ConnectedTarget;

/// One request's answers from both sides.
#[derive(Debug, Clone)]
pub struct Pair {
    pub seq: u64,
    pub operation: Option<String>,
    pub kind: Option<String>,
    pub a: Option<Exchange>,
    pub b: Option<Exchange>,
    /// Differences beyond the noise.
    pub differences: Vec<Difference>,
    /// Differences the noise baseline set aside.
    pub noise: Vec<Difference>,
}

/// A whole comparison.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub pairs: Vec<Pair>,
    /// What a replay could not remove, per side.
    pub left: Vec<String>,
}

impl Comparison {
    pub fn differing(&self) -> usize {
        self.pairs.iter().filter(|p| !p.differences.is_empty()).count()
    }

    pub fn noisy(&self) -> usize {
        self.pairs.iter().filter(|p| !p.noise.is_empty()).count()
    }

    /// B's answers, each with its differences from A's as failed `diff.*` checks (A's answer in
    /// the hint), for the reports.
    pub fn judged(&self) -> Vec<Judged> {
        self.pairs
            .iter()
            .filter_map(|pair| {
                let b = pair.b.clone()?;
                let operation = pair.operation.clone().unwrap_or_else(|| "(no operation)".to_string());
                let reference = pair.a.as_ref().map_or("no answer".to_string(), shown);
                let findings: Vec<CheckFailure> = pair
                    .differences
                    .iter()
                    .map(|d| {
                        let mut failure = d.failure(&operation);
                        failure.hint = Some(format!("A answered:\n{reference}"));
                        failure
                    })
                    .collect();
                Some(Judged {
                    seq: pair.seq,
                    exchange: b,
                    operation: pair.operation.clone(),
                    kind: pair.kind.clone(),
                    findings,
                    unjudged: Vec::new(),
                    step: "B answers as A does".to_string(),
                })
            })
            .collect()
    }
}

/// An answer in a few lines: status, code, body (cut).
fn shown(exchange: &Exchange) -> String {
    let body: String = exchange.response.body.chars().take(1500).collect();
    format!("< {} {}\n< {body}", exchange.status(), exchange.error_code().unwrap_or_default())
}

/// Replays `cassette` against A twice (through `a` and `a_again`: two embedded emulators are two
/// fresh ones) and B once, and compares.
pub async fn compare(a: &Client, a_again: &Client, b: &Client, cassette: &Cassette) -> Comparison {
    let fresh = || crate::cleanup::run_id(&crate::cleanup::random_tag(&mut fastrand::Rng::new()));
    let first = replay::replay(a, cassette, &fresh()).await;
    let second = replay::replay(a_again, cassette, &fresh()).await;
    let other = replay::replay(b, cassette, &fresh()).await;
    let mut left = Vec::new();
    for (side, replay) in [("A", &first), ("A again", &second), ("B", &other)] {
        left.extend(replay.left.iter().map(|l| format!("{side}: {l}")));
    }
    let races = Races::of(&cassette.entries);
    Comparison { pairs: pairs(cassette, &first, &second, &other, &races), left }
}

/// For each request, the request whose answer from A its answer from `side` is compared with: its
/// own, unless racers of one request swapped outcomes (see [`Races::partners`]).
fn partners(races: &Races, first: &Replay, side: &Replay) -> Vec<usize> {
    let outcome =
        |replay: &Replay, i: usize| replay.entries[i].live.as_ref().ok().map(|e| (e.status(), e.error_code()));
    races.partners(
        |k| outcome(first, k).unwrap_or((0, None)),
        |i| outcome(side, i).filter(|_| outcome(first, i).is_some()),
    )
}

fn pairs(cassette: &Cassette, first: &Replay, second: &Replay, other: &Replay, races: &Races) -> Vec<Pair> {
    // Each side has a normaliser of its own, which learns that side's values as it goes.
    let mut na = Normalizer::new([first.run_id.clone()]);
    let mut na2 = Normalizer::new([second.run_id.clone()]);
    let mut nb = Normalizer::new([other.run_id.clone()]);
    let (again, besides) = (partners(races, first, second), partners(races, first, other));
    // What B's racers sent where A's won differently: B's later answers echo it.
    let text = Normalizer::new(cassette.header.run_id.clone());
    let swaps = crate::replay::Swaps::of(&cassette.entries, &besides, |body| text.text(body));
    let (again, besides) = (crate::races::inverse(&again), crate::races::inverse(&besides));
    let mut pairs = Vec::new();
    for (k, x) in first.entries.iter().enumerate() {
        let (y, z) = (&second.entries[again[k]], &other.entries[besides[k]]);
        let (a, a2, b) = (x.live.as_ref().ok(), y.live.as_ref().ok(), z.live.as_ref().ok());
        let (an, a2n, bn) = (a.map(|e| na.answer(e)), a2.map(|e| na2.answer(e)), b.map(|e| nb.answer(e)));
        let noise: BTreeSet<String> = match (&an, &a2n) {
            (Some(a), Some(a2)) => differences(a, a2).iter().map(Difference::cause).collect(),
            (None, None) => BTreeSet::new(),
            _ => BTreeSet::from(["status ".to_string()]),
        };
        let found = match (&an, &bn) {
            (Some(a), Some(b)) => differences(a, b),
            (None, None) => Vec::new(),
            (Some(a), None) => vec![no_answer(a.status.to_string(), "no answer".into())],
            (None, Some(b)) => vec![no_answer("no answer".into(), b.status.to_string())],
        };
        // What differs in an answer that raced may come of which went first: noise too.
        let raced = races.raced(k) || races.raced(besides[k]);
        let (noise, differences): (Vec<Difference>, Vec<Difference>) =
            found.into_iter().partition(|d| raced || swaps.explain(races, k, d) || noise.contains(&d.cause()));
        pairs.push(Pair {
            seq: x.recorded.seq,
            operation: x.operation.clone(),
            kind: x.kind.clone(),
            a: a.cloned(),
            b: b.cloned(),
            differences,
            noise,
        });
    }
    pairs
}

fn no_answer(a: String, b: String) -> Difference {
    Difference { kind: crate::compare::DiffKind::Status, path: String::new(), a, b }
}

/// The feature name compared exchanges are reported under.
pub const DIFF_FEATURE: &str = "Two targets side by side: B answers as A does";

/// The report of a comparison.
pub fn report(
    comparison: &Comparison,
    a: &ConnectedTarget,
    b: &ConnectedTarget,
    source: &str,
    started: std::time::SystemTime,
    took: std::time::Duration,
) -> crate::report::Report {
    let config = b.client.config();
    let description = format!("B: {} against A: {} ({source})", b.describe(), a.describe());
    let info = crate::report::TargetInfo::of_traffic(
        description,
        config.endpoint.clone(),
        config.region.clone(),
        b.emulator.is_some(),
    );
    let traffic = crate::report::traffic::Traffic {
        label: "diff",
        run_id: None,
        feature: DIFF_FEATURE,
        target: info,
        started,
        took,
        latency: b.client.latency(),
        requests: a.client.requests() + b.client.requests(),
    };
    crate::report::traffic::report(traffic, &comparison.judged())
}

/// The cassette `diff` replays when given none: a seeded run of the suite (the scenarios `tags`
/// selects) against a fresh embedded emulator, one scenario at a time, recorded to `path`.
pub async fn record_suite(path: &Path, seed: Option<u64>, tags: Option<String>) -> Result<Cassette, DiffError> {
    use crate::session::{Session, SessionOptions};
    let model = std::sync::Arc::new(crate::model::ServiceModel::embedded());
    let embedded = crate::settings::TargetArgs {
        endpoint: Some(crate::client::target::EMBEDDED.to_string()),
        ..Default::default()
    };
    let settings =
        crate::settings::Settings::resolve(&model, &embedded, &crate::settings::DeclarationArgs::default(), &|_| None)?;
    let options = SessionOptions { seed, record: Some(path.to_path_buf()), ..SessionOptions::default() };
    let session = Session::open(model, &settings, options, Some(1)).await?;
    let run = crate::suite::RunOptions {
        features: crate::suite::FeatureSource::Embedded,
        tags,
        report_dir: None,
        max_concurrent_scenarios: None,
        progress: true,
        quiet: true,
    };
    let outcome = session.run(run, std::future::pending()).await?;
    session.settle(crate::session::END_CLEANUP, std::future::pending()).await;
    let recorded = session.finish_recording();
    session.close().await;
    if let Some(Err(error)) = recorded {
        return Err(error.into());
    }
    if outcome.summary.passed + outcome.summary.failed == 0 {
        return Err(DiffError::NothingRecorded);
    }
    Ok(Cassette::load(path)?)
}

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error(transparent)]
    Settings(#[from] crate::settings::SettingsError),
    #[error(transparent)]
    Session(#[from] crate::session::SessionError),
    #[error(transparent)]
    Run(#[from] crate::suite::RunError),
    #[error(transparent)]
    Cassette(#[from] crate::cassette::CassetteError),
    #[error("no scenario matched --tags, so there are no requests to compare; widen --tags")]
    NothingRecorded,
}
