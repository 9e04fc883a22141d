//! The reports a run writes, read as their consumers read them: report.json against its JSON
//! Schema, junit.xml against the JUnit schema with xmllint, report.html rendered (and
//! photographed) in headless Chromium; no secret in any report or log line; and the expectations
//! file deciding the exit code.

use std::path::{Path, PathBuf};
use std::process::Command;

use appmesh_conformance::emulator::{AuthConfig, Deviation};
use serde_json::Value;

use crate::common::{binary, core_unless_tagged, start_emulator, tempdir, text};

/// Runs `run` against `endpoint` with extra arguments; returns the output and the report directory.
async fn run(endpoint: &str, extra: &[&str]) -> (std::process::Output, PathBuf) {
    let reports = PathBuf::from(tempdir());
    let mut command = binary();
    command.args(["run", "--endpoint", endpoint, "--report-dir"]).arg(&reports).args(core_unless_tagged(extra));
    let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    (output, reports)
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())))
        .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn schema() -> jsonschema::Validator {
    let schema = read_json(&Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/schema.json"));
    jsonschema::draft202012::new(&schema).expect("reports/schema.json is a valid JSON Schema")
}

/// A run with failures of several kinds, its report checked against reports/schema.json; the
/// schema is shown to refuse a report that lost a member or changed a type.
#[tokio::test]
async fn report_json_validates_against_its_schema() {
    let running =
        start_emulator(&[Deviation::TimestampsAsStrings, Deviation::PortZeroAccepted], AuthConfig::default()).await;
    let expectations = tempdir() + ".toml";
    std::fs::write(
        &expectations,
        "[[expected]]\ncheck = \"shape.type@metadata.createdAt\"\nreason = \"strings\"\nlink = \"https://example.org/1\"\n\
         [[expected]]\ncheck = \"echo.spec\"\nreason = \"listed but not shown\"\n",
    )
    .unwrap();
    let (output, reports) = run(&running.endpoint(), &["--expectations", &expectations]).await;
    running.shutdown().await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let report = read_json(&reports.join("report.json"));
    let validator = schema();
    let problems: Vec<String> =
        validator.iter_errors(&report).map(|e| format!("{} at {}", e, e.instance_path())).collect();
    assert!(problems.is_empty(), "report.json does not follow reports/schema.json:\n{}", problems.join("\n"));
    // The run exercised what the schema describes: failures, expected ones, buckets, exchanges.
    assert!(report["failures"].as_array().unwrap().iter().any(|f| f["expected_by"].is_object()));
    assert!(report["failures"].as_array().unwrap().iter().any(|f| f["exchange"].is_object()));
    assert!(report["buckets"].as_array().unwrap().len() >= 3, "{}", report["buckets"]);
    // The run chose its scenarios (the core suite), so it cannot say a listed check is fixed.
    assert_eq!(report["expectations"]["not_exercised"][0]["check"], "echo.spec", "{}", report["expectations"]);

    let mut broken = report.clone();
    broken.as_object_mut().unwrap().remove("counts");
    assert!(!validator.is_valid(&broken), "the schema accepts a report without counts");
    let mut broken = report.clone();
    broken["failures"][0]["severity"] = Value::from("Must");
    assert!(!validator.is_valid(&broken), "the schema accepts an unknown severity");

    // The same run's junit.xml, against the JUnit schema.
    check_junit(&reports.join("junit.xml"));
    let junit = std::fs::read_to_string(reports.join("junit.xml")).unwrap();
    assert!(junit.contains("<failure"), "a failed check is a <failure>");
    assert!(junit.contains("<skipped"), "skipped scenarios are <skipped>");
    let _ = std::fs::remove_dir_all(&reports);
    let _ = std::fs::remove_file(&expectations);
}

/// xmllint (Debian's libxml2-utils), or `None` when it is not installed outside CI.
fn xmllint() -> Option<&'static str> {
    let found = Command::new("xmllint").arg("--version").output().is_ok_and(|o| o.status.success());
    if !found {
        assert!(std::env::var_os("CI").is_none(), "xmllint is missing; .ci/run installs libxml2-utils");
        eprintln!("skipped: xmllint is not installed (apt-get install libxml2-utils)");
        return None;
    }
    Some("xmllint")
}

fn check_junit(path: &Path) {
    let Some(xmllint) = xmllint() else { return };
    let xsd = Path::new(env!("CARGO_MANIFEST_DIR")).join("reports/junit.xsd");
    let output = Command::new(xmllint).arg("--noout").arg("--schema").arg(&xsd).arg(path).output().unwrap();
    assert!(output.status.success(), "junit.xml does not validate:\n{}", text(&output));
    // The schema is live: a test case without a name is refused.
    let broken = std::fs::read_to_string(path).unwrap().replacen("<testcase name=", "<testcase nom=", 1);
    let broken_path = path.with_extension("broken.xml");
    std::fs::write(&broken_path, broken).unwrap();
    let output = Command::new(xmllint).arg("--noout").arg("--schema").arg(&xsd).arg(&broken_path).output().unwrap();
    assert!(!output.status.success(), "the JUnit schema accepts a test case without a name");
}

/// Debian's Chromium, or `None` when it is not installed outside CI.
fn chromium() -> Option<PathBuf> {
    let candidates = ["chromium", "chromium-browser", "google-chrome"];
    let found = candidates
        .iter()
        .find(|name| Command::new(name).arg("--version").output().is_ok_and(|o| o.status.success()))
        .map(PathBuf::from);
    if found.is_none() {
        assert!(std::env::var_os("CI").is_none(), "chromium is missing; .ci/run installs it");
        eprintln!("skipped: chromium is not installed (apt-get install chromium)");
    }
    found
}

/// Headless Chromium with a fresh profile and no background traffic.
fn headless(browser: &Path, profile: &Path) -> Command {
    let mut command = Command::new(browser);
    command.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--window-size=1300,1400",
    ]);
    command.arg(format!("--user-data-dir={}", profile.display()));
    command
}

/// report.html renders in headless Chromium with no network: its script draws the areas matrix,
/// the filters and every scenario row, and a screenshot is taken (`report-html-screenshot.png` in
/// cargo's temporary folder for tests, `target/tmp/` by default, kept for a person to look at).
#[tokio::test]
async fn report_html_renders_in_headless_chromium() {
    let Some(browser) = chromium() else { return };
    let running = start_emulator(&[Deviation::TimestampsAsStrings], AuthConfig::default()).await;
    let (output, reports) = run(&running.endpoint(), &["--tags", "@documented-example or @auth or @limits"]).await;
    running.shutdown().await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    let report = read_json(&reports.join("report.json"));
    let scenarios = report["scenarios"].as_array().unwrap().len();
    let page = format!("file://{}", reports.join("report.html").display());
    let profile = PathBuf::from(tempdir());

    let mut dump = headless(&browser, &profile);
    dump.args(["--dump-dom", &page]);
    let dom = tokio::task::spawn_blocking(move || dump.output().unwrap()).await.unwrap();
    let dom = String::from_utf8_lossy(&dom.stdout).into_owned();
    assert!(dom.contains("data-rendered=\"ok\""), "the report's script did not finish:\n{dom:.2000}");
    assert!(dom.contains("id=\"matrix\""), "no areas matrix");
    for id in ["filter-status", "filter-area", "filter-text"] {
        assert!(dom.contains(&format!("id=\"{id}\"")), "no filter {id}");
    }
    assert_eq!(dom.matches("<tr data-status=").count(), scenarios, "one row per scenario");
    assert!(dom.contains("shape.type@metadata.createdAt"), "the failure's check id is shown");
    assert!(dom.contains("class=\"exchange\""), "the failure's exchange is shown");
    assert!(dom.contains("curl -sS -X PUT --aws-sigv4"), "the reproduction is shown");
    assert!(dom.contains("class=\"source\""), "each failure shows its source");
    assert!(dom.contains("AWS SDK service model of App Mesh"), "the source's title is shown");
    assert!(dom.contains("id=\"informational\""), "the section of disagreements is there");

    let screenshot = Path::new(env!("CARGO_TARGET_TMPDIR")).join("report-html-screenshot.png");
    let _ = std::fs::remove_file(&screenshot);
    let mut shoot = headless(&browser, &profile);
    shoot.arg(format!("--screenshot={}", screenshot.display())).arg(&page);
    let shot = tokio::task::spawn_blocking(move || shoot.output().unwrap()).await.unwrap();
    let png = std::fs::read(&screenshot).unwrap_or_else(|e| panic!("no screenshot ({e}):\n{}", text(&shot)));
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n"), "the screenshot is not a PNG");
    assert!(png.len() > 20_000, "the screenshot is {} bytes: an empty page?", png.len());
    let _ = std::fs::remove_dir_all(&profile);
    let _ = std::fs::remove_dir_all(&reports);
}

/// A run with recognisable fake credentials and a session token, logging at debug level, with
/// failures (so exchanges are recorded): no report file and no output line holds the secret key,
/// the session token, the whole access key id or a signature.
#[tokio::test]
async fn no_secret_reaches_a_report_or_a_log() {
    const KEY_ID: &str = "AKIAFAKEKEYID0SECRETS";
    const SECRET: &str = "fake-secret-key-4f1d2c9b8a7e6d5c4b3a29181716151413121110";
    const TOKEN: &str = "FAKE-SESSION-TOKEN-0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c";
    let auth = AuthConfig { access_key_id: KEY_ID.to_string(), secret_access_key: SECRET.to_string() };
    let running = start_emulator(&[Deviation::TimestampsAsStrings], auth).await;
    let reports = PathBuf::from(tempdir());
    let mut command = binary();
    command
        .env("AWS_ACCESS_KEY_ID", KEY_ID)
        .env("AWS_SECRET_ACCESS_KEY", SECRET)
        .env("AWS_SESSION_TOKEN", TOKEN)
        .env("RUST_LOG", "debug")
        .args(["run", "--endpoint", &running.endpoint(), "--tags", "@documented-example or @auth or @idempotency"])
        .arg("--report-dir")
        .arg(&reports);
    let output = tokio::task::spawn_blocking(move || command.output().unwrap()).await.unwrap();
    running.shutdown().await;
    let log = text(&output);
    assert_eq!(output.status.code(), Some(1), "{log}");
    assert!(log.contains("DEBUG") || log.contains("debug"), "the run logged nothing at debug level");

    let signature = regex::Regex::new("(?i)signature=[0-9a-f]{64}").unwrap();
    let mut texts = vec![("output".to_string(), log)];
    for entry in std::fs::read_dir(&reports).unwrap() {
        let path = entry.unwrap().path();
        texts.push((path.display().to_string(), std::fs::read_to_string(&path).unwrap()));
    }
    assert!(texts.len() >= 6, "reports missing: {:?}", texts.iter().map(|t| &t.0).collect::<Vec<_>>());
    for (name, content) in &texts {
        for secret in [SECRET, TOKEN, KEY_ID] {
            assert!(!content.contains(secret), "{name} holds {secret}");
        }
        assert!(!signature.is_match(content), "{name} holds a signature");
    }
    // The exchanges are there, with the secrets taken out.
    let report = std::fs::read_to_string(reports.join("report.json")).unwrap();
    assert!(report.contains("Signature=<redacted>"), "no recorded exchange in report.json");
    let _ = std::fs::remove_dir_all(&reports);
}

/// Expectations decide the exit code: listed failures are expected (exit 0), an unlisted one
/// fails the run, and under --strict a listed deviation that no longer shows fails it too.
#[tokio::test]
async fn expectations_turn_known_deviations_into_expected_failures() {
    let running = start_emulator(&[Deviation::TimestampsAsStrings], AuthConfig::default()).await;
    let endpoint = running.endpoint();
    let tags = "@documented-example or @auth";
    let file = tempdir() + ".toml";
    let both = "[[expected]]\ncheck = \"shape.type@metadata.createdAt\"\nreason = \"strings\"\n\
                [[expected]]\ncheck = \"shape.type@metadata.lastUpdatedAt\"\nreason = \"strings\"\n";
    std::fs::write(&file, both).unwrap();
    let (output, reports) = run(&endpoint, &["--tags", tags, "--expectations", &file]).await;
    assert_eq!(output.status.code(), Some(0), "every failure is listed:\n{}", text(&output));
    let report = read_json(&reports.join("report.json"));
    assert!(report["counts"]["expected_failures"].as_u64().unwrap() >= 1, "{}", report["counts"]);
    assert_eq!(report["counts"]["failed"], 0);
    let markdown = std::fs::read_to_string(reports.join("report.md")).unwrap();
    assert!(markdown.contains("| expected |"), "report.md marks the causes expected:\n{markdown}");

    // One of the two left out: the other cause is unexpected and fails the run.
    std::fs::write(&file, "[[expected]]\ncheck = \"shape.type@metadata.createdAt\"\nreason = \"strings\"\n").unwrap();
    let (output, _) = run(&endpoint, &["--tags", tags, "--expectations", &file]).await;
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(text(&output).contains("UNEXPECTED [MUST] shape.type@metadata.lastUpdatedAt"), "{}", text(&output));
    running.shutdown().await;

    // Against the faithful emulator, a listed scenario passes: reported, and fatal with --strict.
    let faithful = start_emulator(&[], AuthConfig::default()).await;
    let scenario = "features/create_virtual_node/documented_example.feature:10";
    std::fs::write(&file, format!("[[expected]]\nscenario = \"{scenario}\"\nreason = \"was broken\"\n")).unwrap();
    let (output, reports) = run(&faithful.endpoint(), &["--tags", tags, "--expectations", &file]).await;
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let report = read_json(&reports.join("report.json"));
    assert_eq!(report["expectations"]["unexpectedly_passing"][0]["scenario"], scenario, "{}", report["expectations"]);
    assert!(text(&output).contains("unexpectedly passing"), "{}", text(&output));
    let (output, _) = run(&faithful.endpoint(), &["--tags", tags, "--expectations", &file, "--strict"]).await;
    assert_eq!(output.status.code(), Some(1), "--strict fails on an unexpectedly passing entry:\n{}", text(&output));
    faithful.shutdown().await;

    // A broken expectations file is a usage error naming the problem.
    std::fs::write(&file, "[[expected]]\ncheck = \"a\"\n").unwrap();
    let (output, _) = run(&endpoint, &["--expectations", &file]).await;
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(text(&output).contains("reason"), "{}", text(&output));
    let _ = std::fs::remove_file(&file);
}

/// The client tokens a run sends, from the recorded exchanges of its failures.
fn tokens(report: &Value) -> Vec<String> {
    let token = regex::Regex::new(r#""clientToken":"([0-9a-f-]{36})""#).unwrap();
    let mut found = Vec::new();
    for failure in report["failures"].as_array().into_iter().flatten() {
        let body = failure["exchange"]["request"]["body"].as_str().unwrap_or_default();
        found.extend(token.captures_iter(body).map(|c| c[1].to_string()));
    }
    found
}

/// With --jobs 1 a seed repeats the run's random choices (here, the client tokens sent); another
/// seed makes others. The seed is printed and kept in the report.
#[tokio::test]
async fn a_seed_repeats_the_random_choices() {
    let running = start_emulator(&[Deviation::TimestampsAsStrings], AuthConfig::default()).await;
    let endpoint = running.endpoint();
    let mut seen = Vec::new();
    for seed in ["7", "7", "8"] {
        let (output, reports) = run(&endpoint, &["--tags", "@idempotency", "--jobs", "1", "--seed", seed]).await;
        assert_eq!(output.status.code(), Some(1), "{}", text(&output));
        assert!(text(&output).contains(&format!("--seed {seed}")), "{}", text(&output));
        let report = read_json(&reports.join("report.json"));
        assert_eq!(report["run"]["seed"].as_u64(), Some(seed.parse().unwrap()));
        let sent = tokens(&report);
        assert!(!sent.is_empty(), "no client token recorded");
        seen.push(sent);
        let _ = std::fs::remove_dir_all(&reports);
    }
    running.shutdown().await;
    // Which failures a run records can vary with timing, so the runs are compared by the tokens
    // they share: the same seed draws the same tokens, another seed none of them.
    let shared = |a: &Vec<String>, b: &Vec<String>| a.iter().filter(|t| b.contains(t)).count();
    assert!(shared(&seen[0], &seen[1]) > 0, "the same seed made other choices: {seen:?}");
    assert_eq!(shared(&seen[0], &seen[2]), 0, "another seed made the same choices: {seen:?}");
}
