//! The sandbox's own music sources: a fake Radio Browser directory with
//! three stations, a fake Audius catalog with three tracks, and the stream
//! server behind both, all on `127.0.0.2` so opening them to the bot leaves
//! `127.0.0.1` refused as in production. Beside them, fakes of Spotify,
//! Deezer, the iTunes lookup (Apple Music) and YouTube's oEmbed, whose
//! links name the catalog's tracks (and one it does not have), so pasting
//! them shows the matching.
//!
//! Every station and track is a tone of its own, so a test (or someone
//! watching `timmybot sandbox`) can tell from the `heard` line which one
//! plays.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use anyhow::Context as _;
use timmybot_sources::{ServiceBases, SourcesConfig};
use timmybot_test_support::audio::tone_wav;
use timmybot_test_support::fake_apis::apple::{FakeApple, collection_json, song_json};
use timmybot_test_support::fake_apis::audius::{
    FakeAudius, FakeAudiusCatalog, FakeAudiusPlaylist, FakeAudiusTrack, FakeAudiusUser, FakeStream,
};
use timmybot_test_support::fake_apis::deezer::{self, FakeDeezer};
use timmybot_test_support::fake_apis::radio_browser::{FakeRadioBrowser, FakeStation};
use timmybot_test_support::fake_apis::spotify::{self, FakeSpotify};
use timmybot_test_support::fake_apis::spotify_accounts::FakeSpotifyAccounts;
use timmybot_test_support::fake_apis::streams::{FakeStreams, Station};
use timmybot_test_support::fake_apis::youtube_oembed::FakeYouTubeOembed;

/// Where the sandbox's fake sources listen.
pub const FAKE_SOURCES_IP: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2));

/// A station of the sandbox directory: `(uuid, name, tag, country, hz)`.
pub const STATIONS: [(&str, &str, &str, &str, f64); 3] = [
    ("5a0d7b2e-0000-4000-8000-000000000001", "Sandbox Jazz FM", "jazz", "DE", 440.0),
    ("5a0d7b2e-0000-4000-8000-000000000002", "Sandbox Rock Radio", "rock", "GB", 660.0),
    ("5a0d7b2e-0000-4000-8000-000000000003", "Sandbox Talk", "talk", "FR", 330.0),
];
/// What the jazz station announces first, and after [`JAZZ_TITLE_CHANGE`].
pub const JAZZ_TITLES: [&str; 2] = ["The Sandbox Trio - First Tune", "The Sandbox Trio - Second Tune"];
/// When the jazz station's title changes, in audio sent.
pub const JAZZ_TITLE_CHANGE: Duration = Duration::from_secs(6);
/// The catalog's tracks: `(id, title, hz)`, by one artist, 4 s each.
pub const TRACKS: [(&str, &str, f64); 3] =
    [("SbxA1", "Night Drive", 523.25), ("SbxB2", "Morning Walk", 587.33), ("SbxC3", "Evening Swim", 698.46)];
/// The catalog's artist.
pub const ARTIST: &str = "Sandbox Synths";
/// The catalog's playlist (all three tracks, in order).
pub const PLAYLIST_ID: &str = "SbxPL1";
/// How long each catalog track lasts.
pub const TRACK_SECS: f64 = 4.0;
/// The ISRC of the catalog's second track (and of the Deezer track).
pub const MORNING_WALK_ISRC: &str = "QZSBX2400002";

/// The fake Spotify app's client id, written to the sandbox's secrets file.
pub const SPOTIFY_CLIENT_ID: &str = "sandbox-spotify-client";
/// The fake Spotify app's client secret.
pub const SPOTIFY_CLIENT_SECRET: &str = "sandbox-spotify-secret";
/// A Spotify playlist of four tracks by [`ARTIST`]: the catalog's three,
/// with [`MISSING_TITLE`] (which the catalog lacks) second.
pub const SPOTIFY_PLAYLIST_LINK: &str = "https://open.spotify.com/playlist/SbxSpotifyPlaylist0001";
/// The Spotify playlist's name.
pub const SPOTIFY_PLAYLIST_NAME: &str = "Sandbox Road Trip";
/// The sandbox member's Spotify account, linked with `/link spotify`
/// against the fake accounts service: its name.
pub const LINKED_ACCOUNT_NAME: &str = "Sandbox Member";
/// The linked account's playlist: Evening Swim, then Night Drive.
pub const LINKED_PLAYLIST_NAME: &str = "Sandbox Favourites";
/// The playlist's track that no catalog has.
pub const MISSING_TITLE: &str = "Lost Signal";
/// A Deezer track: the catalog's "Morning Walk", with its ISRC.
pub const DEEZER_TRACK_LINK: &str = "https://www.deezer.com/track/9000002";
/// An Apple Music album of two of the catalog's tracks (Evening Swim, then
/// Night Drive).
pub const APPLE_ALBUM_LINK: &str = "https://music.apple.com/us/album/sandbox-sessions/1700000001";
/// A YouTube video titled "Sandbox Synths - Evening Swim" (read through
/// oEmbed while yt-dlp is off).
pub const YOUTUBE_VIDEO_LINK: &str = "https://www.youtube.com/watch?v=SbxVideo001";

/// The running fakes; they stop when dropped.
#[derive(Debug)]
pub struct SandboxSources {
    /// The stream server (stations and track files).
    pub streams: FakeStreams,
    /// The directory.
    pub radio: FakeRadioBrowser,
    /// The catalog.
    pub audius: FakeAudius,
    /// Spotify's accounts service and Web API.
    pub spotify: FakeSpotify,
    /// Spotify's accounts service and Web API for a member's own account
    /// (authorization code with PKCE): the sandbox member's library.
    pub spotify_accounts: FakeSpotifyAccounts,
    /// Deezer's API.
    pub deezer: FakeDeezer,
    /// The iTunes lookup, for Apple Music links.
    pub apple: FakeApple,
    /// YouTube's oEmbed.
    pub youtube: FakeYouTubeOembed,
}

impl SandboxSources {
    /// Starts the stream server, the directory and the catalog.
    ///
    /// # Errors
    /// A port cannot be bound on [`FAKE_SOURCES_IP`].
    pub async fn start() -> anyhow::Result<Self> {
        let streams = FakeStreams::start_on(FAKE_SOURCES_IP).await.context("fake streams")?;
        let mut stations = Vec::new();
        for (uuid, name, tag, country, hz) in STATIONS {
            let mut station = Station::tone(hz).icy_name(name);
            if tag == "jazz" {
                station = station.title(JAZZ_TITLES[0]).then_title_after(JAZZ_TITLE_CHANGE, JAZZ_TITLES[1]);
            }
            streams.add_station(tag, station);
            stations.push(FakeStation {
                tags: vec![tag.to_owned()],
                country_code: country.to_owned(),
                ..FakeStation::new(uuid, name, streams.station_url(tag))
            });
        }
        let radio = FakeRadioBrowser::start_on(FAKE_SOURCES_IP, stations).await.context("fake radio browser")?;
        for (id, _, hz) in TRACKS {
            streams.serve(&format!("/audius/{id}.wav"), "audio/wav", tone_wav(hz, TRACK_SECS)?);
        }
        let catalog = FakeAudiusCatalog {
            users: vec![FakeAudiusUser::new("sbxu1", "sandboxsynths", ARTIST)],
            tracks: TRACKS
                .iter()
                .map(|(id, title, _)| FakeAudiusTrack {
                    duration_secs: TRACK_SECS as u64,
                    isrc: (*id == "SbxB2").then(|| MORNING_WALK_ISRC.to_owned()),
                    ..FakeAudiusTrack::new(*id, *title, "sbxu1")
                })
                .collect(),
            playlists: vec![FakeAudiusPlaylist::new(
                PLAYLIST_ID,
                "Sandbox Mix",
                "sbxu1",
                TRACKS.iter().map(|t| t.0.to_owned()).collect(),
            )],
        };
        let audius = FakeAudius::start_on(FAKE_SOURCES_IP, catalog).await.context("fake audius")?;
        audius.set_stream(FakeStream::RedirectEach(streams.url("/audius/{id}.wav")));
        let (spotify, deezer, apple, youtube) = start_service_fakes().await?;
        let spotify_accounts = start_member_spotify().await?;
        Ok(Self { streams, radio, audius, spotify, spotify_accounts, deezer, apple, youtube })
    }

    /// The platform's sources configuration pointing at these fakes.
    pub fn config(&self) -> SourcesConfig {
        let url = |base: String| url::Url::parse(&base).expect("a fake's base URL parses");
        SourcesConfig {
            radio_servers: vec![url(self.radio.base_url())],
            audius_hosts: vec![url(self.audius.base_url())],
            audius_app_name: "timmybot-sandbox".to_owned(),
            service_bases: Some(ServiceBases {
                spotify_api: url(self.spotify.base_url()),
                spotify_accounts: url(self.spotify.base_url()),
                deezer: url(self.deezer.base_url()),
                apple: url(self.apple.base_url()),
                youtube: url(self.youtube.base_url()),
            }),
            ..SourcesConfig::default()
        }
    }

    /// The tone of the station called `name`.
    pub fn station_hz(name: &str) -> Option<f64> {
        STATIONS.iter().find(|s| s.1 == name).map(|s| s.4)
    }
}

/// The linked-account fake: the member's playlist (two of the catalog's
/// tracks, in an order of their own) and one liked song.
async fn start_member_spotify() -> anyhow::Result<FakeSpotifyAccounts> {
    let millis = (TRACK_SECS * 1000.0) as u64;
    let fake =
        FakeSpotifyAccounts::start_on(FAKE_SOURCES_IP, SPOTIFY_CLIENT_ID).await.context("fake spotify accounts")?;
    fake.set_display_name(LINKED_ACCOUNT_NAME);
    let track = |n: usize, title: &str| {
        spotify::track_json(&format!("SbxLinkedTrack{n:08}"), title, &[ARTIST], millis, &format!("QZSBX26{n:05}"))
    };
    let entries = vec![spotify::item_entry(track(1, TRACKS[2].1)), spotify::item_entry(track(2, TRACKS[0].1))];
    fake.add_playlist("SbxLinkedPlaylist00001", LINKED_PLAYLIST_NAME, entries);
    fake.add_liked(track(3, TRACKS[1].1));
    Ok(fake)
}

/// The music services whose links name the catalog's tracks, on
/// [`FAKE_SOURCES_IP`].
async fn start_service_fakes() -> anyhow::Result<(FakeSpotify, FakeDeezer, FakeApple, FakeYouTubeOembed)> {
    let millis = (TRACK_SECS * 1000.0) as u64;
    let spotify = FakeSpotify::start_on(FAKE_SOURCES_IP, SPOTIFY_CLIENT_ID, SPOTIFY_CLIENT_SECRET)
        .await
        .context("fake spotify")?;
    let titles = [TRACKS[0].1, MISSING_TITLE, TRACKS[1].1, TRACKS[2].1];
    let entries = titles
        .iter()
        .enumerate()
        .map(|(n, title)| {
            // Spotify ids are 22 base62 characters; the ISRCs are the
            // sandbox's own, none the catalog's (they match by name).
            let id = format!("SbxSpotifyTrack{n:07}");
            spotify::entry(spotify::track_json(&id, title, &[ARTIST], millis, &format!("QZSBX25{n:05}")))
        })
        .collect();
    let playlist_id = SPOTIFY_PLAYLIST_LINK.rsplit('/').next().unwrap_or_default();
    spotify.add_playlist(playlist_id, SPOTIFY_PLAYLIST_NAME, entries);

    let deezer = FakeDeezer::start_on(FAKE_SOURCES_IP).await.context("fake deezer")?;
    deezer.add_track(deezer::track_json(9_000_002, TRACKS[1].1, ARTIST, TRACK_SECS as u64, MORNING_WALK_ISRC));

    let apple = FakeApple::start_on(FAKE_SOURCES_IP).await.context("fake itunes")?;
    apple.add_album(
        "us",
        collection_json(1_700_000_001, "Sandbox Sessions", ARTIST, 2),
        vec![
            song_json(1_700_000_011, 1_700_000_001, TRACKS[2].1, ARTIST, millis, 1, 1),
            song_json(1_700_000_012, 1_700_000_001, TRACKS[0].1, ARTIST, millis, 1, 2),
        ],
    );

    let youtube = FakeYouTubeOembed::start_on(FAKE_SOURCES_IP).await.context("fake youtube oembed")?;
    youtube.add_video("SbxVideo001", &format!("{ARTIST} - {}", TRACKS[2].1), "Sandbox Synths - Topic");
    Ok((spotify, deezer, apple, youtube))
}
