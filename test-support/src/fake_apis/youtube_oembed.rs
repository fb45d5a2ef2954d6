//! A fake of YouTube's oEmbed endpoint (`www.youtube.com/oembed`): the
//! oEmbed 1.0 video shape for a known video, 401 "Unauthorized" for a
//! private one, 404 "Not Found" for an unknown one, 400 "Bad Request" when
//! `url` is no YouTube video link.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;

use super::{SeenLog, Served};

#[derive(Debug, Clone)]
enum Video {
    Public { title: String, author: String },
    Private,
}

#[derive(Debug, Default)]
struct Inner {
    videos: Mutex<HashMap<String, Video>>,
    seen: SeenLog,
}

/// YouTube's oEmbed on loopback.
#[derive(Debug)]
pub struct FakeYouTubeOembed {
    inner: Arc<Inner>,
    served: Served,
}

impl FakeYouTubeOembed {
    /// Starts the fake.
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start() -> anyhow::Result<Self> {
        Self::start_on(super::LOOPBACK).await
    }

    /// The same fake on `ip` (the sandbox puts its fakes on `127.0.0.2`).
    ///
    /// # Errors
    /// When no port can be bound.
    pub async fn start_on(ip: std::net::IpAddr) -> anyhow::Result<Self> {
        let inner = Arc::new(Inner::default());
        let router = Router::new()
            .route("/oembed", get(oembed))
            .layer(middleware::from_fn_with_state(inner.clone(), record))
            .with_state(inner.clone());
        let served = Served::start_on(ip, "youtube-oembed", router).await?;
        Ok(Self { inner, served })
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base_url(&self) -> String {
        self.served.base_url()
    }

    /// The requests seen so far.
    pub fn seen(&self) -> &SeenLog {
        &self.inner.seen
    }

    /// Adds a public video of `title` on channel `author`.
    pub fn add_video(&self, id: &str, title: &str, author: &str) {
        let video = Video::Public { title: title.to_owned(), author: author.to_owned() };
        self.inner.videos.lock().expect("videos").insert(id.to_owned(), video);
    }

    /// Adds a private video.
    pub fn add_private(&self, id: &str) {
        self.inner.videos.lock().expect("videos").insert(id.to_owned(), Video::Private);
    }
}

async fn record(State(inner): State<Arc<Inner>>, request: Request, next: Next) -> Response {
    inner.seen.push(request.method(), request.uri(), request.headers());
    next.run(request).await
}

/// The `v` of a `youtube.com/watch?v=…` link.
fn video_id(link: &str) -> Option<String> {
    let rest = link.strip_prefix("https://www.youtube.com/watch?")?;
    rest.split('&').find_map(|pair| pair.strip_prefix("v=")).map(str::to_owned)
}

async fn oembed(State(inner): State<Arc<Inner>>, Query(query): Query<HashMap<String, String>>) -> Response {
    if query.get("format").is_some_and(|f| f != "json") {
        return (StatusCode::NOT_IMPLEMENTED, "Not Implemented").into_response();
    }
    let Some(id) = query.get("url").and_then(|u| video_id(u)) else {
        return (StatusCode::BAD_REQUEST, "Bad Request").into_response();
    };
    let video = inner.videos.lock().expect("videos").get(&id).cloned();
    match video {
        Some(Video::Public { title, author }) => axum::Json(json!({
            "title": title,
            "author_name": author,
            "author_url": format!("https://www.youtube.com/@{}", author.replace(' ', "")),
            "type": "video",
            "height": 113,
            "width": 200,
            "version": "1.0",
            "provider_name": "YouTube",
            "provider_url": "https://www.youtube.com/",
            "thumbnail_height": 360,
            "thumbnail_width": 480,
            "thumbnail_url": format!("https://i.ytimg.com/vi/{id}/hqdefault.jpg"),
            "html": format!(
                "<iframe width=\"200\" height=\"113\" src=\"https://www.youtube.com/embed/{id}?feature=oembed\" \
                 frameborder=\"0\" allowfullscreen></iframe>"
            ),
        }))
        .into_response(),
        Some(Video::Private) => (StatusCode::UNAUTHORIZED, "Unauthorized").into_response(),
        None => (StatusCode::NOT_FOUND, "Not Found").into_response(),
    }
}
