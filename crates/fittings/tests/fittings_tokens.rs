//! Every plan of the corpus expands completely: with facts for every node of the plan, each node's
//! cloud-config and information lines lose all their `{{ }}` tokens (except bare words that are not
//! plumbery tokens, such as Ansible's `{{ playbook_dir }}`), and the cloud-config renders as YAML.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use fittings::tokens::{
    FactsContext, NodeFacts, expand_str, expand_value, render_user_data, tokens_in,
};
use fittings::{Parameters, Plan, PlanSource, load};
use secrets::Store;

mod support;
use support::StoreSource;

fn plans() -> Vec<PathBuf> {
    let root = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus"
    ));
    let mut out = vec![PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../fittings/redis-cluster.yaml"
    ))];
    for dir in ["plumbery-contrib", "plumbery-contrib-fork"] {
        for e in std::fs::read_dir(root.join(dir)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "yaml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Facts for every node of the plan, in its own location and in the locations other plans point to.
fn facts(plan: &Plan) -> BTreeMap<(String, String), NodeFacts> {
    let mut facts = BTreeMap::new();
    let mut i = 0;
    for loc in &plan.locations {
        for bp in &loc.blueprints {
            for node in &bp.nodes {
                i += 1;
                let f = NodeFacts {
                    id: Some(format!("id-{i}")),
                    private: Some(format!("10.0.{}.{}", i / 200, i % 200 + 10)),
                    ipv6: Some(format!("2001:db8::{i:x}")),
                    public: Some(format!("198.51.100.{}", i % 250)),
                };
                facts.insert((loc.location_id.clone(), node.name.clone()), f);
            }
        }
    }
    facts
}

fn literal_left(text: &str) -> Vec<String> {
    tokens_in(text)
        .into_iter()
        .filter(|t| t != "playbook_dir")
        .collect()
}

#[test]
fn every_corpus_plan_expands_without_literal_tokens() {
    let state = tempfile::tempdir().unwrap();
    let source = StoreSource(Store::open_in(state.path()).unwrap());
    let store = &source.0;
    store
        .get_or_insert_with("https://discovery.etcd.io/new", || {
            Ok("https://discovery.etcd.io/0123abcd".into())
        })
        .unwrap();
    let mut env = BTreeMap::new();
    env.insert("MCP_USERNAME".to_string(), "someone".to_string());
    env.insert("MCP_PASSWORD".to_string(), "not-printed".to_string());
    env.insert(
        "SHARED_SECRET".to_string(),
        "not-printed-either".to_string(),
    );
    let mut expanded_nodes = 0;
    for path in plans() {
        let (plan, _) = load(&PlanSource::File(path.clone()), &Parameters::new()).unwrap();
        let facts = facts(&plan);
        for loc in &plan.locations {
            for bp in &loc.blueprints {
                for node in &bp.nodes {
                    let ctx = FactsContext {
                        location_id: loc.location_id.clone(),
                        location_country: Some("Somewhere".into()),
                        this_node: Some(node.name.clone()),
                        nodes: &facts,
                        secrets: &source,
                        local_public_key: Some("ssh-rsa AAAAlocal me@here".into()),
                        balancer: None,
                        environment: Some(&env),
                    };
                    let where_ = format!("{}: node {}", path.display(), node.name);
                    if let Some(cc) = &node.cloud_config {
                        let out =
                            expand_value(cc, &ctx).unwrap_or_else(|e| panic!("{where_}: {e}"));
                        let text = render_user_data(&out).unwrap();
                        assert!(
                            literal_left(&text).is_empty(),
                            "{where_}: {:?}",
                            literal_left(&text)
                        );
                        let back: serde_yaml::Value = serde_yaml::from_str(&text).unwrap();
                        assert_eq!(back, out, "{where_}: the user-data reads back as written");
                    }
                    for line in &node.information {
                        let out =
                            expand_str(line, &ctx).unwrap_or_else(|e| panic!("{where_}: {e}"));
                        assert!(literal_left(&out).is_empty(), "{where_}: {out}");
                    }
                    expanded_nodes += 1;
                }
            }
        }
    }
    assert!(expanded_nodes >= 268, "{expanded_nodes}");
    let listed = store.list();
    assert!(listed.contains_key("rsa_private.key") && listed.contains_key("mysql_root.secret"));
}
