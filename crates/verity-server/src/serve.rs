//! The connection loop: what `axum::serve` does, plus the limits a server facing the internet
//! needs. Each connection must send a complete request head within
//! `limits.header_read_timeout_secs` (also the idle time allowed between keep-alive requests),
//! at most `limits.max_connections` are open at once (the rest wait in the listen backlog) and
//! at most `limits.max_connections_per_address` from one client address (more are closed), the
//! peer address travels with each request (failed-authentication limits, `/metrics`), paths
//! ending in `/` are served as without it (as ComplyCube does; its Node.js SDK sends them), and
//! a graceful shutdown waits at most `limits.shutdown_grace_secs` for requests in flight.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::Request;
use axum::http::Uri;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Semaphore};

/// The address of the peer of the connection a request came on.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub SocketAddr);

/// The client a request counts against: the TCP peer, or — when the peer is a trusted proxy —
/// the right-most address of `X-Forwarded-For` that is not a trusted proxy (the left part of the
/// header is whatever the client wrote).
pub fn client_ip(peer: IpAddr, forwarded_for: Option<&str>, trusted: &[crate::outbound::Cidr]) -> IpAddr {
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let Some(list) = forwarded_for else { return peer };
    let mut last = peer;
    for hop in list.rsplit(',') {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if is_trusted(ip) => last = ip,
            Ok(ip) => return ip,
            Err(_) => return last,
        }
    }
    last
}

/// Open connections per client address.
#[derive(Default)]
struct PerAddress(std::sync::Mutex<HashMap<IpAddr, usize>>);

/// One connection counted against its address until dropped.
struct Counted {
    table: Arc<PerAddress>,
    ip: IpAddr,
}

impl PerAddress {
    /// Counts a connection from `ip`, unless it already has `max` open.
    fn enter(self: &Arc<Self>, ip: IpAddr, max: usize) -> Option<Counted> {
        let mut t = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let n = t.entry(ip).or_insert(0);
        if *n >= max {
            return None;
        }
        *n += 1;
        Some(Counted { table: self.clone(), ip })
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut t = self.table.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(n) = t.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                t.remove(&self.ip);
            }
        }
    }
}

/// Set by a handler that refused a body for how it arrives (too slow): what is left of it is not
/// waited for, the connection is closed.
#[derive(Debug, Clone, Default)]
pub struct AbandonBody(pub Arc<std::sync::atomic::AtomicBool>);

/// Hands the request body to the handler through a channel, and reads what the handler leaves
/// unread (an answer given before the body was read: 401, 404, 405, …) to the end, up to
/// `limit` bytes and 30 s. The client can then finish sending and read the answer (a client
/// still writing into a closed socket gets `EPIPE`, not the answer), and the connection stays
/// usable. Past the bounds the body is dropped and the connection closed.
pub fn drain_unread(req: Request, limit: usize) -> Request {
    use futures_util::StreamExt;
    use std::sync::atomic::Ordering;
    let (mut parts, body) = req.into_parts();
    let abandon = AbandonBody::default();
    parts.extensions.insert(abandon.clone());
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<axum::body::Bytes, axum::Error>>(2);
    tokio::spawn(async move {
        let mut incoming = body.into_data_stream();
        let mut handler_reads = true;
        let mut drained = 0usize;
        let mut deadline = None;
        loop {
            let next = match deadline {
                None => incoming.next().await,
                Some(d) => match tokio::time::timeout_at(d, incoming.next()).await {
                    Ok(n) => n,
                    Err(_) => break,
                },
            };
            let Some(chunk) = next else { break };
            if handler_reads {
                match tx.send(chunk).await {
                    Ok(()) => continue,
                    Err(tokio::sync::mpsc::error::SendError(chunk)) => {
                        if abandon.0.load(Ordering::Relaxed) {
                            break;
                        }
                        handler_reads = false;
                        deadline = Some(tokio::time::Instant::now() + Duration::from_secs(30));
                        drained += chunk.map(|c| c.len()).unwrap_or(0);
                    }
                }
            } else {
                drained += chunk.map(|c| c.len()).unwrap_or(0);
            }
            if drained > limit {
                break;
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) });
    Request::from_parts(parts, axum::body::Body::from_stream(stream))
}

/// `/v1/clients/` → `/v1/clients` (the root stays `/`), query kept.
pub fn trim_trailing_slash(uri: &Uri) -> Option<Uri> {
    let path = uri.path();
    if path.len() <= 1 || !path.ends_with('/') {
        return None;
    }
    let trimmed = path.trim_end_matches('/');
    let trimmed = if trimmed.is_empty() { "/" } else { trimmed };
    let pq = match uri.query() {
        Some(q) => format!("{trimmed}?{q}"),
        None => trimmed.to_string(),
    };
    let mut parts = uri.clone().into_parts();
    parts.path_and_query = pq.parse().ok();
    Uri::from_parts(parts).ok()
}

/// Serves `router` on `listener` until `shutdown` completes, then stops accepting, lets the
/// requests in flight finish (up to the grace period) and returns.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &crate::config::LimitsConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let max = limits.max_connections.max(1);
    let per_address = Arc::new(PerAddress::default());
    let max_per_address = limits.max_connections_per_address.max(1);
    let proxies = crate::outbound::networks(&limits.trusted_proxies);
    let slots = Arc::new(Semaphore::new(max));
    let header_timeout = Duration::from_secs(limits.header_read_timeout_secs.max(1));
    let grace = Duration::from_secs(limits.shutdown_grace_secs);
    let (stop_tx, stop_rx) = watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        // A free connection slot first: at the limit, new connections wait in the backlog.
        let permit = tokio::select! {
            _ = &mut shutdown => break,
            p = slots.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
        };
        let (stream, peer) = tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        // One address may hold only so many of the slots; past that its new connections are
        // closed at once (the others' requests are not starved by one client's flood).
        let cap = if proxies.iter().any(|c| c.contains(peer.ip())) { usize::MAX } else { max_per_address };
        let Some(counted) = per_address.enter(peer.ip(), cap) else {
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let _counted = counted;
            let service = hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(Peer(peer));
                if let Some(uri) = trim_trailing_slash(req.uri()) {
                    *req.uri_mut() = uri;
                }
                let router = router.clone();
                async move {
                    use tower::ServiceExt;
                    router.oneshot(req.map(axum::body::Body::new)).await
                }
            });
            let conn = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            let stopped = async move {
                loop {
                    let now = *stop.borrow();
                    if now || stop.changed().await.is_err() {
                        break;
                    }
                }
            };
            tokio::select! {
                r = conn.as_mut() => {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                }
                _ = stopped => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a slot until it ends: all slots back means all connections closed.
    let all = u32::try_from(max).unwrap_or(u32::MAX);
    if tokio::time::timeout(grace, slots.acquire_many(all)).await.is_err() {
        tracing::warn!(
            open = max - slots.available_permits(),
            "shutdown grace period over: closing the remaining connections"
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_client_behind_a_trusted_proxy_is_the_last_untrusted_hop() {
        let ip = |s: &str| s.parse::<IpAddr>().expect("ip");
        let proxies = crate::outbound::networks(&["10.0.0.0/8".into()]);
        // Not through a trusted proxy: the header is the client's own words.
        assert_eq!(client_ip(ip("203.0.113.9"), Some("1.2.3.4"), &proxies), ip("203.0.113.9"));
        assert_eq!(client_ip(ip("10.0.0.2"), Some("1.2.3.4"), &proxies), ip("1.2.3.4"));
        // A client that forges the left part does not choose its address.
        assert_eq!(client_ip(ip("10.0.0.2"), Some("6.6.6.6, 1.2.3.4, 10.0.0.7"), &proxies), ip("1.2.3.4"));
        assert_eq!(client_ip(ip("10.0.0.2"), None, &proxies), ip("10.0.0.2"));
        assert_eq!(client_ip(ip("10.0.0.2"), Some("garbage"), &proxies), ip("10.0.0.2"));
    }

    #[test]
    fn trailing_slashes_are_trimmed_and_queries_kept() {
        let t = |s: &str| trim_trailing_slash(&s.parse().expect("uri")).map(|u| u.to_string());
        assert_eq!(t("/v1/clients/"), Some("/v1/clients".into()));
        assert_eq!(t("/v1/checks/?clientId=a&page=2"), Some("/v1/checks?clientId=a&page=2".into()));
        assert_eq!(t("/v1/clients//"), Some("/v1/clients".into()));
        assert_eq!(t("/v1/clients"), None);
        assert_eq!(t("/"), None);
    }
}
