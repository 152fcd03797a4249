//! Every plan of the contrib corpus (and its fork) loads and validates; the one with the misspelt
//! parameter (mysql master-slave) loads with a warning naming the token and its line, the token left
//! as written, as the original left unknown tokens.

use std::path::{Path, PathBuf};

use fittings::{Parameters, PlanSource, load};

fn corpus(dir: &str) -> Vec<PathBuf> {
    let root = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus"
    ))
    .join(dir);
    let mut plans: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    plans.sort();
    plans
}

#[test]
fn every_contrib_plan_validates() {
    let mut failures = Vec::new();
    let plans = corpus("plumbery-contrib");
    assert_eq!(plans.len(), 55);
    for path in plans {
        match load(&PlanSource::File(path.clone()), &Parameters::new()) {
            Ok((plan, warnings)) => {
                if path.ends_with("database__mysql-master-slave__fittings.yaml") {
                    let w = warnings
                        .iter()
                        .find(|w| w.message.contains("parameter.networkname"))
                        .expect("a warning names the misspelt parameter");
                    assert_eq!((w.pos.line, w.pos.column), (273, 41), "{w}");
                    assert!(w.message.contains("left as written"), "{w}");
                    let nodes: usize = plan
                        .locations
                        .iter()
                        .flat_map(|l| &l.blueprints)
                        .map(|b| b.nodes.len())
                        .sum();
                    assert_eq!(nodes, 2);
                }
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_fork_plan_validates() {
    let plans = corpus("plumbery-contrib-fork");
    assert_eq!(plans.len(), 12);
    let failures: Vec<String> = plans
        .into_iter()
        .filter_map(|p| {
            load(&PlanSource::File(p), &Parameters::new())
                .err()
                .map(|e| e.to_string())
        })
        .collect();
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn balancer_and_backup_forms_load_into_the_model() {
    let root = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus/plumbery-contrib"
    ));
    let load_one = |f: &str| {
        load(&PlanSource::File(root.join(f)), &Parameters::new())
            .unwrap_or_else(|e| panic!("{f}: {e}"))
            .0
    };
    // `listeners:` (apache2-cluster): each listener a balancer, `algorithm` the pool's.
    let plan = load_one("web__apache2-cluster__fittings.yaml");
    let with: Vec<_> = plan
        .locations
        .iter()
        .flat_map(|l| &l.blueprints)
        .filter(|b| !b.balancers.is_empty())
        .collect();
    assert!(!with.is_empty());
    let b = with[0];
    assert_eq!(b.balancers[0].name, "http");
    assert_eq!(b.balancers[0].port, 80);
    assert_eq!(b.balancers[0].protocol, "http");
    assert_eq!(b.pool.as_ref().unwrap().algorithm, "round_robin");
    // `backup: essentials` on a node.
    let plan = load_one("example__backup__fittings.yaml");
    let node = &plan.locations[0].blueprints[0].nodes[0];
    let backup = node.backup.as_ref().unwrap();
    assert_eq!(backup.plan, "essentials");
    assert!(backup.clients.is_empty());
}
