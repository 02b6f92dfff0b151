//! SIP over TCP: one reader and one writer task per connection. Readers cut
//! the stream into messages with the sans-IO framer and hand them to the core;
//! the core sends through the writer registered for that remote address.

use std::net::SocketAddr;
use std::sync::Arc;

use dashmap::DashMap;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use crate::sip::framing::{Frame, StreamFramer};
use crate::sip::message::Message;

/// Open connections by remote address: the core writes responses and
/// requests to registered TCP phones through these.
pub type Connections = Arc<DashMap<SocketAddr, mpsc::Sender<Vec<u8>>>>;

/// What connection tasks tell the core.
pub enum FromStream {
    Message(SocketAddr, Message),
    /// The stream could not be framed (too large, bad Content-Length): dropped and counted.
    Broken(SocketAddr, String),
}

pub async fn accept_loop(
    listener: TcpListener,
    conns: Connections,
    to_core: mpsc::Sender<FromStream>,
    max_size: usize,
    stop: CancellationToken,
) {
    loop {
        let (stream, peer) = tokio::select! {
            _ = stop.cancelled() => return,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    debug!("accept failed: {e}");
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(
            stream,
            peer,
            conns.clone(),
            to_core.clone(),
            max_size,
            stop.clone(),
        ));
    }
}

async fn connection(
    stream: TcpStream,
    peer: SocketAddr,
    conns: Connections,
    to_core: mpsc::Sender<FromStream>,
    max_size: usize,
    stop: CancellationToken,
) {
    let (mut rd, mut wr) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<Vec<u8>>(256);
    conns.insert(peer, tx.clone());
    let writer = tokio::spawn(async move {
        while let Some(bytes) = rx.recv().await {
            if wr.write_all(&bytes).await.is_err() {
                break;
            }
        }
    });
    let mut framer = StreamFramer::new(max_size);
    let mut buf = vec![0u8; 16 * 1024];
    'read: loop {
        let n = tokio::select! {
            _ = stop.cancelled() => break,
            r = rd.read(&mut buf) => match r {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            },
        };
        framer.push(&buf[..n]);
        loop {
            match framer.next_frame() {
                Ok(None) => break,
                Ok(Some(Frame::Ping)) => {
                    let _ = tx.send(b"\r\n".to_vec()).await; // RFC 5626 §3.5.1 pong
                }
                Ok(Some(Frame::Message(m))) => {
                    if to_core.send(FromStream::Message(peer, m)).await.is_err() {
                        break 'read;
                    }
                }
                Err(e) => {
                    let _ = to_core.send(FromStream::Broken(peer, e.to_string())).await;
                    break 'read;
                }
            }
        }
    }
    conns.remove(&peer);
    drop(tx);
    let _ = writer.await;
    debug!(%peer, "TCP connection closed");
}
