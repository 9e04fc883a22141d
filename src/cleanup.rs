//! Removing what the harness created from a target: after each scenario, after an interrupted
//! run, and on demand (`appmesh-conformance cleanup`).
//!
//! The harness's resources are recognised by name and tag. Every name a run makes starts with
//! its run id (`acf-<hex time>-<4 characters>-`), and every mesh the scenarios set up carries the
//! tag [`TAG_KEY`] with the run id as its value. `cleanup` deletes a mesh only when its name has
//! that shape and, where the target can list tags, the tag agrees; a mesh with the right name but
//! without the tag is left alone and reported.
//!
//! Every call here waits out throttling (however the target spells it), so that a busy target is
//! not left with the run's resources.

use std::time::Duration;

use serde_json::{Value, json};

use crate::client::{Client, Exchange};

/// The tag key on every mesh the scenarios set up; its value is the run id.
pub const TAG_KEY: &str = "appmesh-conformance:run-id";

/// A run id: `acf-<hex seconds>-<tag>`, the prefix of every name the run makes. `tag` is four
/// lower-case letters or digits (random for a run; a fixed word for a bench or a campaign).
pub fn run_id(tag: &str) -> String {
    let seconds = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    format!("acf-{seconds:x}-{tag}")
}

/// Four random lower-case letters or digits, for [`run_id`].
pub fn random_tag(rng: &mut fastrand::Rng) -> String {
    (0..4).map(|_| rng.alphanumeric().to_ascii_lowercase()).collect()
}

/// Creates the mesh `{run_id}-{kind}`, tagged with the run id like every harness mesh; its name,
/// or why the target refused it.
pub async fn create_run_mesh(client: &Client, run_id: &str, kind: &str) -> Result<(String, Exchange), String> {
    let mesh = format!("{run_id}-{kind}");
    let input = json!({ "meshName": mesh, "tags": [{ "key": TAG_KEY, "value": run_id }] });
    let exchange = call_persistently(client, "CreateMesh", &input).await?;
    if exchange.status() != 200 {
        return Err(format!("cannot create the mesh {mesh}:\n{exchange}"));
    }
    Ok((mesh, exchange))
}

/// Whether a name was made by a harness run (any run, or the given one).
pub fn is_harness_name(name: &str, run_id: Option<&str>) -> bool {
    match run_id {
        Some(run_id) => name.strip_prefix(run_id).is_some_and(|rest| rest.starts_with('-')),
        None => {
            static PATTERN: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
            PATTERN
                .get_or_init(|| regex::Regex::new("^acf-[0-9a-f]{6,16}-[0-9a-z]{4}-").expect("a valid pattern"))
                .is_match(name)
        }
    }
}

/// The run id a harness name starts with.
pub fn run_id_of(name: &str) -> Option<&str> {
    if !is_harness_name(name, None) {
        return None;
    }
    let end = name.match_indices('-').nth(2).map(|(i, _)| i)?;
    Some(&name[..end])
}

/// Calls an operation, waiting out throttling (429, 503, or an error code naming throttling):
/// up to 8 tries over about 25 seconds.
pub async fn call_persistently(client: &Client, operation: &str, input: &Value) -> Result<Exchange, String> {
    let mut wait = Duration::from_millis(200);
    for _ in 0..8 {
        let exchange = client.call(operation, input).await.map_err(|e| e.to_string())?;
        let throttled = matches!(exchange.status(), 429 | 503)
            || exchange.error_code().is_some_and(|code| code.contains("Throttl") || code.contains("TooManyRequests"));
        if !throttled {
            return Ok(exchange);
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(8));
    }
    Err(format!("{operation}: still throttled after 8 tries"))
}

/// A delete: 200 or 404 is done.
pub async fn delete_persistently(client: &Client, operation: &str, input: &Value) -> Result<(), String> {
    let exchange = call_persistently(client, operation, input).await?;
    match exchange.status() {
        200 | 404 => Ok(()),
        status => Err(format!("HTTP {status} {}", exchange.response.body)),
    }
}

/// Every item of a paginated list operation (bounded to 100 pages); a 404 is an empty list.
pub async fn list_all(client: &Client, operation: &str, input: Value, member: &str) -> Result<Vec<Value>, String> {
    let mut items = Vec::new();
    let mut next_token: Option<String> = None;
    for _ in 0..100 {
        let mut input = input.clone();
        if let Some(token) = &next_token {
            input["nextToken"] = json!(token);
        }
        let exchange = call_persistently(client, operation, &input).await?;
        if exchange.status() == 404 {
            return Ok(items);
        }
        let body = exchange
            .json()
            .filter(|_| exchange.status() == 200)
            .ok_or_else(|| format!("{operation}: HTTP {} {}", exchange.status(), exchange.response.body))?;
        let page = body[member].as_array().ok_or_else(|| format!("{operation}: no {member} list"))?;
        items.extend(page.iter().cloned());
        match body["nextToken"].as_str() {
            Some(token) if !token.is_empty() => next_token = Some(token.to_string()),
            _ => return Ok(items),
        }
    }
    Err(format!("{operation}: more than 100 pages"))
}

/// The names of every virtual node in a mesh, following pagination.
pub async fn list_all_nodes(client: &Client, mesh: &str) -> Result<Vec<String>, String> {
    let nodes = list_all(client, "ListVirtualNodes", json!({ "meshName": mesh }), "virtualNodes").await?;
    Ok(nodes.iter().filter_map(|n| n["virtualNodeName"].as_str().map(str::to_string)).collect())
}

/// Deletes every virtual node of a mesh, then the mesh. A mesh already gone is done.
pub async fn delete_mesh_fully(client: &Client, mesh: &str) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    match list_all_nodes(client, mesh).await {
        Ok(names) => {
            for name in names {
                let input = json!({ "meshName": mesh, "virtualNodeName": name });
                if let Err(problem) = delete_persistently(client, "DeleteVirtualNode", &input).await {
                    problems.push(format!("DeleteVirtualNode {name}: {problem}"));
                }
            }
        }
        Err(problem) => problems.push(problem),
    }
    if let Err(problem) = delete_persistently(client, "DeleteMesh", &json!({ "meshName": mesh })).await {
        problems.push(format!("DeleteMesh: {problem}"));
    }
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

/// What a sweep found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Sweep {
    /// Meshes deleted (or, with `dry_run`, that would be).
    pub deleted: Vec<String>,
    /// Meshes named like the harness's but without its tag: left alone.
    pub untagged: Vec<String>,
    /// Meshes that could not be removed, with the reason.
    pub problems: Vec<String>,
    /// Whether the target could list tags; when it cannot, names alone decide.
    pub tags_checked: bool,
}

/// What [`sweep`] removes.
#[derive(Debug, Default, Clone)]
pub struct SweepOptions<'a> {
    /// Only this run's resources; `None`: every harness run's.
    pub run_id: Option<&'a str>,
    /// Meshes known to be the run's own (created and confirmed by this process), removed whatever
    /// their names.
    pub known: Vec<String>,
    /// Say what would be deleted, delete nothing.
    pub dry_run: bool,
}

/// Deletes the harness's meshes (and their virtual nodes) from a target.
pub async fn sweep(client: &Client, options: SweepOptions<'_>) -> Result<Sweep, String> {
    let meshes = list_all(client, "ListMeshes", json!({}), "meshes").await?;
    let mut sweep =
        Sweep { tags_checked: client.model().operation("ListTagsForResource").is_some(), ..Sweep::default() };
    let mut chosen: Vec<String> = options.known.clone();
    for mesh in &meshes {
        let Some(name) = mesh["meshName"].as_str() else { continue };
        if chosen.iter().any(|c| c == name) || !is_harness_name(name, options.run_id) {
            continue;
        }
        let arn = mesh["arn"].as_str().unwrap_or_default();
        if sweep.tags_checked && !arn.is_empty() {
            match tagged_by_harness(client, arn, name).await {
                Some(true) => {}
                Some(false) => {
                    sweep.untagged.push(name.to_string());
                    continue;
                }
                // The target cannot list tags: the name decides.
                None => sweep.tags_checked = false,
            }
        }
        chosen.push(name.to_string());
    }
    for name in chosen {
        if options.dry_run {
            sweep.deleted.push(name);
            continue;
        }
        match delete_mesh_fully(client, &name).await {
            Ok(()) => sweep.deleted.push(name),
            Err(problems) => sweep.problems.push(format!("{name}: {}", problems.join("; "))),
        }
    }
    Ok(sweep)
}

/// Whether the mesh carries the harness's tag for the run its name gives; `None` when the target
/// does not answer ListTagsForResource.
async fn tagged_by_harness(client: &Client, arn: &str, name: &str) -> Option<bool> {
    let exchange = call_persistently(client, "ListTagsForResource", &json!({ "resourceArn": arn })).await.ok()?;
    let body = exchange.json().filter(|_| exchange.status() == 200)?;
    let tags = body["tags"].as_array()?;
    let run_id = run_id_of(name);
    Some(tags.iter().any(|t| t["key"] == TAG_KEY && run_id.is_some_and(|id| t["value"] == id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn harness_names_are_recognised_and_others_are_not() {
        assert!(is_harness_name("acf-6743a1b2-x9k2-mesh-3", None));
        assert!(is_harness_name("acf-6743a1b2-x9k2-n-12xxxx", Some("acf-6743a1b2-x9k2")));
        assert!(!is_harness_name("acf-6743a1b2-x9k2-mesh-3", Some("acf-6743a1b2-zzzz")));
        for other in ["prod-mesh", "acf-mesh", "acf-6743a1b2-x9k2", "xacf-6743a1b2-x9k2-mesh", "acf-XYZ-x9k2-m"] {
            assert!(!is_harness_name(other, None), "{other} is not a harness name");
        }
        assert_eq!(run_id_of("acf-6743a1b2-x9k2-mesh-3"), Some("acf-6743a1b2-x9k2"));
        assert_eq!(run_id_of("prod"), None);
        let made = run_id(&random_tag(&mut fastrand::Rng::with_seed(1)));
        assert!(is_harness_name(&format!("{made}-mesh"), None), "{made}");
        assert_eq!(run_id_of(&format!("{made}-mesh")), Some(made.as_str()));
    }
}
