//! An http(s) track opened with one GET through the outbound client.
//!
//! songbird's own `HttpRequest` would work, but a size check before it took
//! a HEAD request first (the track opened twice), and a stream that
//! announces no size could be read without end. This source checks the
//! announced size on the GET's own response, before reading the body, and
//! counts the bytes actually read, failing the stream once they pass the
//! limit. A resume after a read error (and so a backward seek) asks for the
//! rest with a `Range` request when the server accepts ranges.

use std::io::{Error as IoError, ErrorKind, SeekFrom};
use std::pin::Pin;
use std::task::{Context, Poll};

use async_trait::async_trait;
use bytes::Bytes;
use futures_util::{StreamExt, TryStreamExt};
use reqwest::header::{ACCEPT_RANGES, CONTENT_LENGTH, RANGE};
use songbird::input::{AsyncAdapterStream, AsyncMediaSource, AudioStream, AudioStreamError, Compose};
use symphonia::core::io::MediaSource;
use timmybot_sources::icy::IcyDemuxer;
use tokio::io::{AsyncRead, AsyncSeek, ReadBuf};
use tokio::sync::mpsc;
use tokio_util::io::StreamReader;

/// The body was (or announced it would be) larger than allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the track is larger than {limit} bytes")]
pub struct TooLarge {
    /// The limit.
    pub limit: u64,
}

/// Read-ahead of the adapter between the async stream and the decoder.
const BUFFER: usize = 64 * 1024;

/// A link to open, with the client and the byte limit.
#[derive(Clone)]
pub(crate) struct LimitedHttp {
    client: reqwest::Client,
    url: url::Url,
    max_bytes: u64,
    /// The limit of a live (ICY) stream, which has no end of its own.
    max_live_bytes: u64,
    /// Where a radio's ICY titles go.
    titles: Option<mpsc::UnboundedSender<String>>,
}

impl LimitedHttp {
    /// A source for `url` through `client` (the outbound policy's),
    /// reading at most `max_bytes`.
    pub(crate) fn new(client: reqwest::Client, url: url::Url, max_bytes: u64) -> Self {
        Self { client, url, max_bytes, max_live_bytes: max_bytes, titles: None }
    }

    /// Asks the server for ICY metadata and sends the titles it announces
    /// to `titles`; a stream that answers with ICY headers is live and read
    /// up to `max_live_bytes` instead.
    pub(crate) fn with_stream_titles(mut self, titles: mpsc::UnboundedSender<String>, max_live_bytes: u64) -> Self {
        self.titles = Some(titles);
        self.max_live_bytes = max_live_bytes;
        self
    }

    /// The GET of this track, from `offset` when resuming, asking for ICY
    /// metadata when titles are wanted.
    pub(crate) fn request(&self, offset: u64) -> reqwest::RequestBuilder {
        let mut request = self.client.get(self.url.clone());
        if offset > 0 {
            request = request.header(RANGE, format!("bytes={offset}-"));
        }
        if self.titles.is_some() {
            // Icecast and Shoutcast interleave metadata only when asked.
            request = request.header("icy-metadata", "1");
        }
        request
    }

    /// One GET, from `offset` when resuming.
    async fn open(&self, offset: u64) -> Result<LimitedStream, AudioStreamError> {
        let response = self.request(offset).send().await.map_err(|e| AudioStreamError::Fail(Box::new(e)))?;
        self.stream_from(response, offset, Bytes::new())
    }

    /// Plays `response`, the answer to [`LimitedHttp::request`] (whose
    /// headers the caller already looked at), with `prefix`, the start of
    /// its body the caller already read, first.
    pub(crate) fn with_response(self, response: reqwest::Response, prefix: Bytes) -> ReceivedHttp {
        ReceivedHttp { source: self, first: Some((response, prefix)) }
    }

    /// The counted body of `response`, a GET from `offset`.
    fn stream_from(
        &self,
        response: reqwest::Response,
        offset: u64,
        prefix: Bytes,
    ) -> Result<LimitedStream, AudioStreamError> {
        if !response.status().is_success() {
            let status = response.status();
            return Err(AudioStreamError::Fail(format!("http status {status}").into()));
        }
        let headers = response.headers();
        let announced =
            headers.get(CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.trim().parse::<u64>().ok());
        // Refused before a byte of the body is read.
        if announced.is_some_and(|len| offset.saturating_add(len) > self.max_bytes) {
            return Err(AudioStreamError::Fail(Box::new(TooLarge { limit: self.max_bytes })));
        }
        let ranges = headers.get(ACCEPT_RANGES).and_then(|v| v.to_str().ok()) == Some("bytes");
        // A bad metaint plays the bytes as they come (no titles).
        let demuxer =
            headers.get("icy-metaint").and_then(|v| v.to_str().ok()).and_then(|v| IcyDemuxer::from_header(v).ok());
        let live = is_live(headers);
        let prefix = (!prefix.is_empty()).then_some(Ok(prefix));
        let chunks = futures_util::stream::iter(prefix).chain(response.bytes_stream().map_err(IoError::other));
        let body = StreamReader::new(chunks);
        let body: Box<dyn AsyncRead + Send + Sync + Unpin> = match (demuxer, self.titles.clone()) {
            (Some(demuxer), Some(titles)) => Box::new(IcyReader::new(body, demuxer, titles)),
            _ => Box::new(body),
        };
        Ok(LimitedStream {
            body,
            read: offset,
            max_bytes: if live { self.max_live_bytes } else { self.max_bytes },
            len: announced.map(|len| offset + len),
            resume: ranges.then(|| self.clone()),
        })
    }
}

/// Whether a response is a live stream: it answers with ICY headers and
/// announces no size, so it has no end of its own.
pub(crate) fn is_live(headers: &reqwest::header::HeaderMap) -> bool {
    (headers.contains_key("icy-metaint") || headers.contains_key("icy-name")) && !headers.contains_key(CONTENT_LENGTH)
}

/// A [`LimitedHttp`] whose first GET was already sent (and its headers
/// looked at): the first open plays that response, so a link is fetched
/// once; a later open (a resume) sends a new GET.
pub(crate) struct ReceivedHttp {
    source: LimitedHttp,
    first: Option<(reqwest::Response, Bytes)>,
}

#[async_trait]
impl Compose for ReceivedHttp {
    fn create(&mut self) -> Result<AudioStream<Box<dyn MediaSource>>, AudioStreamError> {
        Err(AudioStreamError::Unsupported)
    }

    async fn create_async(&mut self) -> Result<AudioStream<Box<dyn MediaSource>>, AudioStreamError> {
        let stream = match self.first.take() {
            Some((response, prefix)) => self.source.stream_from(response, 0, prefix)?,
            None => self.source.open(0).await?,
        };
        Ok(AudioStream { input: Box::new(AsyncAdapterStream::new(Box::new(stream), BUFFER)) as Box<dyn MediaSource> })
    }

    fn should_create_async(&self) -> bool {
        true
    }
}

#[async_trait]
impl Compose for LimitedHttp {
    fn create(&mut self) -> Result<AudioStream<Box<dyn MediaSource>>, AudioStreamError> {
        Err(AudioStreamError::Unsupported)
    }

    async fn create_async(&mut self) -> Result<AudioStream<Box<dyn MediaSource>>, AudioStreamError> {
        let stream = self.open(0).await?;
        Ok(AudioStream { input: Box::new(AsyncAdapterStream::new(Box::new(stream), BUFFER)) as Box<dyn MediaSource> })
    }

    fn should_create_async(&self) -> bool {
        true
    }
}

/// A body read to the decoder, its bytes counted against a limit.
pub(crate) struct LimitedStream {
    body: Box<dyn AsyncRead + Send + Sync + Unpin>,
    /// Bytes of the track read so far (from its start).
    read: u64,
    max_bytes: u64,
    len: Option<u64>,
    resume: Option<LimitedHttp>,
}

impl LimitedStream {
    /// `body`, failing once more than `max_bytes` were read from it; not
    /// resumable (a stream assembled from several responses, like HLS).
    pub(crate) fn counted(body: Box<dyn AsyncRead + Send + Sync + Unpin>, max_bytes: u64) -> Self {
        Self { body, read: 0, max_bytes, len: None, resume: None }
    }

    /// The stream as songbird reads it, through its async adapter.
    pub(crate) fn into_audio_stream(self) -> AudioStream<Box<dyn MediaSource>> {
        AudioStream { input: Box::new(AsyncAdapterStream::new(Box::new(self), BUFFER)) as Box<dyn MediaSource> }
    }
}

impl AsyncRead for LimitedStream {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.body).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = polled {
            self.read += (buf.filled().len() - before) as u64;
            if self.read > self.max_bytes {
                // A stream that announced nothing (or lied) ends here.
                return Poll::Ready(Err(IoError::other(TooLarge { limit: self.max_bytes })));
            }
        }
        polled
    }
}

impl AsyncSeek for LimitedStream {
    fn start_seek(self: Pin<&mut Self>, _position: SeekFrom) -> std::io::Result<()> {
        Err(ErrorKind::Unsupported.into())
    }

    fn poll_complete(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<u64>> {
        Poll::Ready(Err(ErrorKind::Unsupported.into()))
    }
}

#[async_trait]
impl AsyncMediaSource for LimitedStream {
    fn is_seekable(&self) -> bool {
        false
    }

    async fn byte_len(&self) -> Option<u64> {
        self.len
    }

    async fn try_resume(&mut self, offset: u64) -> Result<Box<dyn AsyncMediaSource>, AudioStreamError> {
        match &self.resume {
            Some(source) => source.open(offset).await.map(|s| Box::new(s) as Box<dyn AsyncMediaSource>),
            None => Err(AudioStreamError::Unsupported),
        }
    }
}

/// Whether an open failed because the track is too large.
pub(crate) fn is_too_large(error: &AudioStreamError) -> bool {
    matches!(error, AudioStreamError::Fail(inner) if inner.downcast_ref::<TooLarge>().is_some())
}

/// A radio's body with its ICY metadata taken out: the decoder reads the
/// audio alone, and each new `StreamTitle` goes to `titles`.
struct IcyReader<R> {
    inner: R,
    demuxer: IcyDemuxer,
    /// Audio demuxed but not read yet.
    pending: Vec<u8>,
    at: usize,
    raw: Box<[u8]>,
    titles: mpsc::UnboundedSender<String>,
    last_title: Option<String>,
}

impl<R> IcyReader<R> {
    fn new(inner: R, demuxer: IcyDemuxer, titles: mpsc::UnboundedSender<String>) -> Self {
        Self { inner, demuxer, pending: Vec::new(), at: 0, raw: vec![0; 16 * 1024].into(), titles, last_title: None }
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for IcyReader<R> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = &mut *self;
        loop {
            if this.at < this.pending.len() {
                let n = buf.remaining().min(this.pending.len() - this.at);
                buf.put_slice(&this.pending[this.at..this.at + n]);
                this.at += n;
                return Poll::Ready(Ok(()));
            }
            this.pending.clear();
            this.at = 0;
            let mut raw = ReadBuf::new(&mut this.raw);
            match Pin::new(&mut this.inner).poll_read(cx, &mut raw) {
                Poll::Ready(Ok(())) if raw.filled().is_empty() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(())) => {
                    let filled = raw.filled().len();
                    let metadata = this.demuxer.feed(&this.raw[..filled], &mut this.pending);
                    if let Some(title) = metadata.and_then(|m| m.stream_title)
                        && this.last_title.as_ref() != Some(&title)
                    {
                        this.last_title = Some(title.clone());
                        // The player may be gone already; the audio goes on.
                        let _ = this.titles.send(title);
                    }
                }
                other => return other,
            }
        }
    }
}
