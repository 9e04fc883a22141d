//! The bodies of the cargo-fuzz targets in `fuzz/`, here so that `cargo test` runs them over the
//! committed seed corpora on stable Rust, and so that a finding can be replayed
//! (`appmesh-conformance repro`). Each function panics exactly when its target should report a
//! crash; anything else returns.
//!
//! Input formats (the seed corpora in `fuzz/corpus/` are readable):
//! - `emulator_request`: an HTTP request as text: `METHOD TARGET`, header lines, a blank line, the
//!   body;
//! - `validator`: two selector bytes (which shape: the little-endian number modulo the number of
//!   shapes, in name order), then JSON text;
//! - `error_parsing`, `response_check`: an HTTP response as text: `STATUS`, header lines, a blank
//!   line, the body;
//! - `endpoint`: a JSON object (a VirtualNodeSpec, sent as it is), or bytes that
//!   [`arbitrary_input`] turns into a CreateVirtualNode input shaped by the model, or (first byte
//!   `0xff`) a raw body.

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use arbitrary::Unstructured;
use serde_json::{Map, Value, json};

use crate::checks::{self, CheckContext, SentNode};
use crate::client::{Client, Exchange};
use crate::emulator::{self, EmulatorConfig};
use crate::exchange::{RecordedRequest, RecordedResponse};
use crate::model::{Pattern, ServiceModel, ShapeKind};
use crate::validate::violations;

const METHODS: &[&str] = &["GET", "PUT", "POST", "DELETE", "PATCH", "HEAD"];

/// `METHOD TARGET\nname: value\n...\n\nbody` → (method, target, headers, body). Anything goes:
/// a missing part is empty, an unusable method is chosen from the first byte.
pub fn parse_request(data: &[u8]) -> (String, String, Vec<(String, String)>, Vec<u8>) {
    let (head, body) = split_head(data);
    let mut lines = head.lines();
    let first = lines.next().unwrap_or_default();
    let (method, target) = first.split_once(' ').unwrap_or((first, "/"));
    let method = if METHODS.contains(&method) {
        method.to_string()
    } else {
        METHODS[usize::from(data.first().copied().unwrap_or(0)) % METHODS.len()].to_string()
    };
    (method, target.trim().to_string(), header_lines(lines), body)
}

/// `STATUS\nname: value\n...\n\nbody` → (status, headers, body).
pub fn parse_response(data: &[u8]) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let (head, body) = split_head(data);
    let mut lines = head.lines();
    let status = lines.next().and_then(|l| l.trim().parse().ok()).unwrap_or(400);
    (status, header_lines(lines), body)
}

fn split_head(data: &[u8]) -> (String, Vec<u8>) {
    let split = data.windows(2).position(|w| w == b"\n\n");
    match split {
        Some(at) => (String::from_utf8_lossy(&data[..at]).into_owned(), data[at + 2..].to_vec()),
        None => (String::from_utf8_lossy(data).into_owned(), Vec::new()),
    }
}

fn header_lines<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<(String, String)> {
    lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_string()))
        .collect()
}

fn model() -> &'static Arc<ServiceModel> {
    static MODEL: OnceLock<Arc<ServiceModel>> = OnceLock::new();
    MODEL.get_or_init(|| Arc::new(ServiceModel::embedded()))
}

/// The faithful emulator in-process (no signature check: the fuzzer aims past authentication),
/// with a runtime to call it on, and the state every input starts from.
struct InProcess {
    runtime: tokio::runtime::Runtime,
    emulator: Arc<emulator::Emulator>,
    router: axum::Router,
    fixture: emulator::Snapshot,
}

/// The request the fixture's virtual node comes from: the documented example, also a seed.
const FIXTURE_NODE: &str = include_str!("../fuzz/corpus/emulator_request/documented-example.http");

fn in_process() -> &'static InProcess {
    static EMULATOR: OnceLock<InProcess> = OnceLock::new();
    EMULATOR.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        let emulator = Arc::new(emulator::Emulator::new(model().clone(), EmulatorConfig::default()));
        // Every input meets mesh `fuzz` holding the documented example's node: describes,
        // deletes, lists and replays find something, and no input sees what another left.
        let mesh = ask(&emulator, "PUT", "/v20190125/meshes", &json_headers(), br#"{"meshName":"fuzz"}"#);
        let (method, target, headers, body) = parse_request(FIXTURE_NODE.as_bytes());
        let node = ask(&emulator, &method, &target, &headers, &body);
        assert_eq!((mesh.status(), node.status()), (200, 200), "the fixture can be created:\n{mesh}\n{node}");
        let fixture = emulator.snapshot();
        InProcess { runtime, router: emulator::router_of(emulator.clone()), emulator, fixture }
    })
}

/// Held for the length of a call that changes a shared emulator and reads what it did: a call
/// from another thread in between would change what this one sees (the unit tests run on several
/// threads; seen as a flaky test). A fuzz target runs on one thread and never waits on it.
fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Sends a request through the router of the in-process emulator, restored to its fixture
/// first; the answer as an [`Exchange`]. One call at a time ([`one_at_a_time`]).
fn call_in_process(method: &str, target: &str, headers: &[(String, String)], body: Vec<u8>) -> Option<Exchange> {
    use tower::ServiceExt as _;
    let _alone = one_at_a_time();
    let InProcess { runtime, emulator, router, fixture } = in_process();
    emulator.restore(fixture);
    let mut builder = http::Request::builder().method(method).uri(target);
    for (name, value) in headers {
        builder = builder.header(name.as_str(), value.as_str());
    }
    // A request line or header that HTTP itself cannot carry never reaches a server.
    let request = builder.body(axum::body::Body::from(body.clone())).ok()?;
    let response = runtime.block_on(async {
        let response = tokio::time::timeout(Duration::from_secs(5), router.clone().oneshot(request))
            .await
            .expect("the emulator answers within 5 s")
            .expect("the router is infallible");
        let status = response.status().as_u16();
        let headers: Vec<(String, String)> = response
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let body = axum::body::to_bytes(response.into_body(), 1 << 24).await.expect("a readable body");
        (status, headers, body)
    });
    Some(exchange(method, target, headers, &body, response.0, response.1, &response.2))
}

fn exchange(
    method: &str,
    target: &str,
    request_headers: &[(String, String)],
    request_body: &[u8],
    status: u16,
    headers: Vec<(String, String)>,
    body: &[u8],
) -> Exchange {
    Exchange {
        operation: None,
        request: RecordedRequest {
            method: method.to_string(),
            url: target.to_string(),
            headers: request_headers.to_vec(),
            body: String::from_utf8_lossy(request_body).into_owned(),
        },
        response: RecordedResponse { status, headers, body: String::from_utf8_lossy(body).into_owned() },
        duration: Duration::ZERO,
        attempts: 1,
        sent_at: None,
    }
}

/// Judges any answer: no 5xx; a success is the routed operation's documented output; anything
/// else has the documented error shape. Returns what is wrong.
pub fn judge_answer(model: &ServiceModel, method: &str, path: &str, exchange: &Exchange) -> Vec<String> {
    let status = exchange.status();
    if status >= 500 {
        return vec![format!("a {status} answer")];
    }
    // An answer to HEAD has no body, by HTTP's rules.
    if method.eq_ignore_ascii_case("HEAD") {
        return Vec::new();
    }
    let failures = if (200..300).contains(&status) {
        match crate::wire::route(model, method, path) {
            Some((op, _)) => checks::check_success(model, op, exchange),
            None => return vec![format!("{status} for a request no operation routes")],
        }
    } else {
        checks::check_error_shape(exchange, None)
    };
    failures.iter().map(ToString::to_string).collect()
}

/// `emulator_request`: any request into the emulator's router never panics or hangs, and every
/// answer is a documented success or a correctly shaped error.
pub fn emulator_request(data: &[u8]) {
    let (method, target, headers, body) = parse_request(data);
    let Some(exchange) = call_in_process(&method, &target, &headers, body) else { return };
    // The path as the server saw it: without query or fragment.
    let uri: http::Uri = target.parse().expect("a target the request was built with");
    let problems = judge_answer(model(), &method, uri.path(), &exchange);
    assert!(problems.is_empty(), "the emulator misanswered:\n{}\n{exchange}", problems.join("\n"));
}

/// The shapes the selector chooses from, in name order.
fn shape_names() -> &'static Vec<String> {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| model().shapes.keys().cloned().collect())
}

/// A `validator` input's shape (two selector bytes, little-endian, modulo the number of shapes:
/// one byte could not reach the 333 shapes of the whole API) and the rest of the input.
fn selected_shape(data: &[u8]) -> Option<(&'static str, &[u8])> {
    let [low, high, rest @ ..] = data else { return None };
    let names = shape_names();
    Some((names[usize::from(u16::from_le_bytes([*low, *high])) % names.len()].as_str(), rest))
}

/// The selector bytes that choose `shape`, for seeds and tests.
pub fn shape_selector(shape: &str) -> Option<[u8; 2]> {
    let index = shape_names().iter().position(|name| name == shape)?;
    Some(u16::try_from(index).ok()?.to_le_bytes())
}

/// `validator`: any JSON against any shape never panics; a value that validates as a
/// VirtualNodeSpec is accepted by the emulator.
pub fn validator(data: &[u8]) {
    let Some((shape, text)) = selected_shape(data) else { return };
    let Ok(value) = serde_json::from_slice::<Value>(text) else { return };
    let found = crate::validate::validate(model(), shape, &value);
    let _ = crate::validate::normalize(model(), shape, &value);
    if shape == "VirtualNodeSpec" && !found.iter().any(|v| v.rule.is_violation()) {
        accepted_by_emulator(&value);
    }
}

/// The faithful emulator without a server around it: for the targets that fuzz something else
/// and only need the emulator's verdict, so that they link (and libFuzzer scans the coverage of)
/// no HTTP stack.
fn emulator_core() -> &'static emulator::Emulator {
    static EMULATOR: OnceLock<emulator::Emulator> = OnceLock::new();
    EMULATOR.get_or_init(|| emulator::Emulator::new(model().clone(), EmulatorConfig::default()))
}

/// Asks [`emulator_core`]; the answer as an [`Exchange`].
fn call_core(method: &str, target: &str, headers: &[(String, String)], body: &[u8]) -> Exchange {
    ask(emulator_core(), method, target, headers, body)
}

/// Asks an emulator directly (no server); the answer as an [`Exchange`].
fn ask(
    emulator: &emulator::Emulator,
    method: &str,
    target: &str,
    headers: &[(String, String)],
    body: &[u8],
) -> Exchange {
    let (method_parsed, uri): (http::Method, http::Uri) =
        (method.parse().expect("a valid method"), target.parse().expect("a valid request target"));
    let answer = emulator.answer(&method_parsed, &uri, headers, body);
    let answer_headers = answer.headers.into_iter().map(|(n, v)| (n.to_string(), v)).collect();
    exchange(method, target, headers, body, answer.status, answer_headers, &answer.body)
}

/// Creates a virtual node with `spec` in the emulator (a mesh made once), expects 200 with the
/// documented output, then deletes it so state stays bounded.
fn accepted_by_emulator(spec: &Value) {
    // Every call creates the same node.
    let _alone = one_at_a_time();
    static MESH: OnceLock<()> = OnceLock::new();
    MESH.get_or_init(|| {
        let created = call_core("PUT", "/v20190125/meshes", &json_headers(), br#"{"meshName":"validator-mesh"}"#);
        assert!(matches!(created.status(), 200 | 409), "the validator's mesh can be created:\n{created}");
    });
    let body = serde_json::to_vec(&json!({ "virtualNodeName": "fuzz-node", "spec": spec })).expect("serializes");
    let target = "/v20190125/meshes/validator-mesh/virtualNodes";
    let exchange = call_core("PUT", target, &json_headers(), &body);
    let problems = judge_answer(model(), "PUT", target, &exchange);
    let deleted = call_core("DELETE", "/v20190125/meshes/validator-mesh/virtualNodes/fuzz-node", &[], b"");
    assert!(
        exchange.status() == 200 && problems.is_empty(),
        "a spec that validates was not accepted:\n{}\n{exchange}",
        problems.join("\n")
    );
    assert_eq!(deleted.status(), 200, "the node just created can be deleted");
}

fn json_headers() -> Vec<(String, String)> {
    vec![("content-type".to_string(), "application/json".to_string())]
}

/// `error_parsing`: any headers and body into the error parser never panic.
pub fn error_parsing(data: &[u8]) {
    let (_, headers, body) = parse_response(data);
    let code = crate::wire::error_code(&headers, &body);
    let _ = crate::wire::error_message(&body);
    for (_, value) in &headers {
        let _ = crate::wire::sanitize_error_code(value);
    }
    if let Some(code) = code {
        // Sanitising keeps what is before the first `:`: no code the parser returns has one.
        assert!(!code.contains(':'), "an error code with a namespace left in it: {code:?}");
    }
}

/// `response_check`: any status, headers and body into every response check never panic.
pub fn response_check(data: &[u8]) {
    let model = model();
    let (status, headers, body) = parse_response(data);
    let exchange = exchange("PUT", "/v20190125/meshes/m/virtualNodes", &[], b"", status, headers, &body);
    for op in model.operations.values() {
        let _ = checks::check_success(model, op, &exchange);
        let _ = checks::check_echo(model, op, &json!({ "spec": {}, "tags": [] }), &exchange.json().unwrap_or_default());
    }
    let _ = checks::check_error(model, &exchange, "BadRequestException");
    let _ = checks::check_error_shape(&exchange, Some("NotFoundException"));
    let data = exchange.json().unwrap_or_default();
    let spec = json!({});
    let sent = SentNode { mesh_name: "m", virtual_node_name: "n", spec: &spec };
    let ctx = CheckContext { region: "us-east-1".into(), account_id: Some("123456789012".into()), now: 1.7e9 };
    let _ = checks::check_created_node(model, &data, &sent, &ctx);
    let _ = checks::check_readback("DescribeVirtualNode", &data, &data);
    let _ = checks::check_replay(&data, &json!({}));
    if let Some(kind) = model.created_by("CreateVirtualNode") {
        let _ = checks::check_listed(model, &kind, &data, std::slice::from_ref(&data));
    }
}

/// A CreateVirtualNode input (body members: name, spec, tags, token) shaped by the model from
/// unstructured bytes: mostly valid, now and then past a bound, outside an enum, of the wrong
/// type or missing a required member, so that both paths of a target are exercised.
pub fn arbitrary_input(u: &mut Unstructured<'_>) -> arbitrary::Result<Value> {
    let mut input = Map::new();
    input.insert("virtualNodeName".into(), arbitrary_value(model(), "ResourceName", u, 0)?);
    input.insert("spec".into(), arbitrary_value(model(), "VirtualNodeSpec", u, 0)?);
    if u.ratio(1, 3)? {
        input.insert("tags".into(), arbitrary_value(model(), "TagList", u, 0)?);
    }
    Ok(Value::Object(input))
}

/// A value of `shape` from unstructured bytes, mostly within the model's constraints.
pub fn arbitrary_value(
    model: &ServiceModel,
    shape: &str,
    u: &mut Unstructured<'_>,
    depth: usize,
) -> arbitrary::Result<Value> {
    let Some(found) = model.shape(shape) else { return Ok(Value::Null) };
    // Now and then, a value of the wrong type.
    if u.ratio(1, 40)? {
        return Ok(crate::generate::values::wrong_type(model, shape).unwrap_or(Value::Null));
    }
    Ok(match &found.kind {
        ShapeKind::Structure(structure) => {
            let mut object = Map::new();
            let chosen = if structure.union { Some(u.choose_index(structure.members.len().max(1))?) } else { None };
            for (index, member) in structure.members.iter().enumerate() {
                let wanted = match chosen {
                    Some(choice) => index == choice || u.ratio(1, 30)?,
                    None if structure.required.contains(&member.name) => !u.ratio(1, 30)?,
                    None => depth < 8 && u.ratio(1, 3)?,
                };
                if wanted {
                    object.insert(member.name.clone(), arbitrary_value(model, &member.target, u, depth + 1)?);
                }
            }
            Value::Object(object)
        }
        ShapeKind::List { member, size } => {
            let max = size.max.unwrap_or(3.0).min(4.0) as usize + usize::from(u.ratio(1, 20)?);
            let count = u.int_in_range(0..=max)?;
            Value::Array((0..count).map(|_| arbitrary_value(model, member, u, depth + 1)).collect::<Result<_, _>>()?)
        }
        ShapeKind::Map { .. } => json!({}),
        ShapeKind::String { length, pattern, enum_values } => {
            if let Some(values) = enum_values
                && !u.ratio(1, 20)?
            {
                return Ok(json!(u.choose(values)?));
            }
            let min = length.min.unwrap_or(0.0) as usize;
            let max = length.max.map_or(min + 24, |m| m as usize);
            let len = if u.ratio(1, 20)? { max + 1 } else { u.int_in_range(min..=max.min(min + 40))? };
            let printable = matches!(pattern, Some(Pattern::Enforced(_)));
            let text: String = (0..len)
                .map(|_| {
                    let byte = u.int_in_range(0x21u8..=0x7e).unwrap_or(b'a');
                    if printable || byte != b'"' { char::from(byte) } else { 'q' }
                })
                .collect();
            json!(text)
        }
        ShapeKind::Integer { range } | ShapeKind::Long { range } => {
            let min = range.min.unwrap_or(-1000.0) as i64;
            let max = range.max.unwrap_or(100_000.0) as i64;
            if u.ratio(1, 20)? {
                json!(if u.arbitrary::<bool>()? { min - 1 } else { max + 1 })
            } else {
                json!(u.int_in_range(min..=max)?)
            }
        }
        ShapeKind::Float { .. } => json!(u.int_in_range(0..=1000)? as f64 / 10.0),
        ShapeKind::Boolean => json!(u.arbitrary::<bool>()?),
        ShapeKind::Timestamp => json!(u.int_in_range(0..=2_000_000_000u32)?),
        ShapeKind::Blob => json!("AAAA"),
    })
}

/// What `endpoint` sends for one input: a JSON object is the spec as it is; a first byte of 0xff
/// makes the rest a raw body; anything else is read by [`arbitrary_input`], and one such input in
/// eight (a first byte that is a multiple of 8) is sent cut short, a proper prefix of its JSON
/// (the second byte says where), so that malformed bodies come from every corner of the corpus.
#[derive(Debug, Clone, PartialEq)]
pub enum EndpointCase {
    Input(Value),
    RawBody(Vec<u8>),
}

pub fn endpoint_case(data: &[u8]) -> Option<EndpointCase> {
    if let Ok(spec @ Value::Object(_)) = serde_json::from_slice::<Value>(data) {
        return Some(EndpointCase::Input(json!({ "virtualNodeName": "fuzz-node", "spec": spec })));
    }
    if let Some((&0xff, rest)) = data.split_first() {
        return Some(EndpointCase::RawBody(rest.to_vec()));
    }
    let input = arbitrary_input(&mut Unstructured::new(data)).ok()?;
    if let [first, second, ..] = data
        && first % 8 == 0
    {
        let body = serde_json::to_vec(&input).expect("a JSON value serializes");
        let cut = body.len() * usize::from(*second) / 256;
        return Some(EndpointCase::RawBody(body[..cut].to_vec()));
    }
    Some(EndpointCase::Input(input))
}

/// Sends one case to a live target, in `mesh`, and judges the answer: a 5xx, a malformed or
/// misshapen answer, or a transport error (a hang past the client's timeout) is a finding. A
/// node the case created is deleted.
pub async fn endpoint_send(client: &Client, mesh: &str, case: &EndpointCase) -> Result<(), (String, Option<Exchange>)> {
    let model = client.model();
    let target = format!("/v20190125/meshes/{mesh}/virtualNodes");
    let sent = match case {
        EndpointCase::Input(input) => {
            let mut input = input.clone();
            input["meshName"] = json!(mesh);
            client.call("CreateVirtualNode", &input).await
        }
        EndpointCase::RawBody(body) => {
            let mut request = crate::wire::build_request(model, "CreateVirtualNode", &json!({ "meshName": mesh }))
                .map_err(|e| (e.to_string(), None))?;
            request.body = body.clone();
            if !request.headers.iter().any(|(name, _)| name == "content-type") {
                request.headers.push(("content-type".into(), "application/json".into()));
            }
            client.send(Some("CreateVirtualNode"), &request, crate::client::RetryMode::Standard).await
        }
    };
    let exchange = sent.map_err(|e| (format!("no answer: {e}"), None))?;
    let problems = judge_answer(model, "PUT", &target, &exchange);
    if exchange.status() == 200
        && let Some(name) = exchange.json().and_then(|b| b["virtualNodeName"].as_str().map(str::to_string))
    {
        let delete = json!({ "meshName": mesh, "virtualNodeName": name });
        let _ = crate::cleanup::delete_persistently(client, "DeleteVirtualNode", &delete).await;
    }
    if problems.is_empty() { Ok(()) } else { Err((problems.join("\n"), Some(exchange))) }
}

/// Where the libFuzzer dictionary lives, relative to the repository.
pub const DICTIONARY_PATH: &str = "fuzz/appmesh.dict";

/// A libFuzzer dictionary made from the model: member names as JSON keys, enum values as JSON
/// strings, the literal pieces of every request URI, the names of query and header members, and
/// the error codes. Mutations that insert whole tokens reach deep shapes and enum branches sooner
/// than byte flips do. `cargo test` fails when [`DICTIONARY_PATH`] is not what this makes.
pub fn dictionary(model: &ServiceModel) -> String {
    let mut entries = std::collections::BTreeSet::new();
    let mut add = |token: String| {
        entries.insert(token);
    };
    for shape in model.shapes.values() {
        match &shape.kind {
            ShapeKind::Structure(structure) => {
                for member in &structure.members {
                    match member.location {
                        crate::model::Location::Body => add(format!("\"{}\":", member.name)),
                        crate::model::Location::Uri => {}
                        _ => add(member.location_name.clone()),
                    }
                }
                if structure.error.is_some() {
                    add(shape.name.clone());
                }
            }
            ShapeKind::String { enum_values: Some(values), .. } => {
                for value in values {
                    add(format!("\"{value}\""));
                }
            }
            _ => {}
        }
    }
    for op in model.operations.values() {
        add(op.http.method.clone());
        let path = op.http.request_uri.split('?').next().unwrap_or_default();
        for piece in path.split('/').filter(|p| !p.is_empty() && !p.starts_with('{')) {
            add(format!("/{piece}"));
        }
    }
    for header in ["content-type", "application/json", "x-amzn-errortype", "x-amzn-requestid"] {
        add(header.to_string());
    }
    let mut out = String::from(
        "# Generated from the contract model by `UPDATE_FUZZ_DICT=1 cargo test --lib fuzzing::tests::the_dictionary_is_current`; do not edit.\n",
    );
    for entry in entries {
        let escaped: String = entry
            .bytes()
            .map(|b| match b {
                b'"' | b'\\' => format!("\\{}", b as char),
                0x20..=0x7e => (b as char).to_string(),
                _ => format!("\\x{b:02X}"),
            })
            .collect();
        out.push_str(&format!("\"{escaped}\"\n"));
    }
    out
}

/// What a finding (a fuzz artifact or a shrunk proptest case) asks of CreateVirtualNode.
#[derive(Debug, Clone, PartialEq)]
pub enum Finding {
    /// A CreateVirtualNode input (body members; `meshName` is replaced by the scenario's mesh).
    Input(Value),
    /// A raw body sent to CreateVirtualNode.
    RawBody(String),
}

/// Why an artifact is no finding a scenario can be made of.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FindingError {
    #[error("the finding is a {0} request; only CreateVirtualNode findings become scenarios (replay it with curl)")]
    OtherOperation(String),
    #[error("the finding is {method} {path}, which no operation routes; it needs no scenario")]
    Unrouted { method: String, path: String },
    #[error(
        "the finding is a `validator` input against {0}: a crash of the validator itself, not of a target; replay it with `cargo fuzz run validator ARTIFACT`"
    )]
    ValidatorOwn(String),
    #[error("the artifact is too short to make a request from")]
    TooShort,
}

/// Reads a finding: a JSON CreateVirtualNode input (a proptest counterexample), a JSON spec or
/// any `endpoint` artifact, an `emulator_request` artifact that is a CreateVirtualNode call, or a
/// `validator` artifact that is a VirtualNodeSpec.
pub fn read_finding(data: &[u8]) -> Result<Finding, FindingError> {
    if let Ok(Value::Object(object)) = serde_json::from_slice::<Value>(data)
        && (object.contains_key("virtualNodeName") || object.contains_key("spec") && object.contains_key("meshName"))
    {
        return Ok(Finding::Input(Value::Object(object)));
    }
    let looks_like_request = METHODS.iter().any(|m| data.starts_with(format!("{m} ").as_bytes()));
    if looks_like_request {
        let (method, target, _, body) = parse_request(data);
        let path = target.parse::<http::Uri>().map(|u| u.path().to_string()).unwrap_or_default();
        return match crate::wire::route(model(), &method, &path) {
            Some((op, _)) if op.name == "CreateVirtualNode" => Ok(match serde_json::from_slice::<Value>(&body) {
                Ok(input @ Value::Object(_)) => Finding::Input(input),
                _ => Finding::RawBody(String::from_utf8_lossy(&body).into_owned()),
            }),
            Some((op, _)) => Err(FindingError::OtherOperation(op.name.clone())),
            None => Err(FindingError::Unrouted { method, path }),
        };
    }
    // A `validator` artifact: two selector bytes, then JSON. (Not a first byte 0xff, which marks
    // an `endpoint` raw body, nor JSON as a whole, which is an `endpoint` spec: ` {}` is one.)
    if data.first() != Some(&0xff)
        && serde_json::from_slice::<serde::de::IgnoredAny>(data).is_err()
        && let Some((shape, text)) = selected_shape(data)
        && let Ok(value) = serde_json::from_slice::<Value>(text)
    {
        return if shape == "VirtualNodeSpec" {
            Ok(Finding::Input(json!({ "virtualNodeName": "fuzz-node", "spec": value })))
        } else {
            Err(FindingError::ValidatorOwn(shape.to_string()))
        };
    }
    match endpoint_case(data) {
        Some(EndpointCase::Input(input)) => Ok(Finding::Input(input)),
        Some(EndpointCase::RawBody(body)) => Ok(Finding::RawBody(String::from_utf8_lossy(&body).into_owned())),
        None => Err(FindingError::TooShort),
    }
}

impl Finding {
    /// What the contract says the answer must be: `success` for an input that validates,
    /// BadRequestException otherwise.
    pub fn expected(&self) -> &'static str {
        match self {
            Finding::Input(input) => {
                let mut whole = input.clone();
                whole["meshName"] = json!("m");
                if violations(model(), "CreateVirtualNodeInput", &whole).is_empty() {
                    "success"
                } else {
                    "BadRequestException"
                }
            }
            Finding::RawBody(body) => match serde_json::from_str::<Value>(body) {
                Ok(input @ Value::Object(_)) => Finding::Input(input).expected(),
                _ => "BadRequestException",
            },
        }
    }

    /// A Gherkin scenario replaying the finding against any target.
    pub fn scenario(&self, title: &str) -> String {
        match self {
            Finding::Input(input) => {
                let mut input = input.clone();
                input["meshName"] = json!("${mesh}");
                crate::property::check::regression_scenario(title, &input, self.expected())
            }
            Finding::RawBody(body) => {
                let indented: String = body.lines().map(|line| format!("      {line}\n")).collect();
                format!(
                    "  @regression\n  Scenario: {title}\n    Given a fresh mesh\n    When I send CreateVirtualNode with this body:\n      \"\"\"\n{indented}      \"\"\"\n    Then the request fails with {}\n    And the mesh holds exactly 0 virtual nodes\n",
                    self.expected()
                )
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every committed seed of every in-process target runs clean: the corpora are valid inputs
    /// and the faithful emulator, the validator and the checks hold on them.
    #[test]
    fn the_seed_corpora_run_clean() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        type Target = fn(&[u8]);
        let targets: [(&str, Target); 4] = [
            ("emulator_request", emulator_request),
            ("validator", validator),
            ("error_parsing", error_parsing),
            ("response_check", response_check),
        ];
        for (name, target) in targets {
            let dir = root.join(name);
            let seeds: Vec<_> = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).collect();
            assert!(seeds.len() >= 3, "{name} has {} seeds", seeds.len());
            for seed in seeds {
                let path = seed.unwrap().path();
                target(&std::fs::read(&path).unwrap());
            }
        }
    }

    /// The validator's acceptance check can fail: a spec the emulator refuses (port 0 is below the
    /// documented minimum) is reported.
    #[test]
    #[should_panic(expected = "a spec that validates was not accepted")]
    fn a_refused_spec_is_a_validator_finding() {
        accepted_by_emulator(&json!({ "listeners": [{ "portMapping": { "port": 0, "protocol": "http" } }] }));
    }

    /// What one input does, the next does not see: a finding replays alone.
    #[test]
    fn every_emulator_request_input_starts_from_the_fixture() {
        let node = "/v20190125/meshes/fuzz/virtualNodes/colorgateway-vn";
        for _ in 0..2 {
            let deleted = call_in_process("DELETE", node, &[], Vec::new()).unwrap();
            assert_eq!(deleted.status(), 200, "{deleted}");
        }
        let described = call_in_process("GET", node, &[], Vec::new()).unwrap();
        assert_eq!(described.status(), 200, "{described}");
        let created = call_in_process("PUT", "/v20190125/meshes", &json_headers(), br#"{"meshName":"other"}"#.to_vec());
        assert_eq!(created.unwrap().status(), 200);
        let listed = call_in_process("GET", "/v20190125/meshes", &[], Vec::new()).unwrap();
        assert_eq!(listed.json().unwrap()["meshes"].as_array().map(Vec::len), Some(1), "{listed}");
    }

    #[test]
    fn the_documented_example_is_a_seed_of_every_request_target() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus");
        let example = std::fs::read_to_string(root.join("emulator_request/documented-example.http")).unwrap();
        assert!(example.starts_with("PUT /v20190125/meshes/"), "{example}");
        let (method, target, _, body) = parse_request(example.as_bytes());
        assert_eq!((method.as_str(), target.ends_with("/virtualNodes")), ("PUT", true));
        let body: Value = serde_json::from_slice(&body).unwrap();
        assert!(violations(model(), "VirtualNodeSpec", &body["spec"]).is_empty());
        let spec = std::fs::read(root.join("endpoint/documented-example-spec.json")).unwrap();
        assert!(matches!(endpoint_case(&spec), Some(EndpointCase::Input(_))));
        // The validator's copy selects VirtualNodeSpec, so it reaches the emulator.
        let seed = std::fs::read(root.join("validator/documented-example-spec.bin")).unwrap();
        assert_eq!(seed[..2], shape_selector("VirtualNodeSpec").unwrap());
        let seed_spec: Value = serde_json::from_slice(&seed[2..]).unwrap();
        assert_eq!(seed_spec, body["spec"]);
    }

    /// The checks the targets make can fail: an emulator answering 500 to malformed JSON is a
    /// finding of `emulator_request`.
    #[test]
    fn a_server_error_is_a_finding() {
        let exchange =
            exchange("PUT", "/v20190125/meshes/m/virtualNodes", &[], b"{", 500, vec![], b"<html>oops</html>");
        let problems = judge_answer(model(), "PUT", "/v20190125/meshes/m/virtualNodes", &exchange);
        assert_eq!(problems, ["a 500 answer"]);
        let shapeless = exchange_with(400, vec![], b"not json");
        assert!(!judge_answer(model(), "PUT", "/v20190125/meshes/m/virtualNodes", &shapeless).is_empty());
    }

    fn exchange_with(status: u16, headers: Vec<(String, String)>, body: &[u8]) -> Exchange {
        exchange("PUT", "/", &[], b"", status, headers, body)
    }

    #[test]
    fn findings_are_read_and_judged_by_the_contract() {
        let counterexample = br#"{"meshName":"acf-1-prop","virtualNodeName":"a","spec":{"listeners":[{"portMapping":{"port":0,"protocol":"http"}}]}}"#;
        let finding = read_finding(counterexample).unwrap();
        assert_eq!(finding.expected(), "BadRequestException");
        let scenario = finding.scenario("port 0");
        assert!(scenario.contains("\"meshName\": \"${mesh}\""), "{scenario}");
        assert!(scenario.contains("Then the request fails with BadRequestException"), "{scenario}");

        let example = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("fuzz/corpus/emulator_request/documented-example.http"),
        )
        .unwrap();
        let finding = read_finding(&example).unwrap();
        assert_eq!(finding.expected(), "success");

        let raw = read_finding(b"\xff{\"spec\":").unwrap();
        assert_eq!(raw, Finding::RawBody("{\"spec\":".to_string()));
        assert!(raw.scenario("malformed").contains("When I send CreateVirtualNode with this body:"));
        assert!(read_finding(b"GET /v20190125/meshes\n\n").unwrap_err().to_string().contains("ListMeshes"));

        let mut spec = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/validator/grpc-listener.bin"),
        )
        .unwrap();
        let finding = read_finding(&spec).unwrap();
        assert!(matches!(&finding, Finding::Input(input) if input["spec"]["listeners"].is_array()), "{finding:?}");
        assert_eq!(finding.expected(), "success");
        assert!(matches!(read_finding(b" {}"), Ok(Finding::Input(input)) if input["spec"] == json!({})));
        // A first byte that is a multiple of 8: the structured request, cut short.
        let Some(EndpointCase::RawBody(cut)) = endpoint_case(&[8, 128, 1, 2, 3, 4, 5, 6, 7]) else { panic!() };
        assert!(serde_json::from_slice::<Value>(&cut).is_err(), "{}", String::from_utf8_lossy(&cut));
        assert!(matches!(endpoint_case(&[9, 128, 1, 2, 3, 4, 5, 6, 7]), Some(EndpointCase::Input(_))));
        spec[..2].copy_from_slice(&shape_selector("TagRef").unwrap()); // a crash there is the validator's own
        assert!(read_finding(&spec).unwrap_err().to_string().contains("against TagRef"));
    }

    /// The committed dictionary is what the model makes; `UPDATE_FUZZ_DICT=1` rewrites it.
    #[test]
    fn the_dictionary_is_current() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(DICTIONARY_PATH);
        let made = dictionary(model());
        if std::env::var_os("UPDATE_FUZZ_DICT").is_some() {
            std::fs::write(&path, &made).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == made,
            "{DICTIONARY_PATH} is stale: run `UPDATE_FUZZ_DICT=1 cargo test --lib fuzzing::tests::the_dictionary_is_current`"
        );
        assert!(made.contains("\"\\\"listeners\\\":\"\n") && made.contains("\"\\\"grpc\\\"\"\n"), "{made}");
        assert!(made.contains("\"/virtualNodes\"\n") && made.contains("\"BadRequestException\"\n"), "{made}");
    }

    #[test]
    fn arbitrary_inputs_come_from_the_model() {
        let mut valid = 0;
        for seed in 0..300u64 {
            let bytes: Vec<u8> =
                (0..512).map(|i| (seed.wrapping_mul(2_654_435_761).wrapping_add(i * 97) >> 3) as u8).collect();
            let input = arbitrary_input(&mut Unstructured::new(&bytes)).unwrap();
            assert!(input["spec"].is_object() || !input["spec"].is_null(), "{input}");
            if violations(
                model(),
                "CreateVirtualNodeInput",
                &json!({ "meshName": "m", "virtualNodeName": input["virtualNodeName"], "spec": input["spec"] }),
            )
            .is_empty()
            {
                valid += 1;
            }
        }
        assert!(
            valid > 30,
            "only {valid} of 300 arbitrary inputs are valid: the target would test little else than refusals"
        );
    }
}
