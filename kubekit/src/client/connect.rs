//! The [`kube::Client`] kubekit builds: kube's own stack, on TCP connections that set
//! `TCP_NODELAY`.
//!
//! kube's default connector leaves Nagle's algorithm on. Every exec, attach and port-forward
//! WebSocket needs a connection of its own (an upgraded connection never returns to the
//! pool), and on a new connection Nagle's algorithm holds the client's small write after the
//! TLS handshake until the server's delayed ACK arrives: about 40 ms on Linux, per
//! connection. kubekit's client disables it, as Go's `net` package (and so kubectl) does.

use hyper_timeout::TimeoutConnector;
use hyper_util::{client::legacy::connect::HttpConnector, rt::TokioExecutor};
use kube::{
    Config,
    client::{ConfigExt, retry::RetryPolicy},
};
use tower::{BoxError, ServiceBuilder, retry::RetryLayer};

/// Builds a [`kube::Client`] for `config` with the layers kube's `TryFrom<Config>` stacks
/// (base URI, retries, authentication, extra headers, timeouts, rustls), on connections with
/// `TCP_NODELAY`.
///
/// Configurations this stack does not cover take kube's own client unchanged: a proxy URL,
/// and exec credential plugins (kube tracks the expiry of the client certificates they
/// issue).
pub(crate) fn kube_client(config: Config) -> Result<kube::Client, kube::Error> {
    if config.proxy_url.is_some() || config.auth_info.exec.is_some() {
        return kube::Client::try_from(config);
    }
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_nodelay(true);
    let https = config.rustls_https_connector_with_connector(http)?;
    let mut connector = TimeoutConnector::new(https);
    connector.set_connect_timeout(config.connect_timeout);
    connector.set_read_timeout(config.read_timeout);
    connector.set_write_timeout(config.write_timeout);
    connector.set_reset_reader_on_write(config.reset_reader_on_write);
    let http_client = hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .build::<_, kube::client::Body>(connector);
    let retry = config
        .default_retry
        .then(|| RetryLayer::new(RetryPolicy::server_retry()));
    let service = ServiceBuilder::new()
        .layer(config.base_uri_layer())
        .option_layer(retry)
        .option_layer(config.auth_layer()?)
        .layer(config.extra_headers_layer()?)
        .map_err(BoxError::from)
        .service(http_client);
    Ok(kube::Client::new(service, config.default_namespace))
}

/// The same client (its connections, authentication and middleware) with `namespace` as its
/// default namespace: kube's client has no setter, so a new one is built on the old one's
/// `send`, which carries upgrades (exec, port-forward) too.
pub(crate) fn rebind(client: &kube::Client, namespace: &str) -> kube::Client {
    let inner = client.clone();
    let service = tower::service_fn(move |request: http::Request<kube::client::Body>| {
        let inner = inner.clone();
        async move { inner.send(request).await }
    });
    kube::Client::new(service, namespace).with_valid_until(*client.valid_until())
}
