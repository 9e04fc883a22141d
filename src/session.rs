//! One session against one target, from validated [`Settings`] to a [`Report`]: open (connect,
//! start the embedded emulator if that is the target), run (the suite, until it ends, is
//! interrupted, or the run's budget stops it), close (remove what the run created, within a
//! budget of its own, and account for it). The CLI, `cargo test --test conformance` and the
//! mutation self-test all go this one way.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use crate::cassette::{Header, Recorder};
use crate::cleanup::Account;
use crate::emulator::{Deviation, EmulatorConfig};
use crate::model::ServiceModel;
use crate::report::{self, Expectations, ModelInfo, Report, RunInfo, TargetInfo};
use crate::settings::Settings;
use crate::suite::{self, RunError, RunOptions, RunSummary, SuiteContext};
use crate::target::{self, ConnectError, ConnectedTarget};

/// The largest seed: 2^53 - 1, the largest integer every JSON reader holds exactly.
pub const MAX_SEED: u64 = (1 << 53) - 1;

/// How long clean-up may take after the suite, and after an interruption (Ctrl-C must end a run
/// within seconds).
pub const END_CLEANUP: Duration = Duration::from_secs(20);
pub const INTERRUPTED_CLEANUP: Duration = Duration::from_secs(3);

/// What a session is asked to do beyond reaching its target.
#[derive(Debug, Clone)]
pub struct SessionOptions {
    /// The seed of the run's random choices; `None`: a random one.
    pub seed: Option<u64>,
    /// Judge disputed points by the documentation's reading.
    pub strict_docs: bool,
    pub scenario_deadline: Duration,
    pub run_deadline: Duration,
    /// How long nothing but throttling and failures may go on before the run stops.
    pub patience: Duration,
    /// Deviation modes and readings for the embedded emulator (refused for another target).
    pub deviations: Vec<Deviation>,
    pub readings: std::collections::BTreeMap<String, String>,
    /// Write every exchange of the run, clean-up included, to this cassette (`--record`).
    pub record: Option<PathBuf>,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions {
            seed: None,
            strict_docs: false,
            scenario_deadline: suite::DEFAULT_SCENARIO_DEADLINE,
            run_deadline: crate::client::budget::DEFAULT_RUN_DEADLINE,
            patience: crate::client::budget::PERSISTENT_TIME,
            deviations: Vec::new(),
            readings: Default::default(),
            record: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("--seed {0} is too large: at most {MAX_SEED}, so every JSON reader keeps it exact")]
    SeedTooLarge(u64),
    #[error("{0} applies to the embedded emulator only; drop --endpoint/--aws, or drop {0}")]
    EmbeddedOnly(&'static str),
    #[error(transparent)]
    Connect(#[from] ConnectError),
    #[error(transparent)]
    Record(#[from] crate::cassette::CassetteError),
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub summary: RunSummary,
    /// Why it stopped before its scenarios were done, if it did.
    pub stopped: Option<String>,
    /// It stopped because it was interrupted (Ctrl-C, SIGTERM).
    pub interrupted: bool,
}

/// What the reports say the run was, besides what the session knows.
#[derive(Debug, Clone, Default)]
pub struct Labels {
    /// What the target is, for example "moto 5.2.5".
    pub target: Option<String>,
    /// `embedded`, or the path of a model given with `--model`.
    pub model_source: String,
    /// The model's text, for its digest.
    pub model_text: String,
    pub tags: Option<String>,
}

/// One session against one target.
pub struct Session {
    pub target: ConnectedTarget,
    pub ctx: Arc<SuiteContext>,
    pub model: Arc<ServiceModel>,
    pub seed: u64,
    pub jobs: Option<usize>,
    options: SessionOptions,
    started: SystemTime,
    clock: Instant,
}

impl Session {
    /// Connects to the target (starting the embedded emulator when that is it) and prepares the
    /// run's context.
    pub async fn open(
        model: Arc<ServiceModel>,
        settings: &Settings,
        options: SessionOptions,
        jobs: Option<usize>,
    ) -> Result<Session, SessionError> {
        let seed = options.seed.unwrap_or_else(|| fastrand::u64(..=MAX_SEED));
        if seed > MAX_SEED {
            return Err(SessionError::SeedTooLarge(seed));
        }
        let named = |e: &String| e.trim() != crate::client::target::EMBEDDED;
        let external = settings.target.endpoint.as_ref().is_some_and(named) || settings.target.aws;
        if external && !options.deviations.is_empty() {
            return Err(SessionError::EmbeddedOnly("--deviation"));
        }
        if external && !options.readings.is_empty() {
            return Err(SessionError::EmbeddedOnly("--reading"));
        }
        let mut target_options = settings.target.clone();
        target_options.run_deadline = Some(options.run_deadline);
        target_options.patience = options.patience;
        target_options.emulator = EmulatorConfig {
            deviations: options.deviations.iter().copied().collect(),
            readings: options.readings.clone(),
            ..target_options.emulator
        };
        let mut target = target::connect(model.clone(), target_options).await?;
        let mut ctx =
            SuiteContext::with_seed(target.client.clone(), target.account_id.clone(), settings.profile.clone(), seed);
        if let Some(path) = &options.record {
            let source = format!("run {} against {}", ctx.run_id, target.describe());
            let header = Header::new(source, &target.client.config().region, Some(ctx.run_id.clone()));
            let recorder = Arc::new(Recorder::create(path, &header)?);
            target.client = Arc::new(target.client.recording(recorder));
            ctx.client = target.client.clone();
        }
        ctx.explicit_max_rps = settings.explicit_max_rps;
        ctx.strict_docs = options.strict_docs;
        ctx.scenario_deadline = options.scenario_deadline;
        let jobs = jobs.or(Some(if target.emulator.is_some() {
            suite::EMBEDDED_TARGET_CONCURRENCY
        } else {
            suite::EXTERNAL_TARGET_CONCURRENCY
        }));
        Ok(Session {
            target,
            ctx: Arc::new(ctx),
            model,
            seed,
            jobs,
            options,
            started: SystemTime::now(),
            clock: Instant::now(),
        })
    }

    /// One line: where the session points.
    pub fn describe(&self) -> String {
        self.target.describe()
    }

    /// Runs the suite until its scenarios are done, `interrupt` resolves (its scenarios in flight
    /// are then dropped), or the run's budget says stop.
    pub async fn run(
        &self,
        mut options: RunOptions,
        interrupt: impl std::future::Future<Output = ()>,
    ) -> Result<RunOutcome, RunError> {
        options.max_concurrent_scenarios = options.max_concurrent_scenarios.or(self.jobs);
        let budget = self.target.client.budget().clone();
        tokio::select! {
            result = suite::run(self.ctx.clone(), options) => {
                Ok(RunOutcome { summary: result?, stopped: None, interrupted: false })
            }
            () = interrupt => Ok(RunOutcome {
                summary: suite::summary_so_far(&self.ctx),
                stopped: Some("interrupted (Ctrl-C or SIGTERM)".to_string()),
                interrupted: true,
            }),
            reason = budget.wait_stopped() => Ok(RunOutcome {
                summary: suite::summary_so_far(&self.ctx),
                stopped: Some(reason),
                interrupted: false,
            }),
        }
    }

    /// Removes every mesh the run asked for that is not known to be gone, within `within` (or
    /// until `interrupt` resolves), and accounts for what the run created.
    pub async fn settle(&self, within: Duration, interrupt: impl std::future::Future<Output = ()>) -> Account {
        let created = self.ctx.meshes_created();
        tokio::select! {
            account = self.ctx.ledger.settle(&self.target.client, within, created) => account,
            () = interrupt => self.ctx.ledger.account(created),
        }
    }

    /// What the reports say about this run.
    pub fn run_info(&self, labels: &Labels, stopped: Option<String>, account: Account) -> RunInfo {
        let config = self.target.client.config();
        RunInfo {
            run_id: self.ctx.run_id.clone(),
            seed: self.seed,
            started_at: report::rfc3339(
                self.started.duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs(),
            ),
            duration_ms: self.clock.elapsed().as_secs_f64() * 1000.0,
            tags: labels.tags.clone(),
            jobs: self.jobs,
            max_rps: config.max_rps,
            target: TargetInfo {
                description: match &labels.target {
                    Some(label) => format!("{label} at {}", self.describe()),
                    None => self.describe(),
                },
                endpoint: config.endpoint.clone(),
                region: config.region.clone(),
                embedded: self.target.emulator.is_some(),
                profile: self.ctx.profile.description.clone(),
                deviations: self.options.deviations.iter().map(|d| d.name().to_string()).collect(),
                readings: self.options.readings.iter().map(|(d, r)| format!("{d}={r}")).collect(),
            },
            model: ModelInfo::new(&labels.model_source, &self.model.metadata.api_version, &labels.model_text),
            latency: self.target.client.latency(),
            stopped,
            resources: account,
        }
    }

    /// The report of a run.
    pub fn report(
        &self,
        outcome: &RunOutcome,
        account: Account,
        labels: &Labels,
        expectations: Option<(&Path, &Expectations)>,
    ) -> Report {
        let info = self.run_info(labels, outcome.stopped.clone(), account);
        Report::build(&outcome.summary, info, report::coverage(&self.model), expectations, &self.model)
    }

    /// Flushes the cassette of `--record`: how many exchanges it holds, or why it could not be
    /// written; `None` without `--record`.
    pub fn finish_recording(&self) -> Option<Result<(u64, PathBuf), crate::cassette::CassetteError>> {
        let recorder = self.target.client.recorder()?;
        Some(recorder.finish().map(|count| (count, recorder.path().to_path_buf())))
    }

    /// Stops the embedded emulator, if the session started one.
    pub async fn close(self) {
        if let Some(emulator) = self.target.emulator {
            emulator.shutdown().await;
        }
    }
}

/// Where the reports of a run go unless told otherwise.
pub fn default_report_dir() -> PathBuf {
    PathBuf::from("reports/latest")
}
