//! The properties, against any target: every valid CreateVirtualNode request is accepted, echoed
//! and read back as sent; every request with exactly one violation is refused with 400
//! BadRequestException and creates nothing. A failing case becomes a [`Counterexample`] that
//! prints the request, the response, a curl reproduction and a ready-to-paste Gherkin scenario.

use std::fmt;
use std::sync::Arc;

use serde_json::{Value, json};

use super::Invalid;
use crate::checks::{self, CheckContext, CheckFailure, CheckId, SentNode};
use crate::cleanup;
use crate::client::{Client, Exchange};

/// A mesh of its own on the target, in which the cases run.
pub struct PropertyTarget {
    client: Arc<Client>,
    mesh: String,
    account_id: Option<String>,
}

/// Why a case failed, with everything needed to reproduce it.
#[derive(Debug, Clone)]
pub struct Counterexample {
    /// The CreateVirtualNode input sent (mesh and name included).
    pub input: Value,
    pub exchange: Option<Exchange>,
    pub failures: Vec<String>,
    /// The outcome the contract expects: `success` or an error code.
    pub expected: String,
    pub region: String,
}

/// Why the properties cannot run, or could not clean up after themselves.
#[derive(Debug, thiserror::Error)]
pub enum PropertyError {
    #[error("the properties have no mesh to run in: {0}")]
    NoMesh(cleanup::CleanupError),
    #[error("the mesh {mesh} was not removed ({problem}); run `appmesh-conformance cleanup`")]
    Leftover { mesh: String, problem: cleanup::CleanupError },
}

impl PropertyTarget {
    /// Creates the mesh the cases run in, named and tagged like every harness mesh.
    pub async fn set_up(client: Arc<Client>, account_id: Option<String>) -> Result<PropertyTarget, PropertyError> {
        let run_id = cleanup::run_id(&cleanup::random_tag(&mut fastrand::Rng::new()));
        let (mesh, exchange) =
            cleanup::create_run_mesh(&client, &run_id, "prop").await.map_err(PropertyError::NoMesh)?;
        // The body of a CreateMesh answer is the mesh's data itself.
        let account_id = account_id
            .or_else(|| exchange.json().and_then(|b| b["metadata"]["meshOwner"].as_str().map(str::to_string)));
        Ok(PropertyTarget { client, mesh, account_id })
    }

    pub fn mesh(&self) -> &str {
        &self.mesh
    }

    /// Deletes the mesh and whatever a failed case left in it.
    pub async fn tear_down(self) -> Result<(), PropertyError> {
        let mesh = self.mesh.clone();
        cleanup::delete_mesh_fully(&self.client, &self.mesh)
            .await
            .map_err(|problem| PropertyError::Leftover { mesh, problem })
    }

    fn counterexample(
        &self,
        input: &Value,
        exchange: Option<&Exchange>,
        expected: &str,
        failures: Vec<String>,
    ) -> Counterexample {
        Counterexample {
            input: input.clone(),
            exchange: exchange.cloned(),
            failures,
            expected: expected.to_string(),
            region: self.client.config().region.clone(),
        }
    }

    /// A CreateVirtualNode input of the generator's, placed in this target's mesh: the mesh is
    /// ours, no other owner is named, and a client token is fresh (a reused one would rightly
    /// conflict), unless the violation is in one of those members.
    pub fn place(&self, mut input: Value, fault_path: Option<&str>) -> Value {
        if !input.is_object() {
            return input;
        }
        let keeps = |member: &str| fault_path.is_some_and(|p| p == member || p.starts_with(&format!("{member}.")));
        if !keeps("meshName") {
            input["meshName"] = json!(self.mesh);
        }
        if !keeps("meshOwner")
            && let Some(object) = input.as_object_mut()
        {
            object.remove("meshOwner");
        }
        if !keeps("clientToken") {
            input["clientToken"] = json!(uuid::Uuid::new_v4().to_string());
        }
        input
    }

    /// A valid request is accepted as documented, echoed as sent, read back as created; the node
    /// is deleted afterwards whatever happened.
    pub async fn valid_case(&self, input: &Value) -> Result<(), Counterexample> {
        let model = self.client.model();
        let op = model.operation("CreateVirtualNode").expect("CreateVirtualNode is a required operation");
        let exchange = match self.client.call("CreateVirtualNode", input).await {
            Ok(exchange) => exchange,
            Err(error) => return Err(self.counterexample(input, None, "success", vec![error.to_string()])),
        };
        let name = input["virtualNodeName"].as_str().unwrap_or_default().to_string();
        let mut failures: Vec<CheckFailure> = checks::check_success(model, op, &exchange);
        if failures.is_empty() {
            // The VirtualNodeData is the whole body (the output's payload member).
            let body = exchange.json().unwrap_or_default();
            let data = &body;
            let sent = SentNode { mesh_name: &self.mesh, virtual_node_name: &name, spec: &input["spec"] };
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
            let ctx = CheckContext {
                region: self.client.config().region.clone(),
                account_id: self.account_id.clone(),
                now: now.as_secs_f64(),
            };
            failures.extend(checks::check_created_node(model, data, &sent, &ctx));
            failures.extend(checks::check_echo(model, op, input, data));
            if failures.is_empty() {
                let describe = json!({ "meshName": self.mesh, "virtualNodeName": name });
                match self.client.call("DescribeVirtualNode", &describe).await {
                    Ok(readback) if readback.status() == 200 => {
                        let read = readback.json().unwrap_or_default();
                        failures.extend(checks::check_readback("DescribeVirtualNode", &body, &read));
                    }
                    Ok(readback) => failures.push(CheckFailure::new(
                        CheckId::PropertyReadbackStatus,
                        checks::Severity::Must,
                        crate::model::provenance::source::API_REFERENCE,
                        "",
                        "DescribeVirtualNode finds the node just created",
                        "200",
                        format!("{}\n{readback}", readback.status()),
                    )),
                    Err(error) => failures.push(CheckFailure::new(
                        CheckId::PropertyReadbackTransport,
                        checks::Severity::Must,
                        crate::model::provenance::source::HARNESS,
                        "",
                        "DescribeVirtualNode answers",
                        "an answer",
                        error.to_string(),
                    )),
                }
            }
        }
        if exchange.status() == 200 {
            let delete = json!({ "meshName": self.mesh, "virtualNodeName": name });
            if let Err(problem) = cleanup::delete_persistently(&self.client, "DeleteVirtualNode", &delete).await {
                failures.push(CheckFailure::new(
                    CheckId::CleanupDelete,
                    checks::Severity::Must,
                    crate::model::provenance::source::HARNESS,
                    "",
                    "DeleteVirtualNode removes the node just created",
                    "200",
                    problem.to_string(),
                ));
            }
        }
        if failures.is_empty() {
            return Ok(());
        }
        let shown = failures.iter().map(ToString::to_string).collect();
        Err(self.counterexample(input, Some(&exchange), "success", shown))
    }

    /// A request with exactly one violation is refused with the error the contract gives for it,
    /// and creates nothing.
    pub async fn invalid_case(&self, input: &Value, invalid: &Invalid) -> Result<(), Counterexample> {
        let model = self.client.model();
        let exchange = match self.client.call("CreateVirtualNode", input).await {
            Ok(exchange) => exchange,
            // A value no request can carry (an empty URI label) says nothing of the target.
            Err(crate::client::ClientError::Build(_)) => return Ok(()),
            Err(error) => return Err(self.counterexample(input, None, invalid.error, vec![error.to_string()])),
        };
        let mut failures: Vec<String> =
            checks::check_error(model, &exchange, invalid.error).iter().map(ToString::to_string).collect();
        match cleanup::list_all_nodes(&self.client, &self.mesh).await {
            Ok(names) if names.is_empty() => {}
            Ok(names) => {
                failures.push(format!("a refused request created something: the mesh now holds {}", names.join(", ")));
                for name in names {
                    let delete = json!({ "meshName": self.mesh, "virtualNodeName": name });
                    let _ = cleanup::delete_persistently(&self.client, "DeleteVirtualNode", &delete).await;
                }
            }
            Err(problem) => failures.push(format!("cannot list the mesh's virtual nodes: {problem}")),
        }
        if failures.is_empty() {
            return Ok(());
        }
        failures.insert(0, format!("the request breaks the {} rule at {}", invalid.rule.as_str(), invalid.path));
        Err(self.counterexample(input, Some(&exchange), invalid.error, failures))
    }
}

impl Counterexample {
    /// A Gherkin scenario that replays this case; paste it into a feature file (or let
    /// `appmesh-conformance repro` write it under features/regressions/).
    pub fn gherkin(&self, title: &str) -> String {
        regression_scenario(title, &self.input, &self.expected)
    }
}

/// A scenario sending `input` (mesh and name replaced by placeholders) and expecting `expected`
/// (`success` or an error code).
pub fn regression_scenario(title: &str, input: &Value, expected: &str) -> String {
    let mut request = input.clone();
    if let Some(object) = request.as_object_mut() {
        if object.get("meshName").is_some_and(|m| m.as_str().is_some_and(|m| m.starts_with("acf-"))) {
            object.insert("meshName".to_string(), json!("${mesh}"));
        }
        if object.get("clientToken").is_some_and(Value::is_string) {
            object.insert("clientToken".to_string(), json!("${fresh-token}"));
        }
    }
    let body = serde_json::to_string_pretty(&request).unwrap_or_default();
    let indented: String = body.lines().map(|line| format!("      {line}\n")).collect();
    let then = if expected == "success" {
        "    Then the request succeeds as documented\n".to_string()
    } else {
        format!("    Then the request fails with {expected}\n    And nothing was created\n")
    };
    format!(
        "  @regression\n  Scenario: {title}\n    Given a fresh mesh\n    When I send CreateVirtualNode with this input:\n      \"\"\"json\n{indented}      \"\"\"\n{then}"
    )
}

impl fmt::Display for Counterexample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "minimal failing request (expected: {}):", self.expected)?;
        writeln!(f, "{}", serde_json::to_string_pretty(&self.input).unwrap_or_default())?;
        writeln!(f, "what failed:")?;
        for failure in &self.failures {
            writeln!(f, "{failure}")?;
        }
        if let Some(exchange) = &self.exchange {
            writeln!(f, "exchange:\n{exchange}")?;
            writeln!(f, "reproduce:\n  {}", exchange.curl(&self.region))?;
        }
        writeln!(f, "as a regression scenario:\n{}", self.gherkin("A counterexample found by the properties"))
    }
}
