//! WebSocket clients of `/ws/dashboard` on a served address.

use std::time::Duration;

use futures_util::StreamExt as _;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// A WebSocket client.
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long [`next`] waits for a message.
pub const WAIT: Duration = Duration::from_secs(10);

/// Connects to the WebSocket at `url` (`ws://…`).
pub async fn connect(url: &str) -> Ws {
    tokio_tungstenite::connect_async(url)
        .await
        .expect("the WebSocket connects")
        .0
}

/// The dashboard's WebSocket URL of the server at `base` (`http://…`).
pub fn dashboard_url(base: &str) -> String {
    format!("{}/ws/dashboard", base.replace("http://", "ws://"))
}

/// The next text message as JSON (pings skipped); panics on close or after [`WAIT`].
pub async fn next(ws: &mut Ws) -> Value {
    loop {
        let msg = tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("a message in time")
            .expect("the connection is open")
            .expect("a valid frame");
        match msg {
            Message::Text(t) => return serde_json::from_str(t.as_str()).expect("JSON"),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("unexpected frame {other:?}"),
        }
    }
}
