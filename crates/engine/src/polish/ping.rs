//! Ping: reachability of each node's SSH port.

use std::time::Duration;

use super::facts::NodeFacts;

/// Tries a TCP connection to port 22 of each node (public address, else private), 3 s timeout.
pub async fn ping_all(nodes: &mut [NodeFacts]) {
    let probes = nodes.iter().map(|n| {
        let addr = n.public_ipv4.clone().or_else(|| n.private_ipv4.clone());
        async move {
            let addr = addr?;
            let target = format!("{addr}:22");
            let r = tokio::time::timeout(
                Duration::from_secs(3),
                tokio::net::TcpStream::connect(target),
            )
            .await;
            Some(matches!(r, Ok(Ok(_))))
        }
    });
    let results = futures_util::future::join_all(probes).await;
    for (n, r) in nodes.iter_mut().zip(results) {
        n.reachable = Some(r.unwrap_or(false));
    }
}
