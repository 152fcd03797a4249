//! Reliability: a TLS certificate the client does not trust is refused. Against an emulator serving
//! HTTPS, the engine without `MCP_CA_CERT` (and the client with another emulator's CA) fail with a
//! clear TLS error and change nothing: no request reaches the API. With the right CA the client
//! talks, and the engine deploys and disposes (in a child process, where `MCP_CA_CERT` is set).

mod engine_support;

use std::time::Duration;

use cloud::{ClientConfig, CloudClient, RetryPolicy, Secret};
use engine::{self, Action, Options};
use engine_support::{
    DISTINCT_ACCOUNT as ACCOUNT, assert_empty, options_as, redis_plan, run_ok, start_as,
};

/// Environment of the child run: the URL of the parent's emulator.
const CHILD_URL: &str = "RELIABILITY_TLS_CHILD_URL";

/// Short retries: a refused certificate must not be retried for a minute.
fn short(url: &str) -> Options {
    Options {
        retry: RetryPolicy {
            initial: Duration::from_millis(5),
            max_delay: Duration::from_millis(50),
            deadline: Duration::from_secs(3),
            request_timeout: Duration::from_secs(5),
        },
        ..options_as(url, ACCOUNT)
    }
}

fn client(url: &str, ca: Option<Vec<u8>>) -> CloudClient {
    let mut cfg = ClientConfig::new(url, ACCOUNT.user, Secret::new(ACCOUNT.password));
    cfg.ca_cert_pem = ca;
    cfg.retry = short(url).retry;
    CloudClient::new(cfg).unwrap()
}

/// The message of a refused certificate must say so, in words a user can act on, and come at once
/// (a refused certificate is not retried).
fn assert_tls_message(message: &str) {
    for word in ["TLS", "certificate", "not trusted", "MCP_CA_CERT"] {
        assert!(message.contains(word), "not a clear TLS error: {message}");
    }
    assert!(!message.contains("attempts"), "retried: {message}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn untrusted_certificate_is_refused_and_the_right_ca_works() {
    assert!(
        std::env::var_os("MCP_CA_CERT").is_none(),
        "run without MCP_CA_CERT"
    );
    let (emu, _dir) = start_as(0.001, true, ACCOUNT);
    let (other, _other_dir) = start_as(0.001, true, ACCOUNT);
    assert!(emu.url().starts_with("https://127."), "{}", emu.url());
    let ca = std::fs::read(emu.ca_cert_path().unwrap()).unwrap();
    let wrong_ca = std::fs::read(other.ca_cert_path().unwrap()).unwrap();
    assert_ne!(ca, wrong_ca);
    let plan = redis_plan();

    // The engine, trusting only the public roots.
    let err = engine::run(Action::Deploy, &plan, &short(emu.url()))
        .await
        .expect_err("an untrusted certificate is refused");
    assert_tls_message(&err.to_string());

    // The client, trusting another CA.
    let err = client(emu.url(), Some(wrong_ca))
        .list_servers(&[])
        .await
        .expect_err("a certificate of another CA is refused");
    assert_tls_message(&err.to_string());

    // Nothing reached the API, nothing changed.
    assert_eq!(emu.stats().requests.total, 0, "{}", emu.stats());
    assert_empty(&emu, "after the refused runs");

    // The right CA: the client talks.
    let servers = client(emu.url(), Some(ca)).list_servers(&[]).await.unwrap();
    assert!(servers.is_empty());

    // The engine with MCP_CA_CERT set: in a child process (the environment is process-wide).
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "child_deploys_through_tls", "--nocapture"])
        .env(CHILD_URL, emu.url())
        .env("MCP_CA_CERT", emu.ca_cert_path().unwrap())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "child: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_empty(&emu, "after the child's deploy and dispose");
    assert!(
        emu.stats().requests.operation("DEPLOY_SERVER") >= 4,
        "the child deployed through TLS: {}",
        emu.stats()
    );
}

/// Runs only as the child of the test above (it is a no-op otherwise).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_deploys_through_tls() {
    let Ok(url) = std::env::var(CHILD_URL) else {
        return;
    };
    assert!(std::env::var_os("MCP_CA_CERT").is_some());
    let plan = redis_plan();
    let opts = options_as(&url, ACCOUNT);
    run_ok(Action::Deploy, &plan, &opts, "child deploy").await;
    // The parent's emulator is checked from here through its stats endpoint, read by the client.
    let servers = client(
        &url,
        Some(std::fs::read(std::env::var("MCP_CA_CERT").unwrap()).unwrap()),
    )
    .list_servers(&[])
    .await
    .unwrap();
    let mut names: Vec<String> = servers.iter().map(|s| s.name.clone()).collect();
    names.sort();
    assert_eq!(names, ["redis01", "redis02", "redis03", "redis04"]);
    run_ok(Action::Dispose, &plan, &opts, "child dispose").await;
}
