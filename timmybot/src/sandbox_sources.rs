//! The sandbox's own music sources: a fake Radio Browser directory with
//! three stations, a fake Audius catalog with three tracks, and the stream
//! server behind both, all on `127.0.0.2` so opening them to the bot leaves
//! `127.0.0.1` refused as in production.
//!
//! Every station and track is a tone of its own, so a test (or someone
//! watching `timmybot sandbox`) can tell from the `heard` line which one
//! plays.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use anyhow::Context as _;
use timmybot_sources::SourcesConfig;
use timmybot_test_support::audio::tone_wav;
use timmybot_test_support::fake_apis::audius::{
    FakeAudius, FakeAudiusCatalog, FakeAudiusPlaylist, FakeAudiusTrack, FakeAudiusUser, FakeStream,
};
use timmybot_test_support::fake_apis::radio_browser::{FakeRadioBrowser, FakeStation};
use timmybot_test_support::fake_apis::streams::{FakeStreams, Station};

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

/// The running fakes; they stop when dropped.
#[derive(Debug)]
pub struct SandboxSources {
    /// The stream server (stations and track files).
    pub streams: FakeStreams,
    /// The directory.
    pub radio: FakeRadioBrowser,
    /// The catalog.
    pub audius: FakeAudius,
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
        Ok(Self { streams, radio, audius })
    }

    /// The platform's sources configuration pointing at these fakes.
    pub fn config(&self) -> SourcesConfig {
        let url = |base: String| url::Url::parse(&base).expect("a fake's base URL parses");
        SourcesConfig {
            radio_servers: vec![url(self.radio.base_url())],
            audius_hosts: vec![url(self.audius.base_url())],
            audius_app_name: "timmybot-sandbox".to_owned(),
            ..SourcesConfig::default()
        }
    }

    /// The tone of the station called `name`.
    pub fn station_hz(name: &str) -> Option<f64> {
        STATIONS.iter().find(|s| s.1 == name).map(|s| s.4)
    }
}
