//! docs/kibana: the index templates match the documents websight writes, field for field, and
//! every field the saved objects (visualisations, queries, data views) name exists in the
//! mapping of the index they read.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;
use websight::core::synth::{Generator, SynthConfig};
use websight_testkit::documents_of;

fn docs(file: &str) -> String {
    std::fs::read_to_string(format!("{}/docs/kibana/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// Index → mapped field names (text fields also as `field.raw`).
fn mappings() -> BTreeMap<String, BTreeSet<String>> {
    let templates: Value = serde_json::from_str(&docs("index_templates.json")).unwrap();
    templates
        .as_object()
        .unwrap()
        .iter()
        .map(|(index, t)| {
            let mapping = &t["template"]["mappings"];
            assert_eq!(
                mapping["dynamic"], "strict",
                "{index}: unknown fields must be refused"
            );
            let mut fields = BTreeSet::new();
            for (name, spec) in mapping["properties"].as_object().unwrap() {
                fields.insert(name.clone());
                if let Some(sub) = spec.get("fields").and_then(Value::as_object) {
                    fields.extend(sub.keys().map(|s| format!("{name}.{s}")));
                }
            }
            (index.clone(), fields)
        })
        .collect()
}

/// Index → field names of real documents from generated traffic.
fn written_fields() -> BTreeMap<String, BTreeSet<String>> {
    let generator = Generator::new(SynthConfig {
        sessions: 3_000,
        users: 400,
        seed: 9,
        ..SynthConfig::default()
    })
    .unwrap();
    let out = documents_of(&generator);
    BTreeMap::from([
        ("session_summary".into(), keys(&out.sessions)),
        ("product_details".into(), keys(&out.products)),
        ("product_sentiment".into(), keys(&out.sentiments)),
        ("kpi_windows".into(), keys(&out.windows)),
    ])
}

/// Top-level field names of serialised documents.
fn keys<T: serde::Serialize>(documents: &[T]) -> BTreeSet<String> {
    assert!(!documents.is_empty());
    documents
        .iter()
        .flat_map(|d| {
            let v = serde_json::to_value(d).unwrap();
            v.as_object().unwrap().keys().cloned().collect::<Vec<_>>()
        })
        .collect()
}

#[test]
fn templates_map_exactly_the_fields_websight_writes() {
    let mapped = mappings();
    let written = written_fields();
    assert_eq!(
        mapped.keys().collect::<Vec<_>>(),
        written.keys().collect::<Vec<_>>()
    );
    for (index, fields) in &written {
        let top: BTreeSet<String> = mapped[index]
            .iter()
            .filter(|f| !f.contains('.'))
            .cloned()
            .collect();
        assert_eq!(&top, fields, "{index}: mapping vs documents");
    }
}

/// Field names in a KQL query: the identifier before `:`, `>`, `<`.
fn kql_fields(query: &str) -> Vec<String> {
    // Field names stand before an operator; a group's opening parenthesis is not part of one.
    let tokens: Vec<&str> = query
        .split_whitespace()
        .map(|t| t.trim_start_matches('('))
        .collect();
    tokens
        .windows(2)
        .filter(|w| [":", ">", "<", ">=", "<="].contains(&w[1]))
        .map(|w| w[0].to_owned())
        .collect()
}

#[test]
fn saved_objects_reference_only_mapped_fields() {
    let mapped = mappings();
    let objects: Vec<Value> = docs("saved_objects.ndjson")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: BTreeSet<&str> = objects.iter().map(|o| o["id"].as_str().unwrap()).collect();
    let mut checked = 0;
    for o in &objects {
        for r in o["references"].as_array().unwrap() {
            assert!(
                ids.contains(r["id"].as_str().unwrap()),
                "dangling reference {r}"
            );
        }
        match o["type"].as_str().unwrap() {
            "index-pattern" => {
                let title = o["attributes"]["title"].as_str().unwrap();
                let time = o["attributes"]["timeFieldName"].as_str().unwrap();
                assert!(mapped[title].contains(time), "{title}: time field {time}");
            }
            "visualization" => {
                let pattern = o["references"][0]["id"].as_str().unwrap();
                let index = pattern.strip_prefix("websight-").unwrap();
                let fields = &mapped[index];
                let state: Value =
                    serde_json::from_str(o["attributes"]["visState"].as_str().unwrap()).unwrap();
                let search: Value = serde_json::from_str(
                    o["attributes"]["kibanaSavedObjectMeta"]["searchSourceJSON"]
                        .as_str()
                        .unwrap(),
                )
                .unwrap();
                let mut named: Vec<String> = state["aggs"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter_map(|a| a["params"]["field"].as_str().map(str::to_owned))
                    .collect();
                named.extend(kql_fields(search["query"]["query"].as_str().unwrap()));
                for field in named {
                    assert!(
                        fields.contains(&field),
                        "{}: {field} not in {index}",
                        o["id"]
                    );
                    checked += 1;
                }
            }
            "dashboard" => {
                let panels: Value =
                    serde_json::from_str(o["attributes"]["panelsJSON"].as_str().unwrap()).unwrap();
                assert_eq!(
                    panels.as_array().unwrap().len(),
                    o["references"].as_array().unwrap().len()
                );
            }
            other => panic!("unexpected object type {other}"),
        }
    }
    assert!(checked >= 15, "only {checked} fields checked");
    assert_eq!(kql_fields("a : 1 and b > 2"), ["a", "b"]);
}

#[test]
fn the_search_connector_installs_these_templates() {
    let connector = include_str!("../websight-connectors/data/index_templates.json");
    assert_eq!(connector, docs("index_templates.json"));
}
