#!/usr/bin/env python3
"""Runs Apache libcloud's own DimensionData drivers (compute, load balancer, backup) against a
plumbery emulator and prints, per driver, how many calls the emulator served.

A call is *served* when the emulator answered it with the API's own shapes: it returned, or it was
refused with an API response code (e.g. NO_CHANGE, REASON_547). It is *not served* when the answer
was a 404, unparseable, or made the driver fail. Each call is tried on its own (a failure does not
stop the others); the resources the calls need are made first through libcloud itself.

Usage:
    pip install apache-libcloud==3.9.1
    python3 scripts/libcloud_check.py [--plumbery target/debug/plumbery] [--url http://127.0.0.1:PORT] [-v]

Without --url it starts `plumbery emulator serve` on a free port with a temporary state dir and a
time scale of 0.001 (a 240 s deploy takes 0.24 s), and stops it at the end. Not part of CI.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
from urllib.parse import urlparse

try:
    import libcloud
    from libcloud.backup.drivers.dimensiondata import DimensionDataBackupDriver
    from libcloud.common.dimensiondata import (
        DimensionDataAPIException,
        DimensionDataFirewallAddress,
        DimensionDataFirewallRule,
        DimensionDataIpAddress,
        DimensionDataPort,
    )
    from libcloud.compute.base import NodeAuthPassword
    from libcloud.compute.drivers.dimensiondata import DimensionDataNodeDriver
    from libcloud.loadbalancer.base import Member
    from libcloud.loadbalancer.drivers.dimensiondata import DimensionDataLBDriver
except ImportError:
    sys.exit("needs apache-libcloud: pip install apache-libcloud==3.9.1")

USER = PASSWORD = "plumbery"


def point(driver, url):
    """Points a libcloud DimensionData driver at the emulator (the region's host is fixed)."""
    u = urlparse(url)
    c = driver.connection
    c.host, c.port, c.secure = u.hostname, u.port, u.scheme == "https"
    c.connect()
    return driver


class Run:
    def __init__(self, verbose):
        self.verbose = verbose
        self.results = {}

    def call(self, driver, name, fn):
        try:
            fn()
            outcome = "ok"
        except DimensionDataAPIException as e:
            code = str(e.code)
            outcome = "not served" if code.isdigit() or code in ("None", "") else "refused " + code
            if outcome == "not served" and self.verbose:
                print(f"  {name}: {e}", file=sys.stderr)
        except Exception as e:  # the driver could not use the answer
            outcome = "not served"
            if self.verbose:
                print(f"  {name}: {type(e).__name__}: {e}", file=sys.stderr)
                traceback.print_exc(limit=2)
        self.results.setdefault(driver, []).append((name, outcome))
        return outcome

    def report(self):
        total_served = 0
        for driver, calls in self.results.items():
            served = sum(1 for _, o in calls if o != "not served")
            total_served += served
            print(f"{driver}: {served}/{len(calls)} served")
            for name, o in calls:
                print(f"    {'+' if o != 'not served' else '-'} {name}: {o}")
        return total_served


def wait(fn, what, timeout=30):
    t0 = time.time()
    while True:
        v = fn()
        if v:
            return v
        if time.time() - t0 > timeout:
            raise RuntimeError("never: " + what)
        time.sleep(0.05)


def compute(run, d):
    loc = d.list_locations(ex_id="NA9")[0]
    image = [i for i in d.list_images(location=loc) if "Ubuntu" in i.name][0]
    st = {}
    c = lambda n, f: run.call("compute", n, f)  # noqa: E731
    c("list_locations", lambda: d.list_locations())
    c("ex_get_location_by_id", lambda: d.ex_get_location_by_id("NA9"))
    c("list_images", lambda: d.list_images(location=loc))
    c("list_sizes", lambda: d.list_sizes())
    c("ex_list_customer_images", lambda: d.ex_list_customer_images(location=loc))
    c("ex_get_base_image_by_id", lambda: d.ex_get_base_image_by_id(image.id))
    c("ex_get_image_by_id", lambda: d.ex_get_image_by_id(image.id))
    c("ex_create_network_domain", lambda: st.update(dom=d.ex_create_network_domain(loc, "lc", "ESSENTIALS", "d")))
    dom = st["dom"]
    wait(lambda: d.ex_get_network_domain(dom.id).status == "NORMAL", "domain NORMAL")
    c("ex_list_network_domains", lambda: d.ex_list_network_domains(location=loc))
    c("ex_get_network_domain", lambda: d.ex_get_network_domain(dom.id))
    dom.description = "changed"
    c("ex_update_network_domain", lambda: d.ex_update_network_domain(dom))
    c("ex_create_vlan", lambda: st.update(vlan=d.ex_create_vlan(dom, "v", "10.0.0.0", "v", 24)))
    vlan = st["vlan"]
    wait(lambda: d.ex_get_vlan(vlan.id).status == "NORMAL", "vlan NORMAL")
    c("ex_create_vlan (second)", lambda: st.update(vlan2=d.ex_create_vlan(dom, "w", "10.1.0.0", "w", 24)))
    wait(lambda: d.ex_get_vlan(st["vlan2"].id).status == "NORMAL", "vlan2 NORMAL")
    c("ex_list_vlans", lambda: d.ex_list_vlans(network_domain=dom))
    c("ex_get_vlan", lambda: d.ex_get_vlan(vlan.id))
    vlan.description = "changed"
    c("ex_update_vlan", lambda: d.ex_update_vlan(vlan))
    auth = NodeAuthPassword("Sup3r-S3cret-Pw")
    c("create_node", lambda: st.update(node=d.create_node("n1", image, auth, ex_network_domain=dom, ex_primary_nic_vlan=vlan, ex_is_started=True, ex_description="n")))
    node = st["node"]
    normal = lambda: wait(lambda: d.ex_get_node_by_id(node.id).extra["status"].action is None and d.ex_get_node_by_id(node.id).state == "running" or d.ex_get_node_by_id(node.id).extra["status"].action is None, "node settled")  # noqa: E731
    normal()
    c("list_nodes", lambda: d.list_nodes())
    c("ex_list_nodes_paginated", lambda: list(d.ex_list_nodes_paginated()))
    c("ex_get_node_by_id", lambda: d.ex_get_node_by_id(node.id))
    c("list_networks", lambda: d.list_networks(location=loc))
    c("ex_update_node (MCP 1.0)", lambda: d.ex_update_node(node, name="n1b", description="renamed"))
    normal()
    c("ex_reconfigure_node", lambda: d.ex_reconfigure_node(node, 4, 2, 1, "STANDARD"))
    normal()
    c("ex_enable_monitoring", lambda: d.ex_enable_monitoring(node, "ESSENTIALS"))
    c("ex_update_monitoring_plan", lambda: d.ex_update_monitoring_plan(node, "ADVANCED"))
    c("ex_disable_monitoring", lambda: d.ex_disable_monitoring(node))
    c("ex_add_storage_to_node", lambda: d.ex_add_storage_to_node(node, 20, "STANDARD"))
    normal()
    disk = lambda i: d.ex_get_node_by_id(node.id).extra["disks"][i].id  # noqa: E731
    c("ex_change_storage_size (MCP 1.0)", lambda: d.ex_change_storage_size(node, disk(0), 60))
    normal()
    c("ex_change_storage_speed (MCP 1.0)", lambda: d.ex_change_storage_speed(node, disk(0), "HIGHPERFORMANCE"))
    normal()
    c("ex_update_vm_tools", lambda: d.ex_update_vm_tools(node))
    normal()
    c("ex_attach_node_to_vlan", lambda: d.ex_attach_node_to_vlan(node, vlan=st["vlan2"]))
    normal()
    c("ex_destroy_nic", lambda: d.ex_destroy_nic(_nic_id(d, node.id)))
    normal()
    c("ex_expand_vlan", lambda: d.ex_expand_vlan(_with(d.ex_get_vlan(vlan.id), private_ipv4_range_size="23")))
    wait(lambda: d.ex_get_vlan(vlan.id).status == "NORMAL", "vlan NORMAL again")
    c("reboot_node", lambda: d.reboot_node(node))
    normal()
    c("ex_reset", lambda: d.ex_reset(node))
    normal()
    c("ex_shutdown_graceful", lambda: d.ex_shutdown_graceful(node))
    normal()
    c("ex_start_node", lambda: d.ex_start_node(node))
    normal()
    c("ex_power_off", lambda: d.ex_power_off(node))
    normal()
    c("ex_add_public_ip_block_to_network_domain", lambda: st.update(block=d.ex_add_public_ip_block_to_network_domain(dom)))
    c("ex_list_public_ip_blocks", lambda: d.ex_list_public_ip_blocks(dom))
    c("ex_get_public_ip_block", lambda: d.ex_get_public_ip_block(st["block"].id))
    ip = d.ex_get_node_by_id(node.id).private_ips[0]
    c("ex_create_nat_rule", lambda: st.update(nat=d.ex_create_nat_rule(dom, ip, None)))
    c("ex_list_nat_rules", lambda: d.ex_list_nat_rules(dom))
    c("ex_get_nat_rule", lambda: d.ex_get_nat_rule(dom, st["nat"].id))
    c("ex_delete_nat_rule", lambda: d.ex_delete_nat_rule(st["nat"]))
    anyip = DimensionDataFirewallAddress(True, None, None, None, None, None, None)
    dest = DimensionDataFirewallAddress(False, ip, None, "22", None, None, None)
    rule = DimensionDataFirewallRule(None, "lc.ssh", "ACCEPT_DECISIVELY", loc, dom, "NORMAL", "IPV4", "TCP", anyip, dest, True)
    c("ex_create_firewall_rule", lambda: st.update(fw=d.ex_create_firewall_rule(dom, rule, "FIRST")))
    c("ex_list_firewall_rules", lambda: d.ex_list_firewall_rules(dom))
    c("ex_get_firewall_rule", lambda: st.update(fw=d.ex_get_firewall_rule(dom, st["fw"].id)))
    time.sleep(0.1)
    c("ex_set_firewall_rule_state", lambda: d.ex_set_firewall_rule_state(st["fw"], False))
    c("ex_edit_firewall_rule", lambda: d.ex_edit_firewall_rule(d.ex_get_firewall_rule(dom, st["fw"].id), "LAST"))
    c("ex_delete_firewall_rule", lambda: d.ex_delete_firewall_rule(st["fw"]))
    c("ex_create_tag_key", lambda: d.ex_create_tag_key("role", description="r"))
    c("ex_list_tag_keys", lambda: d.ex_list_tag_keys())
    c("ex_get_tag_key_by_name", lambda: st.update(key=d.ex_get_tag_key_by_name("role")))
    c("ex_get_tag_key_by_id", lambda: d.ex_get_tag_key_by_id(st["key"].id))
    c("ex_modify_tag_key", lambda: d.ex_modify_tag_key(st["key"], name="Role"))
    c("ex_apply_tag_to_asset", lambda: d.ex_apply_tag_to_asset(d.ex_get_node_by_id(node.id), "Role", "web"))
    c("ex_list_tags", lambda: d.ex_list_tags())
    c("ex_remove_tag_from_asset", lambda: d.ex_remove_tag_from_asset(d.ex_get_node_by_id(node.id), "Role"))
    c("ex_remove_tag_key", lambda: d.ex_remove_tag_key(st["key"]))
    ips = [DimensionDataIpAddress("190.1.1.1"), DimensionDataIpAddress("190.1.1.10", end="190.1.1.20")]
    c("ex_create_ip_address_list", lambda: d.ex_create_ip_address_list(dom, "ips", "d", "IPV4", ips))
    c("ex_list_ip_address_list", lambda: st.update(ipl=d.ex_list_ip_address_list(dom)[0]))
    c("ex_get_ip_address_list", lambda: d.ex_get_ip_address_list(dom, "ips"))
    c("ex_edit_ip_address_list", lambda: d.ex_edit_ip_address_list(st["ipl"], "e", ips[:1]))
    c("ex_delete_ip_address_list", lambda: d.ex_delete_ip_address_list(st["ipl"]))
    ports = [DimensionDataPort("8000", end="8080"), DimensionDataPort("443")]
    c("ex_create_portlist", lambda: d.ex_create_portlist(dom, "ports", "d", ports))
    c("ex_list_portlist", lambda: st.update(pl=d.ex_list_portlist(dom)[0]))
    c("ex_get_portlist", lambda: d.ex_get_portlist(st["pl"].id))
    c("ex_edit_portlist", lambda: d.ex_edit_portlist(st["pl"], "e", ports[1:]))
    c("ex_delete_portlist", lambda: d.ex_delete_portlist(st["pl"]))
    c("ex_list_anti_affinity_rules", lambda: d.ex_list_anti_affinity_rules(network_domain=dom))
    c("ex_summary_usage_report", lambda: _raw_ok(d, "report/usage?startDate=2026-01-01&endDate=2026-01-31"))
    c("ex_audit_log_report", lambda: _raw_ok(d, "auditlog?startDate=2026-01-01&endDate=2026-01-31"))
    return st


def _raw_ok(d, path):
    """The CSV reports are raw requests whose status libcloud never checks: check it here."""
    r = d.connection.raw_request_with_orgId_api_1(path)
    if r.status != 200:
        raise RuntimeError(f"HTTP {r.status}")


def _nic_id(d, server_id):
    """libcloud's nodes do not show additional NICs: read the first one from the server."""
    from libcloud.utils.xml import findall

    ns = "urn:didata.com:api:cloud:types"
    s = d.connection.request_with_orgId_api_2("server/server/%s" % server_id).object
    return [n.get("id") for n in findall(s, "networkInfo/additionalNic", ns)][0]


def _with(obj, **kw):
    for k, v in kw.items():
        setattr(obj, k, v)
    return obj


def loadbalancer(run, lb, d, st):
    dom = st["dom"]
    lb.ex_set_current_network_domain(dom.id)
    ip = d.ex_get_node_by_id(st["node"].id).private_ips[0]
    s = {}
    c = lambda n, f: run.call("loadbalancer", n, f)  # noqa: E731
    c("create_balancer", lambda: s.update(bal=lb.create_balancer("web", port=8080, members=[Member(None, ip, 8080)])))
    c("list_balancers", lambda: lb.list_balancers())
    c("get_balancer", lambda: s.update(bal=lb.get_balancer(s["bal"].id)))
    c("balancer_list_members", lambda: s.update(members=lb.balancer_list_members(s["bal"])))
    c("ex_get_pools", lambda: lb.ex_get_pools())
    c("ex_get_pool", lambda: s.update(pool=lb.ex_get_pool(s["bal"].extra["pool_id"])))
    c("ex_update_pool", lambda: lb.ex_update_pool(s["pool"]))
    c("ex_get_nodes", lambda: s.update(nodes=lb.ex_get_nodes()))
    c("ex_get_node", lambda: lb.ex_get_node(s["nodes"][0].id))
    c("ex_set_node_state", lambda: lb.ex_set_node_state(s["nodes"][0], False))
    c("ex_get_pool_members", lambda: lb.ex_get_pool_members(s["pool"].id))
    c("ex_get_pool_member", lambda: s.update(pm=lb.ex_get_pool_member(s["members"][0].id)))
    c("ex_set_pool_member_state", lambda: lb.ex_set_pool_member_state(s["pm"], False))
    c("ex_get_default_health_monitors", lambda: lb.ex_get_default_health_monitors(dom.id))
    c("ex_get_default_persistence_profiles", lambda: lb.ex_get_default_persistence_profiles(dom.id))
    c("ex_get_default_irules", lambda: lb.ex_get_default_irules(dom.id))
    c("list_protocols", lambda: lb.list_protocols())
    c("balancer_attach_member", lambda: s.update(m2=lb.balancer_attach_member(s["bal"], Member(None, "10.0.0.99", 8080))))
    c("balancer_detach_member", lambda: lb.balancer_detach_member(s["bal"], s["m2"]))
    c("ex_destroy_pool_member", lambda: lb.ex_destroy_pool_member(s["pm"], destroy_node=True))
    c("destroy_balancer", lambda: lb.destroy_balancer(s["bal"]))
    c("ex_destroy_pool", lambda: lb.ex_destroy_pool(s["pool"]))
    c("ex_destroy_node", lambda: [lb.ex_destroy_node(n.id) for n in lb.ex_get_nodes()])


def backup(run, b, st):
    node = st["node"].id
    s = {}
    c = lambda n, f: run.call("backup", n, f)  # noqa: E731
    c("create_target", lambda: s.update(t=b.create_target("t", node, extra={"servicePlan": "Enterprise"})))
    c("list_targets", lambda: b.list_targets())
    c("ex_get_target_by_id", lambda: s.update(t=b.ex_get_target_by_id(node)))
    c("update_target", lambda: b.update_target(s["t"], extra={"servicePlan": "Advanced"}))
    c("ex_list_available_client_types", lambda: s.update(ct=b.ex_list_available_client_types(s["t"])))
    c("ex_list_available_storage_policies", lambda: s.update(sp=b.ex_list_available_storage_policies(s["t"])))
    c("ex_list_available_schedule_policies", lambda: s.update(sc=b.ex_list_available_schedule_policies(s["t"])))
    c("ex_add_client_to_target", lambda: b.ex_add_client_to_target(s["t"], s["ct"][0], s["sp"][0], s["sc"][0], "ON_FAILURE", "ops@example.com"))
    c("ex_get_backup_details_for_target", lambda: s.update(det=b.ex_get_backup_details_for_target(s["t"])))
    c("cancel_target_job", lambda: b.cancel_target_job(None, ex_client=s["det"].clients[0], ex_target=s["t"]))
    c("ex_remove_client_from_target", lambda: b.ex_remove_client_from_target(s["t"], s["det"].clients[0]))
    c("delete_target", lambda: b.delete_target(s["t"]))


def start_emulator(plumbery):
    state = tempfile.mkdtemp(prefix="pllibcloud")
    p = subprocess.Popen(
        [plumbery, "emulator", "serve", "--listen", "127.0.0.1:0", "--state-dir", state, "--time-scale", "0.001"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    url = p.stdout.readline().strip()
    if not url.startswith("http"):
        p.kill()
        sys.exit(f"the emulator did not start (got {url!r})")
    return p, url, state


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--plumbery", default="target/debug/plumbery")
    ap.add_argument("--url")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    proc = state = None
    url = a.url
    if not url:
        proc, url, state = start_emulator(a.plumbery)
    print(f"libcloud {libcloud.__version__} against {url}")
    run = Run(a.verbose)
    try:
        d = point(DimensionDataNodeDriver(USER, PASSWORD, region="dd-na"), url)
        st = compute(run, d)
        lb = point(DimensionDataLBDriver(USER, PASSWORD, region="dd-na"), url)
        loadbalancer(run, lb, d, st)
        b = point(DimensionDataBackupDriver(USER, PASSWORD, region="dd-na"), url)
        backup(run, b, st)
    finally:
        run.report()
        if proc:
            proc.terminate()
            proc.wait(timeout=10)
            shutil.rmtree(state, ignore_errors=True)


if __name__ == "__main__":
    main()
