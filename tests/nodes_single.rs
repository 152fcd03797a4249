//! One node end to end: boot, ssh in through the NAT once a port-22 rule exists, delete, nothing left.

mod nodes_support;

use nodes_support::*;
use plumbery::emulator::backend::NodeBackend;

#[test]
fn one_node_boots_and_answers_ssh_through_nat() {
    if !root_or_skip() {
        return;
    }
    let h = Harness::new();
    h.nodes.create_server(&h.spec(1), true).expect("create");
    assert!(!port_open(h.public(1), 22), "no NAT yet");
    h.nodes
        .sync_public(DOMAIN, &[h.nat(1)], &[rule("ssh", Some(h.public(1)), Some(22))])
        .unwrap();
    assert_eq!(ssh_ok(h.public(1), "hostname"), "node1");
    h.nodes.delete_server("srv-1").unwrap();
    assert!(!h.dir.path().join("state/nodes/srv-1").exists());
    h.nodes.shutdown();
    h.assert_clean();
}
