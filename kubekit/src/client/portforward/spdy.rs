//! Port-forwarding through one tunnel per pod, as kubectl does: SPDY/3.1 streams
//! (`portforward.k8s.io`) carried in a WebSocket to the API server (subprotocol
//! `SPDY/3.1+portforward.k8s.io`, Kubernetes 1.31 and newer, feature `PortForwardWebsockets`).
//!
//! The API server passes the SPDY bytes through to the kubelet, so every forwarded
//! connection is a pair of SPDY streams (`error` and `data`, tied by a `requestid` header)
//! in a tunnel opened once: a new connection costs one stream opening, not a new TCP, TLS and
//! WebSocket handshake, and the node reads plain SPDY data frames rather than unmasking
//! WebSocket messages.
//!
//! Only the client side of SPDY/3.1 that port-forwarding uses is implemented: SYN_STREAM
//! (its header block as zlib *stored* blocks: valid zlib that needs no compressor, which
//! the receiving end decompresses like any other), DATA with FIN, RST_STREAM, PING (answered
//! and sent every 10 s as kubectl does) and GOAWAY. The server's header blocks (in
//! SYN_REPLY) are not needed and not decompressed. The kubelet's SPDY implementation has no
//! flow control; back-pressure comes from TCP under the WebSocket.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use bytes::{BufMut, Bytes, BytesMut};
use futures::{SinkExt, StreamExt};
use http::{HeaderValue, StatusCode, header};
use hyper_util::rt::TokioIo;
use k8s_openapi::api::core::v1::Pod;
use kube::Resource;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::{
    WebSocketStream,
    tungstenite::{
        Message,
        handshake::{client::generate_key, derive_accept_key},
        protocol::Role,
    },
};

/// The WebSocket subprotocol of the tunnel.
const PROTOCOL: &str = "SPDY/3.1+portforward.k8s.io";
/// SPDY version 3 in a control frame's first two bytes (with the control bit).
const CONTROL: u16 = 0x8003;
const TYPE_SYN_STREAM: u16 = 1;
const TYPE_RST_STREAM: u16 = 3;
const TYPE_PING: u16 = 6;
const TYPE_GOAWAY: u16 = 7;
const FLAG_FIN: u8 = 0x01;
/// RST_STREAM status CANCEL: the stream is no longer needed.
const STATUS_CANCEL: u32 = 5;
/// How often the client pings the server (kubectl's period).
const PING_PERIOD: Duration = Duration::from_secs(10);
/// Incoming frames buffered per stream before the tunnel's reader waits for its reader.
const STREAM_BUFFER: usize = 64;
/// The largest SPDY frame payload (24-bit length).
const MAX_PAYLOAD: usize = (1 << 24) - 1;

/// Why a tunnel could not be opened or a stream failed.
#[derive(Debug)]
pub(super) enum TunnelError {
    /// Opening the tunnel failed (HTTP error, refused upgrade, other protocol).
    Open(kube::Error),
    /// The tunnel ended (the server closed it, went away, or the connection broke).
    Closed(String),
}

impl TunnelError {
    /// As a client error: the opening's own, or the tunnel's end as a service error.
    pub(super) fn into_kube(self) -> kube::Error {
        match self {
            Self::Open(error) => error,
            Self::Closed(reason) => kube::Error::Service(reason.into()),
        }
    }
}

impl std::fmt::Display for TunnelError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Open(error) => error.fmt(f),
            Self::Closed(reason) => f.write_str(reason),
        }
    }
}

/// What the tunnel's reader passes to a stream.
#[derive(Debug)]
pub(super) enum Event {
    /// Data from the server.
    Data(Bytes),
    /// The server finished sending on the stream.
    Fin,
    /// The server reset the stream (status code).
    Reset(u32),
    /// The tunnel ended.
    Closed(String),
}

/// What the tunnel's writer sends.
enum Out {
    /// A forwarded connection to `port`: the writer numbers its two streams (SPDY wants
    /// stream ids in the order their SYN_STREAMs are sent), registers them and answers with
    /// the data stream's id.
    Open {
        port: u16,
        error: mpsc::Sender<Event>,
        data: mpsc::Sender<Event>,
        reply: oneshot::Sender<(u32, u32)>,
    },
    Data {
        stream: u32,
        fin: bool,
        data: Bytes,
    },
    /// A data frame already laid out (see [`StreamSender::buffer`]).
    Frame(Bytes),
    Reset {
        stream: u32,
    },
    Ping {
        id: u32,
    },
}

/// The streams of a tunnel, shared by its reader, its writer and its users.
#[derive(Default)]
struct State {
    streams: Mutex<HashMap<u32, mpsc::Sender<Event>>>,
    dead: AtomicBool,
}

impl State {
    fn sender(&self, stream: u32) -> Option<mpsc::Sender<Event>> {
        self.streams.lock().ok()?.get(&stream).cloned()
    }

    /// Registers a stream; false when the tunnel has ended.
    fn register(&self, stream: u32, tx: mpsc::Sender<Event>) -> bool {
        let Ok(mut streams) = self.streams.lock() else {
            return false;
        };
        if self.dead.load(Ordering::Acquire) {
            return false;
        }
        streams.insert(stream, tx);
        true
    }

    fn remove(&self, stream: u32) {
        if let Ok(mut streams) = self.streams.lock() {
            streams.remove(&stream);
        }
    }

    /// Marks the tunnel dead and tells every stream why.
    fn end(&self, reason: &str) {
        tracing::debug!(reason, "port-forward tunnel ended");
        let senders: Vec<_> = match self.streams.lock() {
            Ok(mut streams) => {
                self.dead.store(true, Ordering::Release);
                streams.drain().map(|(_, tx)| tx).collect()
            }
            Err(_) => Vec::new(),
        };
        for tx in senders {
            let _ = tx.try_send(Event::Closed(reason.to_string()));
        }
    }
}

struct Shared {
    out: mpsc::Sender<Out>,
    state: Arc<State>,
    reader: Mutex<Option<tokio::task::JoinHandle<()>>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        if let Ok(mut reader) = self.reader.lock()
            && let Some(task) = reader.take()
        {
            task.abort();
        }
    }
}

/// A SPDY tunnel to one pod. Cloning shares it; the last clone dropped closes it.
#[derive(Clone)]
pub(super) struct Tunnel {
    shared: Arc<Shared>,
}

/// One forwarded connection: the data stream and the error stream of a request. Split it
/// into its sending half and its two event receivers to drive both directions at once.
pub(super) struct ForwardStream {
    /// Sends to the pod; dropped unfinished, it resets the data stream.
    pub(super) sender: StreamSender,
    /// Events of the data stream.
    pub(super) data_events: mpsc::Receiver<Event>,
    /// Events of the error stream.
    pub(super) error_events: mpsc::Receiver<Event>,
}

/// The sending half of a [`ForwardStream`].
pub(super) struct StreamSender {
    shared: Arc<Shared>,
    data: u32,
    error: u32,
    /// Both sides finished the data stream: nothing to reset on drop.
    pub(super) finished: bool,
}

impl Tunnel {
    /// Opens a tunnel to pod `pod` in `namespace`.
    pub(super) async fn open(
        client: &kube::Client,
        namespace: &str,
        pod: &str,
        port: u16,
    ) -> Result<Self, TunnelError> {
        let request = kube::core::Request::new(Pod::url_path(&(), Some(namespace)))
            .portforward(pod, &[port])
            .map_err(|e| TunnelError::Open(kube::Error::BuildRequest(e)))?;
        let (mut parts, body) = request.into_parts();
        let key = generate_key();
        let headers = &mut parts.headers;
        headers.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
        headers.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
        headers.insert(
            header::SEC_WEBSOCKET_VERSION,
            HeaderValue::from_static("13"),
        );
        headers.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(PROTOCOL),
        );
        let key_value = HeaderValue::from_str(&key)
            .map_err(|e| TunnelError::Open(kube::Error::HttpError(e.into())))?;
        headers.insert(header::SEC_WEBSOCKET_KEY, key_value);
        let response = client
            .send(http::Request::from_parts(
                parts,
                kube::client::Body::from(body),
            ))
            .await
            .map_err(TunnelError::Open)?;
        let status = response.status();
        if status != StatusCode::SWITCHING_PROTOCOLS {
            return Err(TunnelError::Open(refused(response).await));
        }
        let accepted = response
            .headers()
            .get(header::SEC_WEBSOCKET_ACCEPT)
            .is_some_and(|v| v.as_bytes() == derive_accept_key(key.as_bytes()).as_bytes());
        let protocol = response
            .headers()
            .get(header::SEC_WEBSOCKET_PROTOCOL)
            .is_some_and(|v| v.as_bytes() == PROTOCOL.as_bytes());
        if !accepted || !protocol {
            return Err(TunnelError::Open(kube::Error::UpgradeConnection(
                kube::client::UpgradeConnectionError::SecWebSocketProtocolMismatch,
            )));
        }
        let upgraded = hyper::upgrade::on(response).await.map_err(|e| {
            TunnelError::Open(kube::Error::UpgradeConnection(
                kube::client::UpgradeConnectionError::GetPendingUpgrade(e),
            ))
        })?;
        let ws = WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Client, None).await;
        let (sink, stream) = ws.split();
        let (out, out_rx) = mpsc::channel(STREAM_BUFFER);
        let state = Arc::new(State::default());
        let shared = Arc::new(Shared {
            out,
            state: state.clone(),
            reader: Mutex::new(None),
        });
        tokio::spawn(write(sink, out_rx, state.clone()));
        let reader = tokio::spawn(read(stream, state, Arc::downgrade(&shared)));
        if let Ok(mut slot) = shared.reader.lock() {
            *slot = Some(reader);
        }
        Ok(Self { shared })
    }

    /// Whether the tunnel can still take streams.
    pub(super) fn is_alive(&self) -> bool {
        !self.shared.state.dead.load(Ordering::Acquire) && !self.shared.out.is_closed()
    }

    /// Opens a forwarded connection to `port`: an error stream (closed for writing at once,
    /// as kubectl does) and a data stream.
    pub(super) async fn connect(&self, port: u16) -> Result<ForwardStream, TunnelError> {
        let ended = || TunnelError::Closed("the tunnel has ended".into());
        let (error_tx, error_events) = mpsc::channel(STREAM_BUFFER);
        let (data_tx, data_events) = mpsc::channel(STREAM_BUFFER);
        let (reply, ids) = oneshot::channel();
        self.shared
            .out
            .send(Out::Open {
                port,
                error: error_tx,
                data: data_tx,
                reply,
            })
            .await
            .map_err(|_| ended())?;
        let (error, data) = ids.await.map_err(|_| ended())?;
        Ok(ForwardStream {
            sender: StreamSender {
                shared: self.shared.clone(),
                data,
                error,
                finished: false,
            },
            data_events,
            error_events,
        })
    }
}

impl StreamSender {
    /// Sends `data` to the pod; with `fin`, the pod sees the end of input after it.
    pub(super) async fn send(&self, data: Bytes, fin: bool) -> Result<(), TunnelError> {
        let mut data = data;
        loop {
            let chunk = data.split_to(data.len().min(MAX_PAYLOAD));
            let last = data.is_empty();
            self.shared
                .out
                .send(Out::Data {
                    stream: self.data,
                    fin: fin && last,
                    data: chunk,
                })
                .await
                .map_err(|_| TunnelError::Closed("the tunnel has ended".into()))?;
            if last {
                return Ok(());
            }
        }
    }
}

impl StreamSender {
    /// An empty buffer of `capacity` bytes of data, with room before them for the frame's
    /// header: fill it (e.g. with `read_buf`) and pass it to [`send_buffer`](Self::send_buffer),
    /// which sends it without copying the data.
    pub(super) fn buffer(capacity: usize) -> BytesMut {
        let mut buffer = BytesMut::with_capacity(8 + capacity.min(MAX_PAYLOAD));
        buffer.put_bytes(0, 8);
        buffer
    }

    /// Whether `buffer` (from [`buffer`](Self::buffer)) holds no data yet.
    pub(super) fn buffer_is_empty(buffer: &BytesMut) -> bool {
        buffer.len() <= 8
    }

    /// Sends the data in `buffer` (from [`buffer`](Self::buffer), at most 16 MiB - 1) as one
    /// data frame, writing its header in place.
    pub(super) async fn send_buffer(&self, mut buffer: BytesMut) -> Result<(), TunnelError> {
        fill_data_header(&mut buffer, self.data);
        self.shared
            .out
            .send(Out::Frame(buffer.freeze()))
            .await
            .map_err(|_| TunnelError::Closed("the tunnel has ended".into()))
    }
}

impl Drop for StreamSender {
    fn drop(&mut self) {
        self.shared.state.remove(self.data);
        self.shared.state.remove(self.error);
        if !self.finished {
            // The local side gave up early: tell the node to stop.
            let out = self.shared.out.clone();
            let stream = self.data;
            if let Ok(runtime) = tokio::runtime::Handle::try_current() {
                runtime.spawn(async move { out.send(Out::Reset { stream }).await });
            }
        }
    }
}

/// The error of a refused upgrade: the API's `Status` when the body is one.
async fn refused(response: http::Response<kube::client::Body>) -> kube::Error {
    use http_body_util::BodyExt;
    let code = response.status();
    let text = match response.into_body().collect().await {
        Ok(body) => String::from_utf8_lossy(&body.to_bytes()).into_owned(),
        Err(e) => return e,
    };
    match serde_json::from_str::<kube::core::Status>(&text) {
        Ok(status) => kube::Error::Api(status.boxed()),
        Err(_) => kube::Error::Api(
            kube::core::Status::failure(text.trim(), "UpgradeRefused")
                .with_code(code.as_u16())
                .boxed(),
        ),
    }
}

type Sink = futures::stream::SplitSink<WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>, Message>;
type Source = futures::stream::SplitStream<WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>>;

/// The writer: encodes what the streams send, in order, and pings every [`PING_PERIOD`].
/// Ends (closing the WebSocket) when every sender is gone or the WebSocket fails.
async fn write(mut sink: Sink, mut out: mpsc::Receiver<Out>, state: Arc<State>) {
    let mut headers = HeaderEncoder::default();
    let mut ping = tokio::time::interval(PING_PERIOD);
    ping.tick().await;
    let mut next_ping: u32 = 1;
    let mut next_stream: u32 = 1;
    let mut next_request: u32 = 0;
    loop {
        let item = tokio::select! {
            item = out.recv() => match item {
                Some(item) => item,
                None => break,
            },
            _ = ping.tick() => {
                next_ping = next_ping.wrapping_add(2);
                Out::Ping { id: next_ping }
            }
        };
        let frame = match item {
            Out::Open {
                port,
                error,
                data,
                reply,
            } => {
                let (error_id, data_id) = (next_stream, next_stream + 2);
                next_stream += 4;
                let request = next_request;
                next_request += 1;
                if !state.register(error_id, error) || !state.register(data_id, data) {
                    continue;
                }
                let stream_headers = |kind: &str| {
                    [
                        ("streamtype", kind.to_string()),
                        ("port", port.to_string()),
                        ("requestid", request.to_string()),
                    ]
                };
                // Both SYN_STREAMs and the error stream's FIN in one message.
                let mut frames = BytesMut::new();
                frames.extend_from_slice(&syn_stream(
                    error_id,
                    &headers.encode(&stream_headers("error")),
                ));
                frames.extend_from_slice(&data_frame(error_id, true, &[]));
                frames.extend_from_slice(&syn_stream(
                    data_id,
                    &headers.encode(&stream_headers("data")),
                ));
                let _ = reply.send((error_id, data_id));
                frames.freeze()
            }
            Out::Data { stream, fin, data } => data_frame(stream, fin, &data),
            Out::Frame(frame) => frame,
            Out::Reset { stream } => rst_stream(stream, STATUS_CANCEL),
            Out::Ping { id } => ping_frame(id),
        };
        if let Err(e) = sink.send(Message::Binary(frame)).await {
            state.end(&format!("the tunnel broke: {e}"));
            return;
        }
    }
    let _ = sink.close().await;
}

/// The reader: parses the server's frames and hands them to their streams; marks the tunnel
/// dead and tells every stream when the tunnel ends.
async fn read(mut source: Source, state: Arc<State>, shared: std::sync::Weak<Shared>) {
    let mut buffer = BytesMut::new();
    let reason = loop {
        let message = match source.next().await {
            Some(Ok(message)) => message,
            Some(Err(e)) => break format!("the tunnel broke: {e}"),
            None => break "the API server closed the tunnel".to_string(),
        };
        match message {
            Message::Binary(data) => buffer.extend_from_slice(&data),
            Message::Close(frame) => {
                break match frame {
                    Some(f) if !f.reason.is_empty() => {
                        format!("the API server closed the tunnel: {}", f.reason)
                    }
                    _ => "the API server closed the tunnel".to_string(),
                };
            }
            _ => continue,
        }
        let mut ended = None;
        while let Some(frame) = next_frame(&mut buffer) {
            match frame {
                Frame::Data { stream, fin, data } => {
                    if let Some(tx) = state.sender(stream) {
                        if !data.is_empty() {
                            let _ = tx.send(Event::Data(data)).await;
                        }
                        if fin {
                            let _ = tx.send(Event::Fin).await;
                        }
                    }
                }
                Frame::Reset { stream, status } => {
                    if let Some(tx) = state.sender(stream) {
                        let _ = tx.send(Event::Reset(status)).await;
                    }
                }
                Frame::Ping { id } => {
                    // Pings the server started (even ids) are echoed.
                    if id % 2 == 0
                        && let Some(shared) = shared.upgrade()
                    {
                        let _ = shared.out.send(Out::Ping { id }).await;
                    }
                }
                Frame::GoAway => {
                    ended = Some("the node ended the tunnel (GOAWAY)".to_string());
                    break;
                }
                Frame::Bad(why) => {
                    ended = Some(format!("the tunnel carried a bad SPDY frame: {why}"));
                    break;
                }
                Frame::Other => {}
            }
        }
        if let Some(reason) = ended {
            break reason;
        }
    };
    state.end(&reason);
}

/// A frame read from the server.
#[derive(Clone, Debug, PartialEq)]
enum Frame {
    Data {
        stream: u32,
        fin: bool,
        data: Bytes,
    },
    Reset {
        stream: u32,
        status: u32,
    },
    Ping {
        id: u32,
    },
    GoAway,
    /// SYN_REPLY, SETTINGS, WINDOW_UPDATE, HEADERS, ...: nothing to do.
    Other,
    Bad(String),
}

/// Takes the next complete frame off `buffer`, if there is one.
fn next_frame(buffer: &mut BytesMut) -> Option<Frame> {
    if buffer.len() < 8 {
        return None;
    }
    let length =
        usize::from(buffer[5]) << 16 | usize::from(buffer[6]) << 8 | usize::from(buffer[7]);
    if buffer.len() < 8 + length {
        return None;
    }
    let head = buffer.split_to(8);
    let payload = buffer.split_to(length).freeze();
    let flags = head[4];
    let first = u32::from_be_bytes([head[0], head[1], head[2], head[3]]);
    if first & 0x8000_0000 == 0 {
        return Some(Frame::Data {
            stream: first,
            fin: flags & FLAG_FIN != 0,
            data: payload,
        });
    }
    let version = (first >> 16) as u16 & 0x7fff;
    if version != 3 {
        return Some(Frame::Bad(format!("SPDY version {version}")));
    }
    let kind = (first & 0xffff) as u16;
    let u32_at = |p: &Bytes, at: usize| {
        p.get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    Some(match kind {
        TYPE_RST_STREAM => match (u32_at(&payload, 0), u32_at(&payload, 4)) {
            (Some(stream), Some(status)) => Frame::Reset {
                stream: stream & 0x7fff_ffff,
                status,
            },
            _ => Frame::Bad("short RST_STREAM".into()),
        },
        TYPE_PING => match u32_at(&payload, 0) {
            Some(id) => Frame::Ping { id },
            None => Frame::Bad("short PING".into()),
        },
        TYPE_GOAWAY => Frame::GoAway,
        _ => Frame::Other,
    })
}

/// Header blocks as one zlib stream of stored blocks, continued across frames as SPDY
/// requires (the zlib header opens the first block only), each block ending as a sync flush
/// does.
#[derive(Default)]
struct HeaderEncoder {
    started: bool,
}

impl HeaderEncoder {
    fn encode(&mut self, headers: &[(&str, String)]) -> Vec<u8> {
        let mut block = Vec::new();
        block.put_u32(u32::try_from(headers.len()).unwrap_or(u32::MAX));
        for (name, value) in headers {
            block.put_u32(u32::try_from(name.len()).unwrap_or(u32::MAX));
            block.put_slice(name.as_bytes());
            block.put_u32(u32::try_from(value.len()).unwrap_or(u32::MAX));
            block.put_slice(value.as_bytes());
        }
        let mut out = Vec::with_capacity(block.len() + 16);
        if !self.started {
            // CMF: deflate, 32 KiB window; FLG: no preset dictionary, check bits.
            out.extend_from_slice(&[0x78, 0x01]);
            self.started = true;
        }
        for chunk in block.chunks(usize::from(u16::MAX)) {
            let len = u16::try_from(chunk.len()).unwrap_or(u16::MAX);
            // Stored block, not final: BFINAL 0, BTYPE 00, padded to the byte.
            out.push(0x00);
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(&(!len).to_le_bytes());
            out.extend_from_slice(chunk);
        }
        // An empty stored block, as zlib's sync flush ends its output: a decompressor reads
        // its header to find the previous block finished, and hands the block's bytes over
        // without reading past this frame (Go's reads the next block header eagerly).
        out.extend_from_slice(&[0x00, 0x00, 0x00, 0xff, 0xff]);
        out
    }
}

fn control_frame(kind: u16, flags: u8, payload: &[u8]) -> Bytes {
    let mut frame = BytesMut::with_capacity(8 + payload.len());
    frame.put_u16(CONTROL);
    frame.put_u16(kind);
    frame.put_u8(flags);
    put_length(&mut frame, payload.len());
    frame.put_slice(payload);
    frame.freeze()
}

fn put_length(frame: &mut BytesMut, length: usize) {
    let length = u32::try_from(length.min(MAX_PAYLOAD)).unwrap_or(0);
    frame.put_slice(&length.to_be_bytes()[1..]);
}

fn syn_stream(stream: u32, header_block: &[u8]) -> Bytes {
    let mut payload = Vec::with_capacity(10 + header_block.len());
    payload.put_u32(stream);
    payload.put_u32(0); // associated stream
    payload.put_u8(0); // priority 0 (highest), unused bits
    payload.put_u8(0); // slot
    payload.put_slice(header_block);
    control_frame(TYPE_SYN_STREAM, 0, &payload)
}

fn data_frame(stream: u32, fin: bool, data: &[u8]) -> Bytes {
    let mut frame = BytesMut::with_capacity(8 + data.len());
    frame.put_u32(stream & 0x7fff_ffff);
    frame.put_u8(if fin { FLAG_FIN } else { 0 });
    put_length(&mut frame, data.len());
    frame.put_slice(data);
    frame.freeze()
}

/// Writes the header of a data frame (no flags) into the first 8 bytes of `buffer`, whose
/// data follows them (cut at the largest payload).
fn fill_data_header(buffer: &mut BytesMut, stream: u32) {
    if buffer.len() < 8 {
        buffer.resize(8, 0);
    }
    let length = (buffer.len() - 8).min(MAX_PAYLOAD);
    buffer.truncate(8 + length);
    buffer[..4].copy_from_slice(&(stream & 0x7fff_ffff).to_be_bytes());
    buffer[4] = 0;
    buffer[5..8].copy_from_slice(&u32::try_from(length).unwrap_or(0).to_be_bytes()[1..]);
}

fn rst_stream(stream: u32, status: u32) -> Bytes {
    let mut payload = Vec::with_capacity(8);
    payload.put_u32(stream);
    payload.put_u32(status);
    control_frame(TYPE_RST_STREAM, 0, &payload)
}

fn ping_frame(id: u32) -> Bytes {
    control_frame(TYPE_PING, 0, &id.to_be_bytes())
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn header_blocks_are_one_zlib_stream_across_frames() {
        let mut encoder = HeaderEncoder::default();
        let first = encoder.encode(&[("streamtype", "error".into()), ("port", "80".into())]);
        let second = encoder.encode(&[("streamtype", "data".into())]);
        assert_eq!(&first[..2], &[0x78, 0x01]);
        assert_ne!(&second[..2], &[0x78, 0x01]);
        // A zlib reader fed both blocks (plus an end: a final empty stored block and the
        // Adler-32 of everything) yields both header blocks back.
        let mut stream = [first, second].concat();
        let mut raw = Vec::new();
        let mut expected = Vec::new();
        for headers in [
            vec![("streamtype", "error"), ("port", "80")],
            vec![("streamtype", "data")],
        ] {
            raw.put_u32(u32::try_from(headers.len()).unwrap_or(0));
            for (n, v) in headers {
                raw.put_u32(u32::try_from(n.len()).unwrap_or(0));
                raw.put_slice(n.as_bytes());
                raw.put_u32(u32::try_from(v.len()).unwrap_or(0));
                raw.put_slice(v.as_bytes());
            }
        }
        expected.extend_from_slice(&raw);
        stream.extend_from_slice(&[0x01, 0x00, 0x00, 0xff, 0xff]);
        stream.extend_from_slice(&adler32(&raw).to_be_bytes());
        let mut decoded = Vec::new();
        flate2::read::ZlibDecoder::new(&stream[..])
            .read_to_end(&mut decoded)
            .expect("valid zlib");
        assert_eq!(decoded, expected);
    }

    fn adler32(data: &[u8]) -> u32 {
        let (mut a, mut b) = (1u32, 0u32);
        for &byte in data {
            a = (a + u32::from(byte)) % 65521;
            b = (b + a) % 65521;
        }
        b << 16 | a
    }

    #[test]
    fn frames_round_trip_through_the_parser() {
        let mut buffer = BytesMut::new();
        buffer.extend_from_slice(&data_frame(3, true, b"hello"));
        buffer.extend_from_slice(&rst_stream(5, STATUS_CANCEL));
        buffer.extend_from_slice(&ping_frame(2));
        buffer.extend_from_slice(&control_frame(TYPE_GOAWAY, 0, &[0; 8]));
        let half = data_frame(7, false, &[9; 100]);
        buffer.extend_from_slice(&half[..50]);
        assert_eq!(
            next_frame(&mut buffer),
            Some(Frame::Data {
                stream: 3,
                fin: true,
                data: Bytes::from_static(b"hello")
            })
        );
        assert_eq!(
            next_frame(&mut buffer),
            Some(Frame::Reset {
                stream: 5,
                status: STATUS_CANCEL
            })
        );
        assert_eq!(next_frame(&mut buffer), Some(Frame::Ping { id: 2 }));
        assert_eq!(next_frame(&mut buffer), Some(Frame::GoAway));
        // An incomplete frame waits for the rest.
        assert_eq!(next_frame(&mut buffer), None);
        buffer.extend_from_slice(&half[50..]);
        assert_eq!(
            next_frame(&mut buffer),
            Some(Frame::Data {
                stream: 7,
                fin: false,
                data: Bytes::from(vec![9; 100])
            })
        );
        assert_eq!(next_frame(&mut buffer), None);
    }

    #[test]
    fn a_buffer_filled_in_place_is_a_data_frame() {
        let mut buffer = StreamSender::buffer(16);
        assert!(StreamSender::buffer_is_empty(&buffer));
        buffer.extend_from_slice(b"payload");
        fill_data_header(&mut buffer, 9);
        assert_eq!(&buffer[..], &data_frame(9, false, b"payload")[..]);
        let mut empty = StreamSender::buffer(16);
        fill_data_header(&mut empty, 1);
        assert_eq!(&empty[..], &data_frame(1, false, b"")[..]);
    }

    #[test]
    fn syn_stream_layout() {
        let frame = syn_stream(1, &[0xaa, 0xbb]);
        assert_eq!(&frame[..8], &[0x80, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, 12]);
        assert_eq!(&frame[8..12], &1u32.to_be_bytes());
        assert_eq!(&frame[18..], &[0xaa, 0xbb]);
    }

    #[test]
    fn a_huge_announced_length_allocates_nothing() {
        // A data frame header announcing 16 MiB - 1, then a few bytes of it: the reader waits
        // for the rest without reserving room for it.
        let mut buffer = BytesMut::new();
        buffer.extend_from_slice(&[0, 0, 0, 1, 0, 0xff, 0xff, 0xff]);
        buffer.extend_from_slice(&[7; 100]);
        assert_eq!(next_frame(&mut buffer), None);
        assert_eq!(buffer.len(), 108);
        assert!(buffer.capacity() < 1024, "{}", buffer.capacity());
    }

    use crate::test_support::proptest_cases as cases;

    /// Feeds `bytes` in pieces of the `cuts`' sizes, reading the frames after each piece as
    /// the tunnel's reader does; checks that the buffer holds only what was fed.
    fn frames_of(bytes: &[u8], cuts: &[usize]) -> Vec<Frame> {
        let mut buffer = BytesMut::new();
        let mut frames = Vec::new();
        let mut rest = bytes;
        let mut cuts = cuts.iter().cycle();
        while !rest.is_empty() {
            let size = cuts
                .next()
                .map_or(rest.len(), |&cut| cut.clamp(1, rest.len()));
            let (piece, after) = rest.split_at(size);
            rest = after;
            buffer.extend_from_slice(piece);
            while let Some(frame) = next_frame(&mut buffer) {
                frames.push(frame);
            }
            let fed = bytes.len() - rest.len();
            assert!(buffer.len() <= fed);
            assert!(
                buffer.capacity() <= 4 * fed + 1024,
                "capacity {} for {fed} bytes fed",
                buffer.capacity()
            );
        }
        frames
    }

    /// A frame as the server could send it (and as `next_frame` reads it back).
    fn frame() -> impl proptest::strategy::Strategy<Value = (Bytes, Frame)> {
        use proptest::prelude::*;
        prop_oneof![
            (
                0u32..0x8000_0000,
                any::<bool>(),
                proptest::collection::vec(any::<u8>(), 0..300)
            )
                .prop_map(|(stream, fin, data)| (
                    data_frame(stream, fin, &data),
                    Frame::Data {
                        stream,
                        fin,
                        data: Bytes::from(data)
                    }
                )),
            (0u32..0x8000_0000, any::<u32>()).prop_map(|(stream, status)| (
                rst_stream(stream, status),
                Frame::Reset { stream, status }
            )),
            any::<u32>().prop_map(|id| (ping_frame(id), Frame::Ping { id })),
            Just((control_frame(TYPE_GOAWAY, 0, &[0; 8]), Frame::GoAway)),
            // SYN_REPLY, SETTINGS, HEADERS, WINDOW_UPDATE.
            (
                prop::sample::select(vec![2u16, 4, 8, 9]),
                proptest::collection::vec(any::<u8>(), 0..40)
            )
                .prop_map(|(kind, payload)| (control_frame(kind, 0, &payload), Frame::Other)),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(cases(2048)))]

        /// Any bytes, cut anywhere: frames or a wait for more, never a panic, and a buffer
        /// that holds no more than what came in (a header announcing 16 MiB reserves
        /// nothing).
        #[test]
        fn any_bytes_cut_anywhere_read_without_panic_or_growth(
            bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..2048),
            cuts in proptest::collection::vec(1usize..512, 1..8),
        ) {
            let whole = frames_of(&bytes, &[usize::MAX]);
            // The frames do not depend on how the WebSocket cut the bytes.
            proptest::prop_assert_eq!(frames_of(&bytes, &cuts), whole);
        }

        /// The frames the server sends read back as themselves, however cut.
        #[test]
        fn frames_read_back_however_cut(
            frames in proptest::collection::vec(frame(), 0..12),
            cuts in proptest::collection::vec(1usize..256, 1..8),
        ) {
            let bytes: Vec<u8> = frames.iter().flat_map(|(bytes, _)| bytes.to_vec()).collect();
            let expected: Vec<Frame> = frames.into_iter().map(|(_, frame)| frame).collect();
            proptest::prop_assert_eq!(frames_of(&bytes, &cuts), expected);
        }
    }

    #[test]
    fn a_bad_version_is_reported_not_a_panic() {
        let mut buffer = BytesMut::from(&[0x80, 0x02, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00][..]);
        assert!(matches!(next_frame(&mut buffer), Some(Frame::Bad(_))));
    }
}
