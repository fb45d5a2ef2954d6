//! YouTube (and, when turned on, SoundCloud) links, looked up through the
//! operator's yt-dlp.
//!
//! YouTube is off unless the operator names a yt-dlp executable
//! (`TIMMYBOT_YTDLP`); SoundCloud also needs `TIMMYBOT_SOUNDCLOUD=on`
//! ([`SoundCloudLink`]: only the user and track names are kept, and the link
//! is rebuilt as `https://soundcloud.com/<user>/<track>`). A link is recognised here without touching the network
//! ([`YouTubeLink::parse`]); only the video id is kept, and yt-dlp is given a
//! link rebuilt from it (`https://www.youtube.com/watch?v=<id>`), so nothing a
//! member typed beyond the id reaches yt-dlp.
//!
//! [`YtDlp::lookup`] runs the executable directly (no shell) with fixed
//! arguments, the link as the single argument after `--`, a clean environment,
//! a timeout (the child is killed), a cap on what it may print and on how many
//! run at once. yt-dlp's output is untrusted: the media URL it names goes
//! through the outbound policy like any link (see `source.rs`), and neither
//! its stderr nor the media URL (signed parameters) is ever shown to members.

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::Command;
use tokio::sync::Semaphore;
use tracing::warn;

/// The arguments yt-dlp always gets, before `--` and the link.
///
/// `--ignore-config` so no config file can add options (`--exec`, output
/// paths); `-J` prints one JSON object and downloads nothing; the format
/// asks for an audio-only stream in a container the player decodes (MP4/AAC).
pub const YTDLP_ARGS: &[&str] = &[
    "--ignore-config",
    "--no-playlist",
    "--no-warnings",
    "--no-progress",
    "--socket-timeout",
    "10",
    "-f",
    "bestaudio[ext=m4a]/bestaudio[acodec^=mp4a]",
    "-J",
];

/// The format a SoundCloud lookup asks for instead of YouTube's (the same
/// other arguments): its MP3 stream, progressive first, else its HLS
/// stream of MP3 or Ogg Opus pieces, which the player reads (`hls.rs`).
pub const SOUNDCLOUD_FORMAT: &str = "bestaudio[ext=mp3][protocol^=http]/bestaudio[ext=mp3]/bestaudio[acodec=opus]";

/// Environment variables passed on to yt-dlp; everything else (the bot token,
/// cloud credentials) is withheld.
const PASSED_ENV: &[&str] = &[
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "TMPDIR",
    "XDG_CACHE_HOME",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
];

/// Request headers from yt-dlp's output that are passed on to the media
/// fetch; anything else (cookies above all) is dropped.
const PASSED_HEADERS: &[&str] = &["user-agent", "accept", "accept-language", "sec-fetch-mode", "referer", "origin"];

/// How much of stderr is kept for the log line (the tail).
const STDERR_KEEP: usize = 8 * 1024;

/// A YouTube link, recognised from its shape alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum YouTubeLink {
    /// One video, by its id (`[A-Za-z0-9_-]`, 1 to 32 characters).
    Video(String),
    /// A YouTube page that is not one video: a playlist, channel, search…
    NotAVideo,
}

impl YouTubeLink {
    /// Recognises `youtube.com/watch?v=`, `youtu.be/`, `youtube.com/shorts/`,
    /// `/embed/`, `/live/`, `music.youtube.com` and `youtube-nocookie.com`,
    /// with or without `www.`/`m.`. `None` when the host is not YouTube's.
    pub fn parse(url: &url::Url) -> Option<Self> {
        if !matches!(url.scheme(), "http" | "https") {
            return None;
        }
        let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
        let short = match host.as_str() {
            "youtu.be" | "www.youtu.be" => true,
            "youtube.com"
            | "www.youtube.com"
            | "m.youtube.com"
            | "music.youtube.com"
            | "youtube-nocookie.com"
            | "www.youtube-nocookie.com" => false,
            _ => return None,
        };
        let segments: Vec<&str> =
            url.path_segments().map(|s| s.filter(|p| !p.is_empty()).collect()).unwrap_or_default();
        let id = if short {
            segments.first().map(|s| (*s).to_owned())
        } else {
            match segments.as_slice() {
                ["watch"] => url.query_pairs().find(|(k, _)| k == "v").map(|(_, v)| v.into_owned()),
                ["shorts" | "embed" | "live" | "v", id, ..] => Some((*id).to_owned()),
                _ => None,
            }
        };
        Some(match id.filter(|id| is_video_id(id)) {
            Some(id) => Self::Video(id),
            None => Self::NotAVideo,
        })
    }

    /// The link yt-dlp is given, rebuilt from the id alone.
    pub fn canonical_url(&self) -> Option<String> {
        match self {
            Self::Video(id) => Some(format!("https://www.youtube.com/watch?v={id}")),
            Self::NotAVideo => None,
        }
    }
}

/// A SoundCloud link, recognised from its shape alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SoundCloudLink {
    /// One public track: `soundcloud.com/<user>/<track>`.
    Track {
        /// The user's permalink (`[A-Za-z0-9_-]`, 1 to 100 characters).
        user: String,
        /// The track's permalink (the same characters).
        track: String,
    },
    /// A SoundCloud page that is not one public track: a profile, a set
    /// (playlist), likes, a private (secret) link, a short `on.` link…
    NotATrack,
}

/// First path segments of soundcloud.com that are pages of the site, not
/// users.
const SOUNDCLOUD_PAGES: &[&str] = &[
    "discover",
    "search",
    "stream",
    "you",
    "charts",
    "upload",
    "pages",
    "settings",
    "messages",
    "notifications",
    "terms-of-use",
    "mobile",
    "people",
    "tags",
    "popular",
    "jobs",
    "imprint",
    "premium",
    "artists",
    "feed",
];
/// Second path segments that are a user's pages, not a track.
const SOUNDCLOUD_USER_PAGES: &[&str] = &[
    "sets",
    "likes",
    "tracks",
    "albums",
    "reposts",
    "followers",
    "following",
    "popular-tracks",
    "comments",
    "spotlight",
    "toptracks",
];

impl SoundCloudLink {
    /// Recognises `soundcloud.com/<user>/<track>` (with or without `www.` or
    /// `m.`, any query or fragment ignored). `None` when the host is not
    /// SoundCloud's.
    pub fn parse(url: &url::Url) -> Option<Self> {
        if !matches!(url.scheme(), "http" | "https") {
            return None;
        }
        let host = url.host_str()?.trim_end_matches('.').to_ascii_lowercase();
        match host.as_str() {
            "soundcloud.com" | "www.soundcloud.com" | "m.soundcloud.com" => {}
            // Short links need a redirect to be read; that is not done here.
            "on.soundcloud.com" | "api.soundcloud.com" | "w.soundcloud.com" => return Some(Self::NotATrack),
            _ => return None,
        }
        let segments: Vec<&str> =
            url.path_segments().map(|s| s.filter(|p| !p.is_empty()).collect()).unwrap_or_default();
        Some(match segments.as_slice() {
            [user, track]
                if is_permalink(user)
                    && is_permalink(track)
                    && !SOUNDCLOUD_PAGES.contains(&user.to_ascii_lowercase().as_str())
                    && !SOUNDCLOUD_USER_PAGES.contains(&track.to_ascii_lowercase().as_str()) =>
            {
                Self::Track { user: (*user).to_owned(), track: (*track).to_owned() }
            }
            _ => Self::NotATrack,
        })
    }

    /// The link yt-dlp is given, rebuilt from the user and track alone.
    pub fn canonical_url(&self) -> Option<String> {
        match self {
            Self::Track { user, track } => Some(format!("https://soundcloud.com/{user}/{track}")),
            Self::NotATrack => None,
        }
    }
}

fn is_permalink(segment: &str) -> bool {
    (1..=100).contains(&segment.len()) && segment.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn is_video_id(id: &str) -> bool {
    (1..=32).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// What yt-dlp said about a video.
#[derive(Clone)]
pub struct YtDlpTrack {
    /// The direct media URL. Untrusted and secret-ish (signed parameters):
    /// fetch it through the outbound client, never show or log it.
    pub media_url: url::Url,
    /// The video's title, control characters removed, at most 200 characters.
    pub title: Option<String>,
    /// How long the video lasts, when yt-dlp says.
    pub duration: Option<Duration>,
    /// Whether it is a live (or upcoming) stream, or one not served over
    /// plain http(s) (what YouTube lookups refuse).
    pub is_live: bool,
    /// Whether yt-dlp said it is live or upcoming (its own words only).
    pub announced_live: bool,
    /// Whether the stream is an HLS playlist (protocol `m3u8…`).
    pub hls: bool,
    /// The exact size of the stream in bytes, when yt-dlp says.
    pub filesize: Option<u64>,
    /// Request headers yt-dlp says the media fetch needs (a fixed set of
    /// harmless names only; never cookies).
    pub headers: HeaderMap,
}

impl std::fmt::Debug for YtDlpTrack {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The media URL carries signed parameters: only its host is shown.
        f.debug_struct("YtDlpTrack")
            .field("media_host", &self.media_url.host_str())
            .field("title", &self.title)
            .field("duration", &self.duration)
            .field("is_live", &self.is_live)
            .field("hls", &self.hls)
            .field("filesize", &self.filesize)
            .finish_non_exhaustive()
    }
}

/// Running yt-dlp failed. `Display` is safe to log: it never carries yt-dlp's
/// stderr, its path or the media URL.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum YtDlpError {
    /// Too many lookups are running; none freed up in time.
    #[error("too many yt-dlp lookups running")]
    Busy,
    /// The executable could not be started (missing, not executable).
    #[error("yt-dlp could not be started ({0})")]
    Spawn(std::io::ErrorKind),
    /// yt-dlp ran longer than allowed and was killed.
    #[error("yt-dlp timed out and was killed")]
    Timeout,
    /// yt-dlp exited unsuccessfully (video unavailable, private, blocked…).
    #[error("yt-dlp exited unsuccessfully (code {code:?})")]
    Failed {
        /// The exit code, `None` when killed by a signal.
        code: Option<i32>,
    },
    /// yt-dlp printed more than allowed and was killed.
    #[error("yt-dlp printed more than {limit} bytes")]
    OutputTooLarge {
        /// The limit.
        limit: usize,
    },
    /// yt-dlp's output is not what `-J` prints.
    #[error("yt-dlp output not understood: {0}")]
    BadOutput(&'static str),
    /// Reading its output failed.
    #[error("reading yt-dlp output failed ({0})")]
    Io(std::io::ErrorKind),
}

/// Runs the operator's yt-dlp. Cheap to clone; clones share the cap on
/// concurrent lookups.
#[derive(Clone)]
pub struct YtDlp {
    program: PathBuf,
    timeout: Duration,
    wait_for_slot: Duration,
    max_output: usize,
    slots: Arc<Semaphore>,
}

impl YtDlp {
    /// Default time one lookup may take before yt-dlp is killed.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
    /// Default number of yt-dlp processes running at once.
    pub const DEFAULT_MAX_CONCURRENT: usize = 2;
    /// Default wait for a free slot before a lookup is refused as busy.
    pub const DEFAULT_WAIT_FOR_SLOT: Duration = Duration::from_secs(10);
    /// Default cap on yt-dlp's stdout (a `-J` object is usually under 1 MiB).
    pub const DEFAULT_MAX_OUTPUT: usize = 4 * 1024 * 1024;

    /// Runs `program` with the default limits.
    pub fn new(program: PathBuf) -> Self {
        Self {
            program,
            timeout: Self::DEFAULT_TIMEOUT,
            wait_for_slot: Self::DEFAULT_WAIT_FOR_SLOT,
            max_output: Self::DEFAULT_MAX_OUTPUT,
            slots: Arc::new(Semaphore::new(Self::DEFAULT_MAX_CONCURRENT)),
        }
    }

    /// Sets how long one lookup may take.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Sets how many lookups run at once (at least one) and how long a lookup
    /// waits for a slot before it is refused as busy.
    #[must_use]
    pub fn with_concurrency(mut self, max_concurrent: usize, wait_for_slot: Duration) -> Self {
        self.slots = Arc::new(Semaphore::new(max_concurrent.max(1)));
        self.wait_for_slot = wait_for_slot;
        self
    }

    /// Sets how many bytes yt-dlp may print.
    #[must_use]
    pub fn with_max_output(mut self, max_output: usize) -> Self {
        self.max_output = max_output;
        self
    }

    /// Asks yt-dlp about `link`, passed verbatim as one argument after `--`
    /// so it can never be read as an option.
    ///
    /// # Errors
    /// Any [`YtDlpError`]; stderr goes to the log only (its last line,
    /// shortened, with links replaced).
    pub async fn lookup(&self, link: &str) -> Result<YtDlpTrack, YtDlpError> {
        self.lookup_with(YTDLP_ARGS, link).await
    }

    /// [`YtDlp::lookup`] of a SoundCloud track: the same arguments, limits
    /// and slots, with [`SOUNDCLOUD_FORMAT`] as the format.
    ///
    /// # Errors
    /// As [`YtDlp::lookup`].
    pub async fn lookup_soundcloud(&self, link: &str) -> Result<YtDlpTrack, YtDlpError> {
        let args = soundcloud_args();
        self.lookup_with(&args, link).await
    }

    async fn lookup_with(&self, args: &[&str], link: &str) -> Result<YtDlpTrack, YtDlpError> {
        let _slot = tokio::time::timeout(self.wait_for_slot, self.slots.acquire())
            .await
            .map_err(|_| YtDlpError::Busy)?
            .map_err(|_| YtDlpError::Busy)?;
        let stdout = self.run(args, link).await?;
        parse_output(&stdout)
    }

    async fn run(&self, args: &[&str], link: &str) -> Result<Vec<u8>, YtDlpError> {
        let mut command = Command::new(&self.program);
        command
            .args(args)
            .arg("--")
            .arg(link)
            .env_clear()
            .envs(PASSED_ENV.iter().filter_map(|k| std::env::var_os(k).map(|v| (k, v))))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| {
            warn!(error_kind = ?e.kind(), "yt-dlp could not be started");
            YtDlpError::Spawn(e.kind())
        })?;
        let stdout = child.stdout.take().ok_or(YtDlpError::Io(std::io::ErrorKind::BrokenPipe))?;
        let stderr = child.stderr.take().ok_or(YtDlpError::Io(std::io::ErrorKind::BrokenPipe))?;
        let max_output = self.max_output;
        let outcome = tokio::time::timeout(self.timeout, async {
            tokio::try_join!(read_capped(stdout, max_output), async { Ok(read_tail(stderr).await) }, async {
                child.wait().await.map_err(|e| YtDlpError::Io(e.kind()))
            })
        })
        .await;
        let (out, err, status) = match outcome {
            Ok(Ok(done)) => done,
            Ok(Err(error)) => {
                let _ = child.kill().await;
                warn!(%error, "yt-dlp lookup failed");
                return Err(error);
            }
            Err(_) => {
                let _ = child.kill().await;
                warn!(timeout_secs = self.timeout.as_secs_f32(), "yt-dlp timed out and was killed");
                return Err(YtDlpError::Timeout);
            }
        };
        if !status.success() {
            warn!(code = ?status.code(), stderr = %sanitize_stderr(&err), "yt-dlp exited unsuccessfully");
            return Err(YtDlpError::Failed { code: status.code() });
        }
        Ok(out)
    }
}

impl std::fmt::Debug for YtDlp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("YtDlp")
            .field("program", &self.program)
            .field("timeout", &self.timeout)
            .field("max_output", &self.max_output)
            .finish_non_exhaustive()
    }
}

/// [`YTDLP_ARGS`] with the format after `-f` replaced by
/// [`SOUNDCLOUD_FORMAT`].
pub fn soundcloud_args() -> Vec<&'static str> {
    let mut args = YTDLP_ARGS.to_vec();
    if let Some(at) = args.iter().position(|a| *a == "-f") {
        args[at + 1] = SOUNDCLOUD_FORMAT;
    }
    args
}

/// Reads all of `reader`, failing once more than `limit` bytes arrived.
async fn read_capped(mut reader: impl AsyncRead + Unpin, limit: usize) -> Result<Vec<u8>, YtDlpError> {
    let mut out = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = reader.read(&mut buf).await.map_err(|e| YtDlpError::Io(e.kind()))?;
        if n == 0 {
            return Ok(out);
        }
        if out.len() + n > limit {
            return Err(YtDlpError::OutputTooLarge { limit });
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// Drains `reader` (so the child never blocks on a full pipe), keeping the tail.
async fn read_tail(mut reader: impl AsyncRead + Unpin) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = reader.read(&mut buf).await {
        if n == 0 {
            break;
        }
        kept.extend_from_slice(&buf[..n]);
        if kept.len() > STDERR_KEEP {
            kept.drain(..kept.len() - STDERR_KEEP);
        }
    }
    kept
}

/// The last non-empty line of stderr, printable characters only, links
/// replaced, at most 200 characters: enough to tell "Video unavailable" from
/// "Sign in to confirm", never a signed URL.
pub(crate) fn sanitize_stderr(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    let line = text.lines().map(str::trim).rfind(|l| !l.is_empty()).unwrap_or("");
    let words: Vec<&str> = line.split_whitespace().map(|w| if w.contains("://") { "<link>" } else { w }).collect();
    words.join(" ").chars().filter(|c| !c.is_control()).take(200).collect()
}

fn parse_output(stdout: &[u8]) -> Result<YtDlpTrack, YtDlpError> {
    let value: serde_json::Value =
        serde_json::from_slice(stdout).map_err(|_| YtDlpError::BadOutput("not a JSON object"))?;
    let object = value.as_object().ok_or(YtDlpError::BadOutput("not a JSON object"))?;
    if object.get("_type").and_then(|t| t.as_str()).is_some_and(|t| t != "video") {
        return Err(YtDlpError::BadOutput("not a single video"));
    }
    let media_url = object
        .get("url")
        .and_then(|u| u.as_str())
        .ok_or(YtDlpError::BadOutput("no media url"))
        .and_then(|u| url::Url::parse(u).map_err(|_| YtDlpError::BadOutput("media url does not parse")))?;
    if !matches!(media_url.scheme(), "http" | "https") {
        return Err(YtDlpError::BadOutput("media url is not http(s)"));
    }
    let protocol = object.get("protocol").and_then(|p| p.as_str()).unwrap_or("https");
    let live_status = object.get("live_status").and_then(|s| s.as_str()).unwrap_or("");
    let announced_live = object.get("is_live").and_then(serde_json::Value::as_bool).unwrap_or(false)
        || matches!(live_status, "is_live" | "is_upcoming");
    let is_live = announced_live || !matches!(protocol, "http" | "https");
    let hls = protocol.starts_with("m3u8");
    let title = object
        .get("title")
        .and_then(|t| t.as_str())
        .map(|t| t.chars().filter(|c| !c.is_control()).take(200).collect::<String>())
        .map(|t| t.trim().to_owned())
        .filter(|t| !t.is_empty());
    let duration = object
        .get("duration")
        .and_then(serde_json::Value::as_f64)
        .filter(|d| d.is_finite() && *d >= 0.0)
        .map(|d| Duration::from_secs_f64(d.min(1e9)));
    let filesize = object.get("filesize").and_then(serde_json::Value::as_u64);
    let mut headers = HeaderMap::new();
    if let Some(map) = object.get("http_headers").and_then(|h| h.as_object()) {
        for (name, value) in map {
            let (Ok(name), Some(Ok(value))) =
                (HeaderName::from_bytes(name.as_bytes()), value.as_str().map(HeaderValue::from_str))
            else {
                continue;
            };
            if PASSED_HEADERS.contains(&name.as_str()) {
                headers.insert(name, value);
            }
        }
    }
    Ok(YtDlpTrack { media_url, title, duration, is_live, announced_live, hls, filesize, headers })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url(s: &str) -> url::Url {
        url::Url::parse(s).unwrap()
    }

    #[test]
    fn youtube_links_are_recognised_in_their_usual_shapes() {
        let video = Some(YouTubeLink::Video("dQw4w9WgXcQ".to_owned()));
        for link in [
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "https://youtube.com/watch?v=dQw4w9WgXcQ&t=42s",
            "http://m.youtube.com/watch?feature=share&v=dQw4w9WgXcQ",
            "https://music.youtube.com/watch?v=dQw4w9WgXcQ&list=RDAMVM",
            "https://youtu.be/dQw4w9WgXcQ?si=abc",
            "https://www.youtube.com/shorts/dQw4w9WgXcQ",
            "https://WWW.YouTube.com./embed/dQw4w9WgXcQ",
            "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ",
            "https://www.youtube.com/live/dQw4w9WgXcQ?feature=share",
        ] {
            assert_eq!(YouTubeLink::parse(&url(link)), video, "{link}");
        }
        for link in [
            "https://www.youtube.com/playlist?list=PL123",
            "https://www.youtube.com/@channel",
            "https://www.youtube.com/watch?v=bad;id",
            "https://www.youtube.com/watch?v=",
            "https://youtu.be/",
            "https://www.youtube.com/watch?v=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        ] {
            assert_eq!(YouTubeLink::parse(&url(link)), Some(YouTubeLink::NotAVideo), "{link}");
        }
        for link in
            ["https://notyoutube.com/watch?v=abc", "https://youtube.com.evil.example/watch?v=abc", "https://a.b/c"]
        {
            assert_eq!(YouTubeLink::parse(&url(link)), None, "{link}");
        }
        assert_eq!(
            YouTubeLink::Video("abc-_9".to_owned()).canonical_url().as_deref(),
            Some("https://www.youtube.com/watch?v=abc-_9")
        );
    }

    #[test]
    fn soundcloud_track_links_are_recognised_and_rebuilt_from_user_and_track() {
        let track = |u: &str, t: &str| Some(SoundCloudLink::Track { user: u.into(), track: t.into() });
        for link in [
            "https://soundcloud.com/forss/flickermood",
            "http://www.soundcloud.com/forss/flickermood?utm_source=x&si=1#t=0:10",
            "https://m.SoundCloud.com./forss/flickermood/",
        ] {
            assert_eq!(SoundCloudLink::parse(&url(link)), track("forss", "flickermood"), "{link}");
        }
        for link in [
            "https://soundcloud.com/forss",
            "https://soundcloud.com/forss/sets/soulhack",
            "https://soundcloud.com/forss/likes",
            "https://soundcloud.com/forss/flickermood/s-SecretToken",
            "https://soundcloud.com/discover/sets",
            "https://soundcloud.com/forss/flicker%20mood",
            "https://on.soundcloud.com/AbCdE",
            "https://soundcloud.com/",
        ] {
            assert_eq!(SoundCloudLink::parse(&url(link)), Some(SoundCloudLink::NotATrack), "{link}");
        }
        for link in
            ["https://soundcloud.com.evil.example/a/b", "https://notsoundcloud.com/a/b", "ftp://soundcloud.com/a/b"]
        {
            assert_eq!(SoundCloudLink::parse(&url(link)), None, "{link}");
        }
        assert_eq!(
            track("forss", "flickermood").unwrap().canonical_url().as_deref(),
            Some("https://soundcloud.com/forss/flickermood")
        );
        let args = soundcloud_args();
        assert_eq!(args.len(), YTDLP_ARGS.len());
        assert_eq!(args[args.iter().position(|a| *a == "-f").unwrap() + 1], SOUNDCLOUD_FORMAT);
        assert!(args.contains(&"--ignore-config") && args.contains(&"--no-playlist"));
    }

    #[test]
    fn output_is_read_strictly() {
        let ok = br#"{"_type":"video","url":"https://rr1.googlevideo.com/videoplayback?sig=x","title":"A\u0007 song",
            "duration":212.5,"filesize":3400000,"protocol":"https",
            "http_headers":{"User-Agent":"Mozilla/5.0","Cookie":"SID=secret","X-Evil":"1"}}"#;
        let track = parse_output(ok).unwrap();
        assert_eq!(track.title.as_deref(), Some("A song"));
        assert_eq!(track.duration, Some(Duration::from_secs_f64(212.5)));
        assert_eq!(track.filesize, Some(3_400_000));
        assert!(!track.is_live);
        assert_eq!(track.headers.len(), 1);
        assert!(track.headers.contains_key("user-agent"));
        assert!(!format!("{track:?}").contains("sig="), "Debug hides the signed URL");

        let live = br#"{"url":"https://a.b/x.m3u8","protocol":"m3u8_native","is_live":true}"#;
        let live = parse_output(live).unwrap();
        assert!(live.is_live && live.announced_live && live.hls);
        let on_demand = parse_output(br#"{"url":"https://a.b/x.m3u8","protocol":"m3u8_native"}"#).unwrap();
        assert!(on_demand.is_live && !on_demand.announced_live && on_demand.hls, "HLS: not for YouTube");
        for bad in [&b"not json"[..], b"[]", b"{}", br#"{"url":"file:///etc/passwd"}"#, br#"{"_type":"playlist"}"#] {
            assert!(matches!(parse_output(bad), Err(YtDlpError::BadOutput(_))));
        }
    }

    #[test]
    fn stderr_is_reduced_to_a_short_link_free_line() {
        let stderr =
            b"[youtube] x: Downloading\nERROR: [youtube] x: Video unavailable https://rr1.googlevideo.com/v?sig=1\n\n";
        assert_eq!(sanitize_stderr(stderr), "ERROR: [youtube] x: Video unavailable <link>");
        assert!(sanitize_stderr(&[b'a'; 1000]).len() <= 200);
    }
}
