//! The client's secondary-NIC calls against the in-process emulator: addNic whose every answer is
//! lost still adds exactly one NIC (it observes before sending again), a second add of the same NIC
//! returns the existing one, refusals that are not "already there" stay errors, removeNic.

// The emulator crate owns these helpers; the tests here that also need the binary share them.
#[path = "../crates/emulator/tests/emulator_support/mod.rs"]
mod emulator_support;

use cloud::{AsyncOp, ClientConfig, CloudClient, NicTarget, RetryPolicy, Secret, Wait, WaitPolicy};
use emulator::FaultSpec;
use emulator_support::Emu;

fn client(e: &Emu) -> CloudClient {
    let mut cfg = ClientConfig::new(e.emu().url(), "plumbery", Secret::new("plumbery"));
    cfg.retry = RetryPolicy::fast();
    cfg.wait = WaitPolicy::fast();
    CloudClient::new(cfg).unwrap()
}

#[test]
fn add_nic_never_adds_twice() {
    let mut e = Emu::start(0.001);
    let d = e.domain("client");
    let front = e.vlan(&d, "front", "10.3.0.0");
    let back = e.vlan(&d, "back", "10.4.0.0");
    let other = e.domain("other");
    let foreign = e.vlan(&other, "foreign", "10.5.0.0");
    let r = e.deploy_server("web", &d, &front, false);
    let id = emulator_support::info(&r, "serverId");
    e.wait_state(&format!("server/server/{id}"), "NORMAL");
    let c = client(&e);
    let rt = tokio::runtime::Runtime::new().unwrap();

    // Every change answer is lost after the change is applied.
    e.emu()
        .set_faults(FaultSpec::parse("reset=1").unwrap(), Some(1));
    let nic = rt
        .block_on(c.add_nic(&id, &NicTarget::Vlan(back.clone())))
        .expect("add_nic observes the applied change");
    e.emu().set_faults(FaultSpec::default(), None);
    rt.block_on(c.wait_server(&id, Wait::after(AsyncOp::ChangeNic), None))
        .unwrap();
    let s = rt.block_on(c.get_server(&id)).unwrap().unwrap();
    let nics = s.additional_nics();
    assert_eq!(nics.len(), 1, "{nics:?}");
    assert_eq!(nics[0].id.as_deref(), Some(nic.as_str()));
    assert_eq!(e.stats().requests.operation("ADD_NIC"), 1);

    // The same NIC again, by VLAN or by its address: the API says INVALID_INPUT_DATA, which is
    // "already there" once the server shows it.
    let again = rt
        .block_on(c.add_nic(&id, &NicTarget::Vlan(back.clone())))
        .unwrap();
    assert_eq!(again, nic);
    let ip = nics[0].private_ipv4.clone().unwrap();
    assert_eq!(
        rt.block_on(c.add_nic(&id, &NicTarget::Ipv4(ip))).unwrap(),
        nic
    );
    // Another address on that VLAN is a real refusal.
    let e2 = rt
        .block_on(c.add_nic(&id, &NicTarget::Ipv4("10.4.0.99".into())))
        .unwrap_err();
    assert_eq!(e2.code(), Some("INVALID_INPUT_DATA"), "{e2}");
    let e3 = rt
        .block_on(c.add_nic(&id, &NicTarget::Vlan(foreign)))
        .unwrap_err();
    assert_eq!(e3.code(), Some("INVALID_INPUT_DATA"), "{e3}");
    let s = rt.block_on(c.get_server(&id)).unwrap().unwrap();
    assert_eq!(s.additional_nics().len(), 1);

    rt.block_on(c.remove_nic(&nic)).unwrap();
    rt.block_on(c.wait_server(&id, Wait::after(AsyncOp::ChangeNic), None))
        .unwrap();
    let s = rt.block_on(c.get_server(&id)).unwrap().unwrap();
    assert!(s.additional_nics().is_empty());
    let gone = rt.block_on(c.remove_nic(&nic)).unwrap_err();
    assert!(gone.is_not_found(), "{gone}");
}
