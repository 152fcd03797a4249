//! The public side: userspace listeners on 127.77.x.y:PORT in the host namespace that forward each
//! connection into a node, dialling from inside the domain's network namespace (the socket is created
//! there on a throw-away thread and then driven by tokio). No address or route is added on the host;
//! a private virtual listener (a VLAN address) listens inside the domain namespace instead, on an
//! address its caller put on that namespace's `lo`.
//!
//! A listener leads to one private address (a NAT rule) or balances over several (a virtual listener,
//! [`Target::Pool`]): each connection goes to the next member in round-robin order, skipping members
//! found down; a member is found down when a connection to it fails or when the health check (a TCP
//! connect from inside the domain every [`HEALTH_INTERVAL`]) fails, and up again when one succeeds.
//!
//! Listeners run on the backend's own small tokio runtime, so the backend works whether or not its
//! caller is inside a runtime. Opening binds synchronously; closing waits until the listening socket is
//! closed, so a port is open or closed when [`Public::sync`] returns. Established connections stay up.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::net::SocketAddrV4;
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use nix::sys::socket::Shutdown;
use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::sync::oneshot;

use super::error::{NodesError, Result};
use super::netns;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a balancer waits for one member before it tries the next.
const MEMBER_TIMEOUT: Duration = Duration::from_secs(2);
/// How often a balancer checks its members.
pub const HEALTH_INTERVAL: Duration = Duration::from_secs(1);

/// Where a public listener leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// One private address and port (a NAT rule).
    One(SocketAddrV4),
    /// Pool members, balanced round robin (a virtual listener).
    Pool(Vec<SocketAddrV4>),
}

/// The round-robin position and the members found down, shared by a balancer's connections and
/// its health check.
#[derive(Default)]
struct Balance {
    next: AtomicUsize,
    down: Mutex<HashSet<SocketAddrV4>>,
    stopped: AtomicBool,
}

impl Balance {
    fn set(&self, m: SocketAddrV4, up: bool) {
        let mut down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        let changed = if up { down.remove(&m) } else { down.insert(m) };
        if changed {
            tracing::debug!("pool member {m} is {}", if up { "up" } else { "down" });
        }
    }

    /// The members in the order to try for the next connection: those up from the round-robin
    /// position on, then those down (a last resort).
    fn order(&self, members: &[SocketAddrV4]) -> Vec<SocketAddrV4> {
        let n = members.len().max(1);
        let start = self.next.fetch_add(1, Ordering::Relaxed) % n;
        let down = self.down.lock().unwrap_or_else(|e| e.into_inner());
        let rotated = members.iter().cycle().skip(start).take(members.len());
        let (up, dead): (Vec<SocketAddrV4>, Vec<SocketAddrV4>) =
            rotated.partition(|m| !down.contains(m));
        up.into_iter().chain(dead).collect()
    }
}

struct Listener {
    target: Target,
    stop: oneshot::Sender<()>,
    closed: mpsc::Receiver<()>,
}

impl Listener {
    fn close(self) {
        let _ = self.stop.send(());
        let _ = self.closed.recv_timeout(Duration::from_secs(5));
    }
}

/// All public listeners of a backend, per domain.
pub struct Public {
    runtime: Mutex<Option<tokio::runtime::Runtime>>,
    handle: tokio::runtime::Handle,
    listeners: Mutex<HashMap<String, BTreeMap<SocketAddrV4, Listener>>>,
}

impl Public {
    /// Starts the forwarding runtime (two worker threads).
    pub fn new() -> Result<Self> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("plumbery-nat")
            .enable_all()
            .build()
            .map_err(|e| NodesError::io("start forwarding runtime", e))?;
        Ok(Public {
            handle: rt.handle().clone(),
            runtime: Mutex::new(Some(rt)),
            listeners: Mutex::new(HashMap::new()),
        })
    }

    /// Makes the listeners of `domain` exactly `wanted` (public address -> private target), dialling
    /// through the namespace behind `ns`. Every change is attempted; the first bind error is returned.
    pub fn sync(
        &self,
        domain: &str,
        ns: &Arc<File>,
        wanted: &BTreeMap<SocketAddrV4, Target>,
    ) -> Result<()> {
        let mut all = self.listeners.lock().unwrap_or_else(|e| e.into_inner());
        let current = all.entry(domain.to_string()).or_default();
        let stale: Vec<SocketAddrV4> = current
            .iter()
            .filter(|(addr, l)| wanted.get(addr) != Some(&l.target))
            .map(|(a, _)| *a)
            .collect();
        for addr in stale {
            if let Some(l) = current.remove(&addr) {
                l.close();
                tracing::debug!("closed public {addr}");
            }
        }
        let mut first_error = None;
        for (addr, target) in wanted {
            if current.contains_key(addr) {
                continue;
            }
            match self.open(*addr, target.clone(), ns.clone()) {
                Ok(l) => {
                    tracing::debug!("public {addr} -> {target:?}");
                    current.insert(*addr, l);
                }
                Err(e) => {
                    tracing::warn!("{e}");
                    first_error.get_or_insert(e);
                }
            }
        }
        if current.is_empty() {
            all.remove(domain);
        }
        first_error.map_or(Ok(()), Err)
    }

    fn open(&self, addr: SocketAddrV4, target: Target, ns: Arc<File>) -> Result<Listener> {
        // Public (loopback) addresses listen in the host namespace; a private virtual listener's
        // address listens inside the domain.
        let bound = if addr.ip().is_loopback() {
            std::net::TcpListener::bind(addr)
        } else {
            netns::run_in(&ns, || std::net::TcpListener::bind(addr))?
        };
        let std_listener = bound.map_err(|e| NodesError::io(format!("listen on {addr}"), e))?;
        std_listener
            .set_nonblocking(true)
            .map_err(|e| NodesError::io("set listener non-blocking", e))?;
        let (stop, mut stop_rx) = oneshot::channel::<()>();
        let (closed_tx, closed) = mpsc::channel();
        let balance = Arc::new(Balance::default());
        if let Target::Pool(members) = &target {
            self.handle
                .spawn(health(balance.clone(), ns.clone(), members.clone()));
        }
        let t = target.clone();
        self.handle.spawn(async move {
            if let Ok(listener) = TcpListener::from_std(std_listener) {
                loop {
                    tokio::select! {
                        _ = &mut stop_rx => break,
                        accepted = listener.accept() => match accepted {
                            Ok((client, _)) => match &t {
                                Target::One(to) => {
                                    tokio::spawn(forward(client, ns.clone(), *to));
                                }
                                Target::Pool(members) => {
                                    let order = balance.order(members);
                                    tokio::spawn(balance_one(client, ns.clone(), order, balance.clone()));
                                }
                            },
                            Err(e) => {
                                tracing::warn!("accept on {addr}: {e}");
                                tokio::time::sleep(Duration::from_millis(50)).await;
                            }
                        },
                    }
                }
                // A process being spawned elsewhere may hold a copy of this fd until its exec;
                // shutdown stops listening for every copy, so the port is closed right now.
                let _ = nix::sys::socket::shutdown(listener.as_raw_fd(), Shutdown::Both);
            }
            balance.stopped.store(true, Ordering::Relaxed);
            let _ = closed_tx.send(());
        });
        Ok(Listener {
            target,
            stop,
            closed,
        })
    }

    /// Closes every listener of `domain`.
    pub fn close_domain(&self, domain: &str) {
        let removed = self
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(domain);
        for l in removed.into_iter().flat_map(|m| m.into_values()) {
            l.close();
        }
    }

    /// Closes every listener and stops the runtime (open connections are dropped).
    pub fn shutdown(&self) {
        let domains: Vec<String> = self
            .listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .keys()
            .cloned()
            .collect();
        for d in domains {
            self.close_domain(&d);
        }
        if let Some(rt) = self
            .runtime
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take()
        {
            rt.shutdown_background();
        }
    }

    /// The public addresses currently listening (for status and tests).
    pub fn listening(&self) -> Vec<SocketAddrV4> {
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .flat_map(|m| m.keys().copied())
            .collect()
    }
}

impl Drop for Public {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Sends `client` to the first member of `order` that accepts; a member that does not is marked
/// down.
async fn balance_one(
    mut client: TcpStream,
    ns: Arc<File>,
    order: Vec<SocketAddrV4>,
    balance: Arc<Balance>,
) {
    for m in order {
        match dial_within(ns.clone(), m, MEMBER_TIMEOUT).await {
            Ok(mut upstream) => {
                balance.set(m, true);
                let _ = client.set_nodelay(true);
                let _ = upstream.set_nodelay(true);
                let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
                return;
            }
            Err(e) => {
                tracing::debug!("pool member {m}: {e}");
                balance.set(m, false);
            }
        }
    }
}

/// Checks every member with a TCP connect every [`HEALTH_INTERVAL`] until the listener closes.
async fn health(balance: Arc<Balance>, ns: Arc<File>, members: Vec<SocketAddrV4>) {
    while !balance.stopped.load(Ordering::Relaxed) {
        for m in &members {
            let up = dial_within(ns.clone(), *m, HEALTH_INTERVAL).await.is_ok();
            balance.set(*m, up);
        }
        tokio::time::sleep(HEALTH_INTERVAL).await;
    }
}

async fn dial(ns: Arc<File>, target: SocketAddrV4) -> Result<TcpStream> {
    dial_within(ns, target, CONNECT_TIMEOUT).await
}

async fn dial_within(ns: Arc<File>, target: SocketAddrV4, timeout: Duration) -> Result<TcpStream> {
    let std_sock = tokio::task::spawn_blocking(move || netns::tcp_socket_in(&ns))
        .await
        .map_err(|_| NodesError::Invalid("dialer task failed".into()))??;
    let sock = TcpSocket::from_std_stream(std_sock);
    match tokio::time::timeout(timeout, sock.connect(target.into())).await {
        Ok(r) => r.map_err(|e| NodesError::io(format!("connect {target}"), e)),
        Err(_) => Err(NodesError::Invalid(format!("connect {target}: timed out"))),
    }
}

async fn forward(mut client: TcpStream, ns: Arc<File>, target: SocketAddrV4) {
    match dial(ns, target).await {
        Ok(mut upstream) => {
            let _ = client.set_nodelay(true);
            let _ = upstream.set_nodelay(true);
            let _ = tokio::io::copy_bidirectional(&mut client, &mut upstream).await;
        }
        Err(e) => tracing::debug!("forward to {target}: {e}"),
    }
}
