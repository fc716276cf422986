//! The live board: the latest page, statistics and dashboard, and a server-sent event to
//! every open page when they change.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use futures_util::Stream;
use tokio::sync::watch;

/// One state of the board, published whole by whoever runs the flow.
#[derive(Debug, Clone, Default)]
pub struct BoardUpdate {
    /// The whole page of `GET /` (self-contained HTML).
    pub page: String,
    /// `GET /api/stats`: the summary as JSON.
    pub stats: String,
    /// `GET /api/dashboard`: the dashboard as JSON.
    pub dashboard: String,
    /// The HTML fragment the page swaps in (sent as `{"html": …, "updated": …}`).
    pub fragment: String,
    /// When it was taken (shown on the page).
    pub updated: String,
}

/// Where the flow publishes and the web pages subscribe. Cheap to clone.
#[derive(Clone)]
pub struct Board {
    tx: Arc<watch::Sender<Arc<BoardUpdate>>>,
    closed: Arc<AtomicBool>,
}

impl Default for Board {
    fn default() -> Self {
        Board::new(BoardUpdate::default())
    }
}

impl Board {
    /// A board showing `first` until the first [`Board::publish`].
    pub fn new(first: BoardUpdate) -> Board {
        Board {
            tx: Arc::new(watch::channel(Arc::new(first)).0),
            closed: Arc::default(),
        }
    }

    /// Ends every page's event stream, now and for pages that subscribe later. Call it when
    /// the server starts to shut down: a graceful shutdown waits for every connection to
    /// end, and a live page open in a browser (or kept open by a reverse proxy) never ends
    /// its own.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        // Wakes every stream, which then sees the board closed.
        self.tx.send_modify(|_| {});
    }

    /// Shows `update` and sends it to every open page.
    pub fn publish(&self, update: BoardUpdate) {
        self.tx.send_replace(Arc::new(update));
    }

    /// What the board shows now.
    pub fn current(&self) -> Arc<BoardUpdate> {
        self.tx.borrow().clone()
    }

    fn events(&self) -> impl Stream<Item = Result<Event, Infallible>> + use<> {
        let state = (self.tx.subscribe(), Arc::clone(&self.closed), true);
        // The current state first, then every change (a slow page skips to the newest).
        futures_util::stream::unfold(state, |(mut rx, closed, first)| async move {
            if !first && rx.changed().await.is_err() || closed.load(Ordering::Acquire) {
                return None;
            }
            let update = rx.borrow_and_update().clone();
            let data = serde_json::json!({ "html": update.fragment, "updated": update.updated });
            let event = Event::default().event("dashboard").data(data.to_string());
            Some((Ok(event), (rx, closed, false)))
        })
    }
}

fn json(body: String) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        body,
    )
        .into_response()
}

pub(crate) async fn page(State(board): State<Board>) -> Html<String> {
    Html(board.current().page.clone())
}

pub(crate) async fn stats(State(board): State<Board>) -> Response {
    json(board.current().stats.clone())
}

pub(crate) async fn dashboard(State(board): State<Board>) -> Response {
    json(board.current().dashboard.clone())
}

pub(crate) async fn events(State(board): State<Board>) -> impl IntoResponse {
    // nginx holds a proxied answer until its buffer fills unless told not to: the live page
    // behind it would show a state only once later ones pushed it out.
    (
        [("x-accel-buffering", HeaderValue::from_static("no"))],
        Sse::new(board.events()).keep_alive(KeepAlive::default()),
    )
}
