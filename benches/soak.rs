//! Memory under a long create/delete loop: the embedded emulator, in-process, runs rounds of
//! CreateMesh, CreateVirtualNode, UpdateVirtualNode (each with a client token), DeleteVirtualNode
//! and DeleteMesh, and prints after each round what it holds and the process's resident memory.
//! Flat means: nothing held between rounds, and the last round's resident memory within a small
//! ratio of the first's.
//!
//! `cargo bench --bench soak` (SOAK_ROUNDS and SOAK_CYCLES change the 10 rounds of 20,000
//! cycles). Exits 1 when the emulator still holds something after a round.

use std::sync::Arc;

use appmesh_conformance::emulator::{Emulator, EmulatorConfig, Footprint};
use appmesh_conformance::model::ServiceModel;
use axum::http::{Method, Uri};
use serde_json::json;

/// The process's resident memory in KiB (`VmRSS`); 0 where /proc is not there.
fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap_or_default();
    line.split_whitespace().nth(1).and_then(|kib| kib.parse().ok()).unwrap_or(0)
}

fn setting(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    // `cargo bench` passes --bench; a filter that is not ours means another bench was asked for.
    if std::env::args().skip(1).any(|a| !a.starts_with("--") && a != "soak") {
        return;
    }
    let (rounds, cycles) = (setting("SOAK_ROUNDS", 10).min(1_000), setting("SOAK_CYCLES", 20_000).min(1_000_000));
    let emulator = Emulator::new(Arc::new(ServiceModel::embedded()), EmulatorConfig::default());
    let send = |method: Method, uri: &str, body: &serde_json::Value| {
        let uri: Uri = uri.parse().expect("a valid URI");
        let answer = emulator.answer(&method, &uri, &[], body.to_string().as_bytes());
        assert_eq!(answer.status, 200, "{method} {uri}: {}", String::from_utf8_lossy(&answer.body));
    };
    let spec = json!({"listeners": [{"portMapping": {"port": 9080, "protocol": "http"}}]});
    let mut first = None;
    println!("round  cycles  resources  tokens  resident");
    for round in 0..rounds {
        for cycle in 0..cycles {
            let id = round * cycles + cycle;
            let mesh = format!("soak-{id}");
            send(Method::PUT, "/v20190125/meshes", &json!({"meshName": mesh, "clientToken": format!("m-{id}")}));
            let nodes = format!("/v20190125/meshes/{mesh}/virtualNodes");
            let create = json!({"virtualNodeName": "vn", "spec": spec, "clientToken": format!("n-{id}")});
            send(Method::PUT, &nodes, &create);
            let node = format!("{nodes}/vn");
            send(Method::PUT, &node, &json!({"spec": {}, "clientToken": format!("u-{id}")}));
            send(Method::DELETE, &node, &json!({}));
            send(Method::DELETE, &format!("/v20190125/meshes/{mesh}"), &json!({}));
        }
        let held = emulator.footprint();
        let resident = resident_kib();
        println!(
            "{round:>5}  {:>6}  {:>9}  {:>6}  {:>6} MiB",
            cycles,
            held.resources,
            held.client_tokens,
            resident / 1024
        );
        if held != (Footprint { resources: 0, client_tokens: 0, deleted_records: 0 }) {
            eprintln!("soak: the emulator still holds {held:?} after round {round}");
            std::process::exit(1);
        }
        first.get_or_insert(resident);
    }
    let (first, last) = (first.unwrap_or(0), resident_kib());
    if first > 0 {
        println!("resident memory, last round / first: {:.2}", last as f64 / first as f64);
    }
}
