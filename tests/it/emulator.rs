//! The embedded emulator, called in-process through its router: the documented behaviours of the
//! operations, and that a rejected request changes nothing.

use std::sync::Arc;

use appmesh_conformance::emulator::{self, AuthConfig, Deviation, EmulatorConfig, Quotas, RateLimit};
use appmesh_conformance::model::ServiceModel;
use axum::body::Body;
use axum::http::Request;
use serde_json::{Value, json};
use tower::ServiceExt;

struct Answer {
    status: u16,
    error_type: Option<String>,
    content_type: Option<String>,
    body: Value,
}

struct Emulator(axum::Router);

impl Emulator {
    fn new() -> Self {
        Self::with(EmulatorConfig::default())
    }

    fn with(config: EmulatorConfig) -> Self {
        Emulator(emulator::router(Arc::new(ServiceModel::embedded()), config))
    }

    async fn send(&self, method: &str, uri: &str, body: &str) -> Answer {
        let request = Request::builder().method(method).uri(uri).body(Body::from(body.to_string())).unwrap();
        let response = self.0.clone().oneshot(request).await.unwrap();
        // Read the headers in a block of their own: a borrow of the response (whose body is not
        // Sync) must not live across the await below, or the future is not Send.
        let (status, error_type, content_type) = {
            let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_string());
            (response.status().as_u16(), header("x-amzn-errortype"), header("content-type"))
        };
        let bytes = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer { status, error_type, content_type, body }
    }

    async fn create_mesh(&self, name: &str) {
        let answer = self.send("PUT", "/v20190125/meshes", &json!({"meshName": name}).to_string()).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }

    async fn create_node(&self, mesh: &str, body: Value) -> Answer {
        self.send("PUT", &format!("/v20190125/meshes/{mesh}/virtualNodes"), &body.to_string()).await
    }

    async fn node_names(&self, mesh: &str) -> Vec<String> {
        let answer = self.send("GET", &format!("/v20190125/meshes/{mesh}/virtualNodes"), "").await;
        assert_eq!(answer.status, 200);
        answer.body["virtualNodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n["virtualNodeName"].as_str().unwrap().to_string())
            .collect()
    }
}

fn example_node(name: &str, token: Option<&str>) -> Value {
    let mut body = json!({
        "virtualNodeName": name,
        "spec": {
            "listeners": [{"portMapping": {"port": 9080, "protocol": "http"}}],
            "serviceDiscovery": {"dns": {"hostname": "colorgateway.default.svc.cluster.local"}},
            "backends": [{"virtualService": {"virtualServiceName": "tcpecho.default.svc.cluster.local"}}]
        }
    });
    if let Some(token) = token {
        body["clientToken"] = json!(token);
    }
    body
}

fn assert_error(answer: &Answer, status: u16, code: &str) {
    assert_eq!(answer.status, status, "body: {}", answer.body);
    assert_eq!(answer.error_type.as_deref(), Some(code));
    assert_eq!(answer.content_type.as_deref(), Some("application/json"));
    assert!(answer.body["message"].as_str().is_some_and(|m| !m.is_empty()), "message in {}", answer.body);
}

#[tokio::test]
async fn create_returns_virtual_node_data_and_describe_agrees() {
    let emulator = Emulator::new();
    emulator.create_mesh("m").await;
    let created = emulator.create_node("m", example_node("vn", None)).await;
    assert_eq!(created.status, 200, "{}", created.body);
    let data = &created.body;
    assert_eq!(data["metadata"]["arn"], "arn:aws:appmesh:us-east-1:123456789012:mesh/m/virtualNode/vn");
    assert_eq!(data["metadata"]["version"], 1);
    assert!(data["metadata"]["createdAt"].is_f64() || data["metadata"]["createdAt"].is_u64());
    assert_eq!(data["status"]["status"], "ACTIVE");
    assert_eq!(data["spec"], example_node("vn", None)["spec"]);
    let model = ServiceModel::embedded();
    assert!(appmesh_conformance::validate::violations(&model, "VirtualNodeData", data).is_empty());
    let described = emulator.send("GET", "/v20190125/meshes/m/virtualNodes/vn", "").await;
    assert_eq!(described.body, created.body);
}

#[tokio::test]
async fn unknown_mesh_is_404_and_duplicate_name_is_409() {
    let emulator = Emulator::new();
    assert_error(&emulator.create_node("nope", example_node("vn", None)).await, 404, "NotFoundException");
    emulator.create_mesh("m").await;
    emulator.create_node("m", example_node("vn", None)).await;
    assert_error(&emulator.create_node("m", example_node("vn", None)).await, 409, "ConflictException");
    assert_error(&emulator.create_node("m", example_node("vn", Some("new-token"))).await, 409, "ConflictException");
    assert_eq!(emulator.node_names("m").await, ["vn"]);
}

#[tokio::test]
async fn a_reused_token_replays_or_conflicts() {
    let emulator = Emulator::new();
    emulator.create_mesh("m").await;
    let first = emulator.create_node("m", example_node("vn", Some("t1"))).await;
    let replay = emulator.create_node("m", example_node("vn", Some("t1"))).await;
    assert_eq!(replay.status, 200);
    assert_eq!(replay.body["metadata"]["uid"], first.body["metadata"]["uid"]);
    assert_eq!(replay.body["metadata"]["version"], 1);
    let mut different = example_node("vn", Some("t1"));
    different["spec"]["listeners"][0]["portMapping"]["port"] = json!(8080);
    assert_error(&emulator.create_node("m", different).await, 409, "ConflictException");
    let mut tagged = example_node("vn", Some("t1"));
    tagged["tags"] = json!([{"key": "k", "value": "v"}]);
    assert_error(&emulator.create_node("m", tagged).await, 409, "ConflictException");
    // The same token for another name is a different request too.
    assert_error(&emulator.create_node("m", example_node("other", Some("t1"))).await, 409, "ConflictException");
    assert_eq!(emulator.node_names("m").await, ["vn"]);
    let described = emulator.send("GET", "/v20190125/meshes/m/virtualNodes/vn", "").await;
    assert_eq!(described.body["spec"]["listeners"][0]["portMapping"]["port"], 9080);
}

#[tokio::test]
async fn invalid_requests_are_400_and_create_nothing() {
    let emulator = Emulator::new();
    emulator.create_mesh("m").await;
    let mut port_zero = example_node("a", None);
    port_zero["spec"]["listeners"][0]["portMapping"]["port"] = json!(0);
    let mut two_discoveries = example_node("b", None);
    two_discoveries["spec"]["serviceDiscovery"]["awsCloudMap"] = json!({"namespaceName": "n", "serviceName": "s"});
    let mut bad_enum = example_node("c", None);
    bad_enum["spec"]["listeners"][0]["portMapping"]["protocol"] = json!("HTTP");
    let mut no_spec = example_node("d", None);
    no_spec.as_object_mut().unwrap().remove("spec");
    for body in [port_zero, two_discoveries, bad_enum, no_spec] {
        let answer = emulator.create_node("m", body.clone()).await;
        assert_error(&answer, 400, "BadRequestException");
    }
    for raw in ["{\"spec\":", "[]", "\"text\"", ""] {
        let answer = emulator.send("PUT", "/v20190125/meshes/m/virtualNodes", raw).await;
        assert_error(&answer, 400, "BadRequestException");
    }
    let answer = emulator
        .send("PUT", "/v20190125/meshes/m/virtualNodes?meshOwner=12345678901", &example_node("e", None).to_string())
        .await;
    assert_error(&answer, 400, "BadRequestException");
    assert!(answer.body["message"].as_str().unwrap().contains("meshOwner"));
    // A failed request leaves no token behind: the same token with a valid body then succeeds.
    let mut invalid = example_node("f", Some("tok"));
    invalid["spec"]["listeners"][0]["portMapping"]["port"] = json!(70000);
    assert_error(&emulator.create_node("m", invalid).await, 400, "BadRequestException");
    assert_eq!(emulator.node_names("m").await, Vec::<String>::new());
    assert_eq!(emulator.create_node("m", example_node("f", Some("tok"))).await.status, 200);
}

#[tokio::test]
async fn the_message_names_the_member_path_and_rule() {
    let emulator = Emulator::new();
    emulator.create_mesh("m").await;
    let mut body = example_node("a", None);
    body["spec"]["listeners"][0]["portMapping"]["port"] = json!(65536);
    let answer = emulator.create_node("m", body).await;
    assert_eq!(answer.body["message"], "spec.listeners[0].portMapping.port: max rule: expected <= 65535, found 65536");
}

#[tokio::test]
async fn unknown_routes_and_foreign_owners_answer_json_errors() {
    let emulator = Emulator::new();
    let answer = emulator.send("POST", "/v20190125/meshes/m/virtualNodes", "{}").await;
    assert_error(&answer, 404, "UnknownOperationException");
    emulator.create_mesh("m").await;
    let answer = emulator.send("GET", "/v20190125/meshes/m/virtualNodes/x?meshOwner=999999999999", "").await;
    assert_error(&answer, 403, "ForbiddenException");
}

#[tokio::test]
async fn list_paginates_and_delete_frees_the_name() {
    let emulator = Emulator::new();
    emulator.create_mesh("m").await;
    for i in 0..5 {
        assert_eq!(emulator.create_node("m", example_node(&format!("n{i}"), None)).await.status, 200);
    }
    let mut names = Vec::new();
    let mut uri = "/v20190125/meshes/m/virtualNodes?limit=2".to_string();
    loop {
        let page = emulator.send("GET", &uri, "").await;
        assert_eq!(page.status, 200, "{}", page.body);
        let items = page.body["virtualNodes"].as_array().unwrap();
        assert!(items.len() <= 2);
        names.extend(items.iter().map(|n| n["virtualNodeName"].as_str().unwrap().to_string()));
        match page.body["nextToken"].as_str() {
            Some(token) => uri = format!("/v20190125/meshes/m/virtualNodes?limit=2&nextToken={token}"),
            None => break,
        }
    }
    assert_eq!(names, ["n0", "n1", "n2", "n3", "n4"]);
    assert_error(
        &emulator.send("GET", "/v20190125/meshes/m/virtualNodes?limit=0", "").await,
        400,
        "BadRequestException",
    );
    assert_error(
        &emulator.send("GET", "/v20190125/meshes/m/virtualNodes?nextToken=forged", "").await,
        400,
        "BadRequestException",
    );
    assert_error(&emulator.send("DELETE", "/v20190125/meshes/m", "").await, 409, "ResourceInUseException");
    let deleted = emulator.send("DELETE", "/v20190125/meshes/m/virtualNodes/n0", "").await;
    assert_eq!(deleted.body["status"]["status"], "DELETED");
    assert_eq!(emulator.create_node("m", example_node("n0", None)).await.status, 200);
}

#[tokio::test]
async fn list_meshes_pages_through_every_mesh() {
    let emulator = Emulator::new();
    for name in ["a", "b", "c"] {
        emulator.create_mesh(name).await;
    }
    let first = emulator.send("GET", "/v20190125/meshes?limit=2", "").await;
    assert_eq!(first.body["meshes"].as_array().unwrap().len(), 2);
    let token = first.body["nextToken"].as_str().unwrap();
    let second = emulator.send("GET", &format!("/v20190125/meshes?limit=2&nextToken={token}"), "").await;
    let names: Vec<&str> =
        second.body["meshes"].as_array().unwrap().iter().map(|m| m["meshName"].as_str().unwrap()).collect();
    assert_eq!(names, ["c"]);
    assert!(second.body.get("nextToken").is_none());
}

#[tokio::test]
async fn deviation_modes_change_what_they_say() {
    let config = EmulatorConfig {
        deviations: [Deviation::VersionZero, Deviation::NoErrorTypeHeader].into(),
        ..Default::default()
    };
    let emulator = Emulator::with(config);
    emulator.create_mesh("m").await;
    let created = emulator.create_node("m", example_node("vn", None)).await;
    assert_eq!(created.body["metadata"]["version"], 0);
    let duplicate = emulator.create_node("m", example_node("vn", None)).await;
    assert_eq!(duplicate.status, 409);
    assert_eq!(duplicate.error_type, None);
}

fn with_quotas(meshes: usize, nodes: usize, backends: usize) -> EmulatorConfig {
    EmulatorConfig {
        quotas: Quotas {
            meshes_per_account: meshes,
            virtual_nodes_per_mesh: nodes,
            backends_per_virtual_node: backends,
            ..Quotas::default()
        },
        ..Default::default()
    }
}

#[tokio::test]
async fn quotas_refuse_with_limit_exceeded_and_free_up_on_delete() {
    let emulator = Emulator::with(with_quotas(2, 3, 2));
    emulator.create_mesh("m").await;
    for i in 0..3 {
        assert_eq!(emulator.create_node("m", example_node(&format!("n{i}"), None)).await.status, 200);
    }
    let over = emulator.create_node("m", example_node("n3", Some("tok-over"))).await;
    assert_error(&over, 400, "LimitExceededException");
    assert_eq!(emulator.node_names("m").await, ["n0", "n1", "n2"]);
    // The refused request cached nothing: its token still gives LimitExceeded, not a replay.
    assert_error(&emulator.create_node("m", example_node("n3", Some("tok-over"))).await, 400, "LimitExceededException");
    assert_eq!(emulator.send("DELETE", "/v20190125/meshes/m/virtualNodes/n0", "").await.status, 200);
    assert_eq!(emulator.create_node("m", example_node("n3", Some("tok-over"))).await.status, 200);

    emulator.create_mesh("m2").await;
    let third = emulator.send("PUT", "/v20190125/meshes", &json!({"meshName": "m3"}).to_string()).await;
    assert_error(&third, 400, "LimitExceededException");

    let mut three_backends = example_node("b", None);
    three_backends["spec"]["backends"] = json!([
        {"virtualService": {"virtualServiceName": "a"}},
        {"virtualService": {"virtualServiceName": "b"}},
        {"virtualService": {"virtualServiceName": "c"}}
    ]);
    assert_error(&emulator.create_node("m2", three_backends).await, 400, "LimitExceededException");
}

#[tokio::test]
async fn the_default_quotas_are_app_mesh_s() {
    let quotas = Quotas::default();
    assert_eq!(
        (quotas.meshes_per_account, quotas.virtual_nodes_per_mesh, quotas.backends_per_virtual_node),
        (15, 200, 50)
    );
}

#[tokio::test]
async fn throttled_requests_are_429_and_change_nothing() {
    // Three tokens: the mesh and two nodes. In-process requests take microseconds, so the refill of
    // 5 per second adds well under one token while the six creates run.
    let config =
        EmulatorConfig { rate_limit: Some(RateLimit { requests_per_second: 5.0, burst: 3 }), ..Default::default() };
    let emulator = Emulator::with(config);
    emulator.create_mesh("m").await;
    let mut statuses = Vec::new();
    for i in 0..6 {
        let answer = emulator.create_node("m", example_node(&format!("n{i}"), None)).await;
        if answer.status == 429 {
            assert_error(&answer, 429, "TooManyRequestsException");
        }
        statuses.push(answer.status);
    }
    assert_eq!(statuses, [200, 200, 429, 429, 429, 429]);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(emulator.node_names("m").await, ["n0", "n1"], "a throttled create created nothing");
}

#[tokio::test]
async fn unsigned_requests_are_refused_when_signatures_are_verified() {
    let config = EmulatorConfig { auth: Some(AuthConfig::default()), ..Default::default() };
    let emulator = Emulator::with(config);
    let answer = emulator.send("PUT", "/v20190125/meshes", &json!({"meshName": "m"}).to_string()).await;
    assert_error(&answer, 403, "MissingAuthenticationTokenException");
    let request = Request::builder()
        .method("GET")
        .uri("/v20190125/meshes/m")
        .header("authorization", "AWS4-HMAC-SHA256 Credential=AKIDAPPMESHCONFORMANCE/20260101/us-east-1/appmesh/aws4_request, SignedHeaders=host;x-amz-date, Signature=00")
        .header("host", "127.0.0.1")
        .header("x-amz-date", "20260101T000000Z")
        .body(Body::empty())
        .unwrap();
    let response = emulator.0.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status().as_u16(), 403);
    assert_eq!(response.headers()["x-amzn-errortype"], "InvalidSignatureException");
}

/// 50 concurrent creates with one token and one body: one node, every answer 200 with its uid.
#[tokio::test]
async fn concurrent_replays_create_exactly_one_node() {
    let emulator = Arc::new(Emulator::new());
    emulator.create_mesh("m").await;
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let emulator = emulator.clone();
            tokio::spawn(async move { emulator.create_node("m", example_node("vn", Some("one-token"))).await })
        })
        .collect();
    let mut uids = std::collections::BTreeSet::new();
    for task in tasks {
        let answer = task.await.unwrap();
        assert_eq!(answer.status, 200, "{}", answer.body);
        uids.insert(answer.body["metadata"]["uid"].as_str().unwrap().to_string());
    }
    assert_eq!(uids.len(), 1, "{uids:?}");
    assert_eq!(emulator.node_names("m").await, ["vn"]);
}

/// 500 concurrent creates of distinct names, quota permitting: all listed, none lost or doubled.
#[tokio::test]
async fn concurrent_distinct_creates_lose_nothing() {
    let emulator = Arc::new(Emulator::with(with_quotas(15, 1000, 50)));
    emulator.create_mesh("m").await;
    let tasks: Vec<_> = (0..500)
        .map(|i| {
            let emulator = emulator.clone();
            tokio::spawn(async move { emulator.create_node("m", example_node(&format!("n{i:03}"), None)).await.status })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap(), 200);
    }
    let mut names = Vec::new();
    let mut uri = "/v20190125/meshes/m/virtualNodes?limit=100".to_string();
    for _ in 0..10 {
        let page = emulator.send("GET", &uri, "").await;
        names.extend(
            page.body["virtualNodes"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["virtualNodeName"].as_str().unwrap().to_string()),
        );
        match page.body["nextToken"].as_str() {
            Some(token) => uri = format!("/v20190125/meshes/m/virtualNodes?limit=100&nextToken={token}"),
            None => break,
        }
    }
    let expected: Vec<String> = (0..500).map(|i| format!("n{i:03}")).collect();
    assert_eq!(names, expected);
}

/// Nothing dropped: for every create the emulator implements, the fullest valid inputs of the
/// final model (every optional member set, each union member chosen in turn across requests)
/// come back member by member from the create, the Describe, the List and ListTagsForResource.
#[tokio::test]
async fn every_member_of_the_final_model_is_stored_and_echoed() {
    use appmesh_conformance::checks::json_differences;
    use appmesh_conformance::generate::values::full_variants;
    use appmesh_conformance::validate::{comparable, normalize};

    let model = ServiceModel::embedded();
    let emulator = Emulator::new();
    emulator.create_mesh("full").await;
    let mut sent_requests = 0;
    for (operation, describe, list, list_member) in [
        ("CreateMesh", "DescribeMesh", "ListMeshes", "meshes"),
        ("CreateVirtualNode", "DescribeVirtualNode", "ListVirtualNodes", "virtualNodes"),
    ] {
        let input_shape = model.operation(operation).unwrap().input.clone().unwrap();
        let output_member = if operation == "CreateMesh" { "mesh" } else { "virtualNode" };
        for (index, mut input) in full_variants(&model, &input_shape).into_iter().enumerate() {
            let name = format!("full-{index}");
            input["clientToken"] = json!(format!("token-{operation}-{index}"));
            if operation == "CreateMesh" {
                input["meshName"] = json!(name);
            } else {
                input["meshName"] = json!("full");
                input["meshOwner"] = json!(emulator::DEFAULT_ACCOUNT_ID);
                input["virtualNodeName"] = json!(name);
            }
            let request = appmesh_conformance::wire::build_request(&model, operation, &input).unwrap();
            let body = String::from_utf8(request.body).unwrap();
            let created = emulator.send(&request.method, &request.path_and_query, &body).await;
            assert_eq!(created.status, 200, "{operation} {input}: {}", created.body);
            sent_requests += 1;
            let spec_shape = if operation == "CreateMesh" { "MeshSpec" } else { "VirtualNodeSpec" };
            let sent_spec = comparable(&normalize(&model, spec_shape, &input["spec"]));
            let same = |what: &str, data: &Value| {
                let echoed = comparable(&data["spec"]);
                let differences = json_differences("spec", &sent_spec, &echoed);
                assert!(differences.is_empty(), "{operation} variant {index}, {what}: {differences:?}");
            };
            same("create", &created.body);
            let mut identifiers = json!({"meshName": input["meshName"]});
            if operation != "CreateMesh" {
                identifiers["virtualNodeName"] = json!(name);
            }
            let read = appmesh_conformance::wire::build_request(&model, describe, &identifiers).unwrap();
            let described = emulator.send("GET", &read.path_and_query, "").await;
            assert_eq!(described.status, 200, "{}", described.body);
            same("describe", &described.body);
            let listing = appmesh_conformance::wire::build_request(&model, list, &identifiers).unwrap();
            let listed = emulator.send("GET", &listing.path_and_query, "").await;
            let refs = listed.body[list_member].as_array().unwrap();
            let name_member = if operation == "CreateMesh" { "meshName" } else { "virtualNodeName" };
            assert!(refs.iter().any(|r| r[name_member] == name.as_str()), "{list} lacks {name}: {}", listed.body);
            let arn = described.body["metadata"]["arn"].as_str().unwrap().to_string();
            let tags_request =
                appmesh_conformance::wire::build_request(&model, "ListTagsForResource", &json!({"resourceArn": arn}))
                    .unwrap();
            let tags = emulator.send("GET", &tags_request.path_and_query, "").await;
            assert_eq!(tags.body["tags"], normalize(&model, "TagList", &input["tags"]), "{output_member} {name}");
        }
    }
    assert!(sent_requests > 15, "only {sent_requests} variants were sent");
}
