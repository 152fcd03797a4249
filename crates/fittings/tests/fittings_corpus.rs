//! Every plan of the contrib corpus (and its fork) loads and validates, except the one with the
//! misspelt parameter, which fails naming the token and its line.

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
fn every_contrib_plan_validates_except_mysql() {
    let mut failures = Vec::new();
    let plans = corpus("plumbery-contrib");
    assert_eq!(plans.len(), 55);
    for path in plans {
        let result = load(&PlanSource::File(path.clone()), &Parameters::new());
        let mysql = path.ends_with("database__mysql-master-slave__fittings.yaml");
        match (result, mysql) {
            (Ok(_), false) => {}
            (Err(e), true) => {
                let msg = e.to_string();
                assert!(msg.contains("parameter.networkname"), "{msg}");
                assert_eq!(e.pos.as_ref().map(|p| p.line), Some(273), "{msg}");
            }
            (Ok(_), true) => failures.push("mysql-master-slave loaded but must fail".to_string()),
            (Err(e), false) => failures.push(e.to_string()),
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
