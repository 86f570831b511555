//! The dependency rule, checked from `cargo metadata`.
//!
//! A crate is a *domain* crate when its manifest says
//! `[package.metadata.monservice] layer = "domain"` (the kernel does, and so must teams,
//! availability, planning, notifications). None of them may reach an infrastructure crate
//! through its normal dependencies, directly or transitively: the domain stays testable
//! without I/O and swappable behind its ports.

use serde_json::Value;
use std::collections::{HashMap, HashSet, VecDeque};
use std::process::Command;

/// Crates that do I/O or belong to a framework. A prefix match (`actix` covers `actix-web`).
const FORBIDDEN_PREFIXES: &[&str] = &[
    "actix",
    "sea-orm",
    "sea-query",
    "sqlx",
    "diesel",
    "redis",
    "deadpool",
    "lettre",
    "rust-s3",
    "aws-",
    "reqwest",
    "hyper",
    "tokio",
    "mio",
    "tokio-postgres",
    "openidconnect",
    "utoipa-actix",
    "tracing-actix",
    "async-std",
];
/// Domain crates that must exist (they are added as their issues land).
const DOMAIN_NAMES: &[&str] = &[
    "kernel",
    "teams",
    "availability",
    "planning",
    "notifications",
];

pub fn forbidden(name: &str) -> bool {
    FORBIDDEN_PREFIXES
        .iter()
        .any(|p| name == *p || name.starts_with(p))
}

/// Returns one line per violation: `domain-crate -> … -> forbidden-crate`.
pub fn violations(metadata: &Value) -> Result<Vec<String>, String> {
    let packages = metadata["packages"]
        .as_array()
        .ok_or("no packages in metadata")?;
    let names: HashMap<&str, &str> = packages
        .iter()
        .filter_map(|p| Some((p["id"].as_str()?, p["name"].as_str()?)))
        .collect();
    let domain: Vec<&Value> = packages
        .iter()
        .filter(|p| {
            let layer = p["metadata"]["monservice"]["layer"].as_str();
            let name = p["name"].as_str().unwrap_or_default();
            layer == Some("domain")
                || (layer.is_none() && DOMAIN_NAMES.contains(&name) && p["source"].is_null())
        })
        .collect();
    // The resolved graph: package id → ids of its normal (non-dev, non-build) dependencies.
    let nodes = metadata["resolve"]["nodes"]
        .as_array()
        .ok_or("no resolve graph")?;
    let mut graph: HashMap<&str, Vec<&str>> = HashMap::new();
    for n in nodes {
        let id = n["id"].as_str().unwrap_or_default();
        let deps = n["deps"]
            .as_array()
            .map(|ds| {
                ds.iter()
                    .filter(|d| {
                        d["dep_kinds"]
                            .as_array()
                            .is_some_and(|ks| ks.iter().any(|k| k["kind"].is_null()))
                    })
                    .filter_map(|d| d["pkg"].as_str())
                    .collect()
            })
            .unwrap_or_default();
        graph.insert(id, deps);
    }
    let mut out = Vec::new();
    for p in domain {
        let Some(start) = p["id"].as_str() else {
            continue;
        };
        // Breadth-first, remembering how each crate was reached for a readable message.
        let mut parent: HashMap<&str, &str> = HashMap::new();
        let mut seen: HashSet<&str> = HashSet::from([start]);
        let mut queue = VecDeque::from([start]);
        while let Some(id) = queue.pop_front() {
            for &dep in graph.get(id).map(Vec::as_slice).unwrap_or_default() {
                if !seen.insert(dep) {
                    continue;
                }
                parent.insert(dep, id);
                let name = names.get(dep).copied().unwrap_or(dep);
                if forbidden(name) {
                    let mut chain = vec![name];
                    let mut cur = id;
                    while let Some(&up) = parent.get(cur) {
                        chain.push(names.get(cur).copied().unwrap_or(cur));
                        cur = up;
                    }
                    chain.push(names.get(start).copied().unwrap_or(start));
                    chain.reverse();
                    out.push(chain.join(" -> "));
                } else {
                    queue.push_back(dep);
                }
            }
        }
    }
    Ok(out)
}

fn metadata() -> Result<Value, String> {
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(super::root())
        .args(["metadata", "--format-version", "1"])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())
}

pub fn run() -> Result<(), String> {
    let bad = violations(&metadata()?)?;
    if bad.is_empty() {
        eprintln!("tidy: domain crates are free of infrastructure dependencies");
        Ok(())
    } else {
        Err(format!(
            "domain crates depend on infrastructure (move the I/O behind a port):\n  {}",
            bad.join("\n  ")
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_workspace_obeys_the_rule() {
        run().unwrap();
    }

    fn meta(layer_of_a: &str) -> Value {
        let normal = json!([{"kind": null}]);
        let dev = json!([{"kind": "dev"}]);
        json!({
            "packages": [
                {"id": "a", "name": "planning", "source": null, "metadata": {"monservice": {"layer": layer_of_a}}},
                {"id": "b", "name": "helper", "source": null, "metadata": null},
                {"id": "c", "name": "tokio", "source": "registry", "metadata": null},
                {"id": "d", "name": "sea-orm", "source": "registry", "metadata": null},
            ],
            "resolve": {"nodes": [
                {"id": "a", "deps": [{"pkg": "b", "dep_kinds": normal}, {"pkg": "d", "dep_kinds": dev}]},
                {"id": "b", "deps": [{"pkg": "c", "dep_kinds": normal}]},
                {"id": "c", "deps": []},
                {"id": "d", "deps": []},
            ]}
        })
    }

    #[test]
    fn a_transitive_dependency_is_caught_and_dev_dependencies_are_allowed() {
        let v = violations(&meta("domain")).unwrap();
        assert_eq!(v, vec!["planning -> helper -> tokio".to_string()]);
    }

    #[test]
    fn adapters_may_depend_on_infrastructure() {
        assert!(violations(&meta("adapter")).unwrap().is_empty());
    }

    #[test]
    fn forbidden_names() {
        for n in [
            "actix-web",
            "sea-orm",
            "sqlx-core",
            "redis",
            "deadpool-redis",
            "lettre",
            "rust-s3",
            "tokio",
            "reqwest",
            "hyper-util",
        ] {
            assert!(forbidden(n), "{n}");
        }
        for n in ["serde", "chrono", "uuid", "thiserror", "kernel"] {
            assert!(!forbidden(n), "{n}");
        }
    }
}
