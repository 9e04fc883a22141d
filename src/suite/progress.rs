//! What a run shows while it goes: on a terminal, a progress bar (scenarios done of all, failures
//! so far, time elapsed); elsewhere (CI logs), plain lines: one per failed or skipped scenario and
//! one at every tenth of the run. On a terminal those lines print above the bar, never on it. The full account comes at the end and in the reports.

use std::io::IsTerminal as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use cucumber::{Event, World, cli, event, parser, writer};

use super::{Outcome, SuiteContext};

pub struct Progress {
    /// The run whose results it shows.
    ctx: Arc<SuiteContext>,
    /// Print nothing.
    quiet: bool,
    bar: Option<indicatif::ProgressBar>,
    total: Option<usize>,
    started: Instant,
    /// Results already shown (an index into the context's results).
    shown: usize,
    next_milestone: usize,
}

impl Progress {
    /// A bar when stdout is a terminal (and `CI` is not set), plain lines otherwise.
    pub fn new(ctx: Arc<SuiteContext>, quiet: bool) -> Self {
        let interactive = !quiet && std::io::stdout().is_terminal() && std::env::var_os("CI").is_none();
        let bar = interactive.then(|| {
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{spinner} [{elapsed_precise}] {bar:40} {pos}/{len} scenarios {msg}",
                )
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.set_length(ctx.expected_scenarios.load(std::sync::atomic::Ordering::Relaxed) as u64);
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Progress { ctx, quiet, bar, total: None, started: Instant::now(), shown: 0, next_milestone: 1 }
    }

    fn line(&self, text: &str) {
        if self.quiet {
            return;
        }
        match &self.bar {
            Some(bar) => bar.println(text),
            None => println!("{text}"),
        }
    }

    /// Shows what finished since the last call.
    fn update(&mut self) {
        let ctx = self.ctx.clone();
        if self.total.is_none() {
            self.total = Some(ctx.expected_scenarios.load(std::sync::atomic::Ordering::Relaxed)).filter(|n| *n > 0);
        }
        let results = ctx.results.lock().unwrap_or_else(|p| p.into_inner());
        let ran: Vec<_> = results.iter().filter(|r| r.skip_reason.is_none()).collect();
        let done = ran.len();
        let failed = ran.iter().filter(|r| r.outcome == Outcome::Failed).count();
        let fresh: Vec<String> = results[self.shown.min(results.len())..]
            .iter()
            .filter_map(|r| {
                if let Some(reason) = &r.skip_reason {
                    return Some(format!("skipped: {} ({}): {reason}", r.scenario, r.location));
                }
                let ids: Vec<String> =
                    r.failures.iter().flat_map(|s| s.failures.iter().map(|f| f.id.to_string())).collect();
                let ids = if ids.is_empty() { "a step failed".to_string() } else { ids.join(", ") };
                (r.outcome == Outcome::Failed).then(|| format!("FAILED {} ({}): {ids}", r.scenario, r.location))
            })
            .collect();
        self.shown = results.len();
        drop(results);
        for line in fresh {
            self.line(&line);
        }
        let total = self.total.unwrap_or(done).max(done);
        match &self.bar {
            Some(bar) => {
                bar.set_length(total as u64);
                bar.set_position(done as u64);
                bar.set_message(if failed > 0 { format!("{failed} failed") } else { String::new() });
            }
            None => {
                if let Some(total) = self.total
                    && total > 0
                    && done * 10 >= self.next_milestone * total
                {
                    while done * 10 >= self.next_milestone * total {
                        self.next_milestone += 1;
                    }
                    self.line(&format!(
                        "progress: {done}/{total} scenarios, {failed} failed, {:.1} s",
                        self.started.elapsed().as_secs_f64()
                    ));
                }
            }
        }
    }
}

impl<W: World> cucumber::Writer<W> for Progress {
    type Cli = cli::Empty;

    async fn handle_event(&mut self, event: parser::Result<Event<event::Cucumber<W>>>, _cli: &Self::Cli) {
        let event = match event {
            Ok(event) => event.value,
            Err(error) => {
                self.line(&format!("error: a feature file could not be parsed: {error}"));
                return;
            }
        };
        match event {
            event::Cucumber::ParsingFinished { scenarios, .. } => {
                self.total = Some(scenarios);
                self.update();
            }
            event::Cucumber::Feature(_, event::Feature::Scenario(_, scenario))
            | event::Cucumber::Feature(_, event::Feature::Rule(_, event::Rule::Scenario(_, scenario)))
                if matches!(scenario.event, event::Scenario::Finished) =>
            {
                self.update();
            }
            event::Cucumber::Finished => {
                self.update();
                if let Some(bar) = &self.bar {
                    bar.finish_and_clear();
                }
            }
            _ => {}
        }
    }
}

impl writer::NonTransforming for Progress {}
