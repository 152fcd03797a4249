//! Malformed plans: each one fails to load with its exact message (file:line:column and what to do)
//! and exit code 2, through the real `plumbery` binary.

use assert_cmd::Command;

/// (case name, plan text, expected standard error with `PLAN` standing for the plan path).
const CASES: &[(&str, &str, &str)] = &[
    (
        "yaml_syntax",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: [D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            cpu: 2
"##,
        r##"plumbery: PLAN:13:15: this is not valid YAML: illegal placement of ':' indicator
"##,
    ),
    (
        "unknown_parameter",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.location }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            cpu: 2
"##,
        r##"plumbery: PLAN:8:13: unknown token '{{ parameter.location }}': the plan declares no parameter 'location'; declared parameters: loc
"##,
    ),
    (
        "parameter_without_information",
        r##"---
parameters:
  loc:
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            cpu: 2
"##,
        r##"plumbery: PLAN:4:5: parameter 'loc' has no 'information': add a line that says what it is for
"##,
    ),
    (
        "missing_location_id",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            cpu: 2
"##,
        r##"plumbery: PLAN:8:1: this facility document has no 'locationId': add one, for example 'locationId: EU6'
"##,
    ),
    (
        "missing_blueprints",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
"##,
        r##"plumbery: PLAN:8:1: location EU6 has no 'blueprints': add a list such as '- web: {domain: ..., ethernet: ..., nodes: ...}'
"##,
    ),
    (
        "blueprint_without_domain",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            cpu: 2
"##,
        r##"plumbery: PLAN:10:5: blueprint 'web' has no 'domain': add 'domain: {name: ..., ...}'
"##,
    ),
    (
        "domain_without_name",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        description: x
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            cpu: 2
"##,
        r##"plumbery: PLAN:12:9: the domain of blueprint 'web' has no 'name'
"##,
    ),
    (
        "ethernet_without_subnet",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
      nodes:
        - web01:
            cpu: 2
"##,
        r##"plumbery: PLAN:14:9: the ethernet of blueprint 'web' has no 'subnet' (for example 'subnet: 10.0.0.0')
"##,
    ),
    (
        "bad_subnet_address",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.300
      nodes:
        - web01:
            cpu: 2
"##,
        r##"plumbery: PLAN:15:17: subnet '10.0.0.300' is not valid: write a.b.c.d, a.b.c.d/NN or a.b.c.d/NN low|high
"##,
    ),
    (
        "subnet_prefix_too_small",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0/30
      nodes:
        - web01:
            cpu: 2
"##,
        r##"plumbery: PLAN:15:17: subnet '10.0.0.0/30': the prefix size must be from /16 to /28
"##,
    ),
    (
        "subnet_not_a_base",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.5/24
      nodes:
        - web01:
            cpu: 2
"##,
        r##"plumbery: PLAN:15:17: subnet '10.0.0.5/24' is not a network base address: did you mean 10.0.0.0/24?
"##,
    ),
    (
        "unknown_service",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
        service: premium
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            cpu: 2
"##,
        r##"plumbery: PLAN:13:18: service 'premium' is not known: use essentials or advanced
"##,
    ),
    (
        "ipv4_too_small",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
        ipv4: 1
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            cpu: 2
"##,
        r##"plumbery: PLAN:13:15: ipv4 '1' is not valid: use a number from 2 to 128, auto or transient
"##,
    ),
    (
        "cpu_too_many",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            cpu: 64
"##,
        r##"plumbery: PLAN:18:18: cpu count 64 is out of range: use 1 to 32
"##,
    ),
    (
        "cpu_not_a_number",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            cpu: two
"##,
        r##"plumbery: PLAN:18:18: cpu 'two' is not valid: write 'N [1|2] [standard|highperformance]', N from 1 to 32
"##,
    ),
    (
        "memory_too_large",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            memory: 512
"##,
        r##"plumbery: PLAN:18:21: memory '512' is not valid: give a number of GB from 1 to 256
"##,
    ),
    (
        "disk_too_small",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            disks: ['1 5 standard']
"##,
        r##"plumbery: PLAN:18:21: disk '1 5 standard' is not valid: write 'ID SIZE [standard|highperformance|economy]', ID 0 to 9, SIZE 10 to 1000 GB
"##,
    ),
    (
        "disk_id_twice",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            disks: ['1 50', '1 100']
"##,
        r##"plumbery: PLAN:18:29: disk id 1 is given twice in node 'web01'
"##,
    ),
    (
        "glue_primary_without_address",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            glue: [primary]
"##,
        r##"plumbery: PLAN:18:20: glue 'primary' needs an address for the primary network, for example 'primary .11'
"##,
    ),
    (
        "glue_bad_port",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            glue: ['internet 99999']
"##,
        r##"plumbery: PLAN:18:20: port '99999' is not valid: write 22, 80..81, tcp:80, udp:137..138, icmp or any
"##,
    ),
    (
        "unknown_monitoring",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            monitoring: gold
"##,
        r##"plumbery: PLAN:18:25: monitoring 'gold' is not known: use essentials or advanced
"##,
    ),
    (
        "bad_running",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            running: sometimes
"##,
        r##"plumbery: PLAN:18:22: 'running' only accepts 'always'
"##,
    ),
    (
        "bad_destroy",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            destroy: later
"##,
        r##"plumbery: PLAN:18:22: 'destroy' only accepts 'never'
"##,
    ),
    (
        "node_as_bare_string",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01
"##,
        r##"plumbery: PLAN:17:11: node 'web01' must be written as a mapping key: '- web01:' (with a colon)
"##,
    ),
    (
        "unknown_node_class",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            default: big
"##,
        r##"plumbery: PLAN:18:22: node 'web01' uses class 'big', which 'defaults' does not define (classes: none)
"##,
    ),
    (
        "empty_range",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web[3..1]:
            cpu: 2
"##,
        r##"plumbery: PLAN:17:11: node range 'web[3..1]' is empty: the first number must not be above the last
"##,
    ),
    (
        "node_declared_twice",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            cpu: 2
        - web01:
            cpu: 1
"##,
        r##"plumbery: PLAN:19:11: node 'web01' is declared twice in EU6 (first at line 17); node names must be unique in a location
"##,
    ),
    (
        "blueprint_declared_twice",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            cpu: 2
  - web:
      domain: {name: E}
      ethernet: {name: M, subnet: 10.1.0.0}
"##,
        r##"plumbery: PLAN:19:5: blueprint 'web' is defined twice in this location; rename one
"##,
    ),
    (
        "unknown_node_in_token",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            cloud-config:
              runcmd:
                - echo {{ web02.private }}
"##,
        r##"plumbery: PLAN:20:24: unknown token '{{ web02.private }}': no node 'web02' in EU6 (nodes: web01)
"##,
    ),
    (
        "unknown_node_fact",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            information:
              - "size {{ node.size }}"
"##,
        r##"plumbery: PLAN:19:23: unknown token '{{ node.size }}': not a plumbery token; known forms: node.private|ipv6|public|id|name, NODE.private|ipv6|public, LOC::NODE.ipv6, location.id|country, X.secret, secret.X, uuid.X, rsa_public.X, rsa_private.X, rsa_public.local, environment.VAR, credentials.name|password, shared.user|secret, plumbery.version, http(s)://URL
"##,
    ),
    (
        "node_token_outside_node",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      information:
        - "{{ node.private }}"
      nodes:
        - web01:
            cpu: 2
"##,
        r##"plumbery: PLAN:17:12: unknown token '{{ node.private }}': node tokens only work in the settings of a node
"##,
    ),
    (
        "balancer_token_outside_balancer",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            information: ['{{ balancer.ip }}']
"##,
        r##"plumbery: PLAN:18:28: unknown token '{{ balancer.ip }}': balancer tokens only work in the information of a balancer
"##,
    ),
    (
        "local_private_key",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            cloud-config:
              write_files:
                - path: /root/k
                  content: |
                    {{ rsa_private.local }}
"##,
        r##"plumbery: PLAN:22:21: unknown token '{{ rsa_private.local }}': plumbery never sends your own private key; use rsa_private.NAME for a generated pair
"##,
    ),
    (
        "cloud_config_not_a_mapping",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            cloud-config: [a, b]
"##,
        r##"plumbery: PLAN:18:27: the cloud-config of node 'web01' must be a mapping, not a list
"##,
    ),
    (
        "reserved_outside_subnet",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
        reserved: [10.9.0.1]
      nodes:
        - web01:
            cpu: 2
"##,
        r##"plumbery: PLAN:16:20: reserved address 10.9.0.1 is outside the subnet 10.0.0.0/24
"##,
    ),
    (
        "basement_unknown",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
basement: db
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            cpu: 2
"##,
        r##"plumbery: PLAN:9:11: 'basement' names blueprint 'db', which this location does not define
"##,
    ),
    (
        "safe_mode_not_boolean",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
safeMode: maybe
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            cpu: 2
"##,
        r##"plumbery: PLAN:7:11: 'safeMode' must be true or false
"##,
    ),
    (
        "empty_plan",
        r##"# nothing here
"##,
        r##"plumbery: PLAN: the plan is empty; it needs at least one document with 'locationId' and 'blueprints'
"##,
    ),
    (
        "alias_unknown_blueprint",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            cpu: 2
  - all: web db
"##,
        r##"plumbery: PLAN:10:3: blueprint group 'all' names 'db', which this location does not define
"##,
    ),
    (
        "unknown_backup_plan",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: N
        subnet: 10.0.0.0
      nodes:
        - web01:
            backup: gold
"##,
        r##"plumbery: PLAN:18:21: backup plan 'gold' is not known: use essentials, advanced or enterprise
"##,
    ),
    (
        "settings_not_a_mapping",
        r##"---
- a
- b
---
locationId: EU6
blueprints: []
"##,
        r##"plumbery: PLAN:2:1: the first document must be a mapping of settings, not a list
"##,
    ),
    (
        "bad_network_name",
        r##"---
parameters:
  loc:
    information: [where]
    type: str
    default: EU6
---
locationId: "{{ parameter.loc }}"
blueprints:
  - web:
      domain:
        name: D
      ethernet:
        name: 'a::::b'
        subnet: 10.0.0.0
      nodes:
        - web01:
            cpu: 2
"##,
        r##"plumbery: PLAN:14:15: network name 'a::::b' is not valid: write NAME, LOC::NAME or REGION::LOC::NAME
"##,
    ),
];

#[test]
fn malformed_plans_fail_with_exact_messages_and_exit_2() {
    assert!(CASES.len() >= 25);
    let dir = tempfile::tempdir().unwrap();
    let mut failures = Vec::new();
    for (name, text, expected) in CASES {
        let path = dir.path().join(format!("{name}.yaml"));
        std::fs::write(&path, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_plumbery"))
            .arg(&path)
            .arg("validate")
            .env("PLUMBERY_STATE_DIR", dir.path().join("state"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr).replace(path.to_str().unwrap(), "PLAN");
        if out.status.code() != Some(2) || stderr != *expected {
            failures.push(format!(
                "{name}: exit {:?}\n  got:  {stderr}  want: {expected}",
                out.status.code()
            ));
        }
        assert!(
            out.stdout.is_empty(),
            "{name}: nothing on stdout when the plan does not load"
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
