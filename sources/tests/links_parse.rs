//! Which links `parse_link` reads, and which it refuses.

use timmybot_sources::links::{LinkKind, ServiceLink, parse_link};
use url::Url;

fn parse(link: &str) -> Option<ServiceLink> {
    parse_link(&Url::parse(link).expect("a url"))
}

fn spotify(kind: LinkKind, id: &str) -> Option<ServiceLink> {
    Some(ServiceLink::Spotify { kind, id: id.to_owned() })
}

fn deezer(kind: LinkKind, id: &str) -> Option<ServiceLink> {
    Some(ServiceLink::Deezer { kind, id: id.to_owned() })
}

fn apple(kind: LinkKind, id: &str, storefront: &str, track: Option<&str>) -> Option<ServiceLink> {
    Some(ServiceLink::AppleMusic {
        kind,
        id: id.to_owned(),
        storefront: storefront.to_owned(),
        track: track.map(str::to_owned),
    })
}

fn youtube(video: Option<&str>, playlist: Option<&str>) -> Option<ServiceLink> {
    Some(ServiceLink::YouTube { video: video.map(str::to_owned), playlist: playlist.map(str::to_owned) })
}

#[test]
fn spotify_links() {
    let id = "4uLU6hMCjMI75M1A2tKUQC";
    assert_eq!(parse(&format!("https://open.spotify.com/track/{id}")), spotify(LinkKind::Track, id));
    assert_eq!(parse(&format!("https://open.spotify.com/track/{id}?si=abc123def")), spotify(LinkKind::Track, id));
    assert_eq!(parse(&format!("https://open.spotify.com/intl-de/album/{id}")), spotify(LinkKind::Album, id));
    assert_eq!(parse(&format!("https://open.spotify.com/playlist/{id}?si=x&pt=y")), spotify(LinkKind::Playlist, id));
    assert_eq!(parse(&format!("https://open.spotify.com/embed/track/{id}")), spotify(LinkKind::Track, id));
    assert_eq!(parse(&format!("https://open.spotify.com/user/someone/playlist/{id}")), spotify(LinkKind::Playlist, id));
    assert_eq!(parse(&format!("spotify:track:{id}")), spotify(LinkKind::Track, id));
    // Wrong length, wrong characters, kinds we do not read, other hosts.
    assert_eq!(parse("https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKUQ"), None);
    assert_eq!(parse("https://open.spotify.com/track/4uLU6hMCjMI75M1A2tKU-C"), None);
    assert_eq!(parse(&format!("https://open.spotify.com/artist/{id}")), None);
    assert_eq!(parse(&format!("https://open.spotify.com/episode/{id}")), None);
    assert_eq!(parse(&format!("https://open.spotify.evil.example/track/{id}")), None);
    assert_eq!(parse(&format!("ftp://open.spotify.com/track/{id}")), None);
}

#[test]
fn deezer_links() {
    assert_eq!(parse("https://www.deezer.com/track/3135556"), deezer(LinkKind::Track, "3135556"));
    assert_eq!(parse("https://www.deezer.com/fr/album/302127"), deezer(LinkKind::Album, "302127"));
    assert_eq!(parse("https://www.deezer.com/pt-br/playlist/908622995?utm=x"), deezer(LinkKind::Playlist, "908622995"));
    assert_eq!(parse("https://deezer.com/en/track/1"), deezer(LinkKind::Track, "1"));
    assert_eq!(parse("https://www.deezer.com/track/12ab"), None);
    assert_eq!(parse("https://www.deezer.com/artist/27"), None);
    assert_eq!(parse("https://www.deezer.com/track/123456789012345678901"), None, "too long for an id");
}

#[test]
fn apple_music_links() {
    assert_eq!(
        parse("https://music.apple.com/us/album/random-access-memories/617154241"),
        apple(LinkKind::Album, "617154241", "us", None)
    );
    assert_eq!(
        parse("https://music.apple.com/gb/album/random-access-memories/617154241?i=617154366"),
        apple(LinkKind::Album, "617154241", "gb", Some("617154366"))
    );
    assert_eq!(parse("https://music.apple.com/us/album/617154241"), apple(LinkKind::Album, "617154241", "us", None));
    assert_eq!(
        parse("https://music.apple.com/jp/song/get-lucky/617154366"),
        apple(LinkKind::Track, "617154366", "jp", None)
    );
    assert_eq!(
        parse("https://music.apple.com/us/playlist/todays-hits/pl.f4d106fed2bd41149aaacabb233eb5eb"),
        apple(LinkKind::Playlist, "pl.f4d106fed2bd41149aaacabb233eb5eb", "us", None)
    );
    assert_eq!(
        parse("https://music.apple.com/us/playlist/mine/pl.u-GgA5kxvUM4x0mz"),
        apple(LinkKind::Playlist, "pl.u-GgA5kxvUM4x0mz", "us", None)
    );
    // A malformed ?i= is dropped, the album stays.
    assert_eq!(
        parse("https://music.apple.com/us/album/x/617154241?i=abc"),
        apple(LinkKind::Album, "617154241", "us", None)
    );
    assert_eq!(parse("https://music.apple.com/usa/album/x/617154241"), None);
    assert_eq!(parse("https://music.apple.com/us/album/x/61715424a"), None);
    assert_eq!(parse("https://music.apple.com/us/artist/daft-punk/5468295"), None);
    assert_eq!(parse("https://music.apple.com/us/playlist/x/617154241"), None);
}

#[test]
fn youtube_links() {
    let v = "dQw4w9WgXcQ";
    let list = "PLrAXtmErZgOeiKm4sgNOknGvNjby9efdf";
    assert_eq!(parse(&format!("https://www.youtube.com/watch?v={v}")), youtube(Some(v), None));
    assert_eq!(parse(&format!("https://youtube.com/watch?feature=share&v={v}&t=42")), youtube(Some(v), None));
    assert_eq!(parse(&format!("https://m.youtube.com/watch?v={v}&list={list}")), youtube(Some(v), Some(list)));
    assert_eq!(parse(&format!("https://music.youtube.com/watch?v={v}")), youtube(Some(v), None));
    assert_eq!(parse(&format!("https://youtu.be/{v}?si=abc")), youtube(Some(v), None));
    assert_eq!(parse(&format!("https://youtu.be/{v}?list={list}")), youtube(Some(v), Some(list)));
    assert_eq!(parse(&format!("https://www.youtube.com/shorts/{v}")), youtube(Some(v), None));
    assert_eq!(parse(&format!("https://www.youtube.com/playlist?list={list}")), youtube(None, Some(list)));
    assert_eq!(parse(&format!("https://music.youtube.com/playlist?list={list}")), youtube(None, Some(list)));
    assert_eq!(parse("https://www.youtube.com/watch?v=short"), None);
    assert_eq!(parse("https://www.youtube.com/watch?v=dQw4w9WgXc%21"), None);
    assert_eq!(parse("https://www.youtube.com/@RickAstleyYT"), None);
    assert_eq!(parse("https://www.youtube.com/"), None);
}

#[test]
fn other_links_are_not_service_links() {
    assert_eq!(parse("https://example.com/track/3135556"), None);
    assert_eq!(parse("https://audius.co/artist/track"), None);
    assert_eq!(parse("https://stream.example.org/radio.mp3"), None);
}
