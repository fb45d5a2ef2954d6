//! `AccountLinks` over the real SQLite store, the fake Spotify (accounts
//! and Web API) over real HTTP and the fake Discord's REST for DMs: a link
//! from `/link` to the callback, the library imported; a replayed or
//! unknown state changes nothing; concurrent refreshers ask Spotify once and
//! keep a rotated refresh token; `invalid_grant` leads to relink; key
//! rotation reads old records; unlink and forget leave nothing behind.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use timmybot_accounts::{KeyRing, SealedToken, TokenKey, TokenVault};
use timmybot_core::{
    AccountStore, Clock, LinkState, ManualClock, MemberPlaylist, PlaylistEntry, PlaylistName, PlaylistOrigin,
    PlaylistStore, Provider, Secret, UserId,
};
use timmybot_discord_rest::DiscordRestClient;
use timmybot_embedded::SqliteStore;
use timmybot_linking::{
    AccountLinks, LinkError, LinkPrompt, SPOTIFY_DEVELOPMENT_GRANT, SpotifyAuth, SpotifyLibrary, SpotifyLinking,
};
use timmybot_outbound::{OutboundPolicy, SafeHttpClient};
use timmybot_test_support::fake_apis::spotify::{item_entry, track_json};
use timmybot_test_support::fake_apis::spotify_accounts::FakeSpotifyAccounts;
use timmybot_test_support::fake_discord::{FakeDiscord, FakeDiscordConfig};
use url::Url;

const CLIENT_ID: &str = "fake-spotify-app";
const CALLBACK: &str = "https://bot.example/oauth/spotify/callback";
const MEMBER: u64 = 7;
const NOW: u64 = 1_800_000_000;

struct World {
    spotify: FakeSpotifyAccounts,
    discord: FakeDiscord,
    store: Arc<SqliteStore>,
    clock: Arc<ManualClock>,
}

fn member() -> UserId {
    UserId::new(MEMBER).unwrap()
}

fn vault(ring: KeyRing) -> TokenVault {
    TokenVault::new(ring)
}

fn key_v1() -> KeyRing {
    KeyRing::new(TokenKey::new(1, &[0x11; 32]), []).unwrap()
}

fn track(n: usize) -> Value {
    track_json(&format!("{n:0>22}"), &format!("Song {n}"), &["Band"], 200_000, &format!("USRC1700{n:04}"))
}

async fn world() -> World {
    let spotify = FakeSpotifyAccounts::start(CLIENT_ID).await.unwrap();
    spotify.set_display_name("Alice <3");
    spotify.add_playlist("37i9dQZF1DXcBWIGoYBM5M", "Road trip", (0..3).map(|n| item_entry(track(n))).collect());
    spotify.add_liked(track(10));
    let discord = FakeDiscord::start(FakeDiscordConfig::default()).await.unwrap();
    World {
        spotify,
        discord,
        store: Arc::new(SqliteStore::in_memory().unwrap()),
        clock: Arc::new(ManualClock::at(NOW)),
    }
}

impl World {
    fn links(&self, ring: KeyRing) -> AccountLinks {
        let http =
            SafeHttpClient::new(OutboundPolicy { allow: "127.0.0.1/32".parse().unwrap(), ..OutboundPolicy::default() });
        let base = self.spotify.base_url();
        let spotify = SpotifyLinking {
            auth: SpotifyAuth::new(http.clone(), CLIENT_ID, Url::parse(CALLBACK).unwrap())
                .with_accounts_base(Url::parse(&format!("{base}/")).unwrap()),
            library: SpotifyLibrary::new(http).with_api_base(Url::parse(&format!("{base}/v1/")).unwrap()),
            grant_lifetime: Some(SPOTIFY_DEVELOPMENT_GRANT),
        };
        let discord = DiscordRestClient::new(
            Url::parse(&format!("http://{}/api/v10/", self.discord.rest_addr())).unwrap(),
            Secret::new("fake-bot-token"),
            Duration::from_secs(5),
        )
        .unwrap();
        AccountLinks::new(self.store.clone(), self.store.clone(), self.store.clone(), vault(ring), self.clock.clone())
            .with_spotify(spotify)
            .with_discord(Arc::new(discord))
    }

    /// `/link spotify`, then the member's browser approving: the callback's
    /// `state` and `code`.
    async fn approve(&self, links: &AccountLinks) -> (String, String) {
        let LinkPrompt::Open(url) = links.begin(member(), Provider::Spotify).await.unwrap();
        let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
        let answer = browser.get(url).send().await.unwrap();
        let location = Url::parse(answer.headers()["location"].to_str().unwrap()).unwrap();
        let query: HashMap<String, String> = location.query_pairs().into_owned().collect();
        (query["state"].clone(), query["code"].clone())
    }

    async fn link(&self, links: &AccountLinks) {
        let (state, code) = self.approve(links).await;
        let page = links.complete(&state, Some(&code), None).await;
        assert_eq!(page.status, 200, "{page:?}");
    }

    fn dms(&self) -> Vec<String> {
        self.discord.dm_messages(MEMBER).into_iter().map(|m| m.content).collect()
    }
}

#[tokio::test]
async fn a_member_links_spotify_and_their_library_becomes_playlists_once() {
    let world = world().await;
    let links = world.links(key_v1());
    let (state, code) = world.approve(&links).await;

    let page = links.complete(&state, Some(&code), None).await;
    assert_eq!((page.status, page.title), (200, "Linked"));
    assert_eq!(
        page.message,
        "Spotify is linked as Alice <3: 2 playlists (4 tracks) imported. Back in Discord, /myplaylists lists them."
    );
    assert!(page.html().contains("Alice &lt;3"), "the name is escaped on the page");

    let account = world.store.load_account(member(), Provider::Spotify).await.unwrap().expect("linked");
    assert_eq!(account.account_name.as_deref(), Some("Alice <3"));
    assert_eq!(account.state, LinkState::Active);
    let now_ms = NOW * 1000;
    assert_eq!(account.access_expires_ms, now_ms + 3_600_000);
    assert_eq!(account.grant_expires_ms, Some(now_ms + 182 * 24 * 3_600_000));
    let sealed = account.access_token.as_deref().unwrap();
    assert!(!sealed.contains("BQ-fake-access"), "stored sealed: {sealed}");
    let opened = vault(key_v1()).open(member(), Provider::Spotify, &SealedToken::from_stored(sealed).unwrap());
    assert_eq!(opened.unwrap(), Secret::new("BQ-fake-access-1"));

    let playlists = world.store.playlists(member()).await.unwrap();
    let shown: Vec<(&str, PlaylistOrigin, usize)> =
        playlists.iter().map(|p| (p.name.as_str(), p.origin, p.tracks)).collect();
    assert_eq!(
        shown,
        [
            ("Liked songs", PlaylistOrigin::Linked(Provider::Spotify), 1),
            ("Road trip", PlaylistOrigin::Linked(Provider::Spotify), 3)
        ]
    );
    let dms = world.dms();
    assert_eq!(dms.len(), 1, "{dms:?}");
    assert!(dms[0].starts_with("Your Spotify account **Alice \\<3** is linked: 2 playlists (4 tracks)"), "{dms:?}");

    // The same callback again (a reload, or someone replaying it).
    let issued = world.spotify.issued();
    let replay = links.complete(&state, Some(&code), None).await;
    assert_eq!((replay.status, replay.title), (400, "This link has expired"));
    assert_eq!(world.spotify.issued(), issued, "a replayed state never reaches Spotify");
    assert_eq!(world.dms().len(), 1);
}

#[tokio::test]
async fn an_unknown_stale_or_declined_state_links_nothing() {
    let world = world().await;
    let links = world.links(key_v1());
    let (_, code) = world.approve(&links).await;
    assert_eq!(links.complete("forged-state", Some(&code), None).await.status, 400);
    assert_eq!(links.complete(&"x".repeat(4096), Some(&code), None).await.status, 400);

    let (state, code) = world.approve(&links).await;
    world.clock.advance(10 * 60 + 1);
    assert_eq!(links.complete(&state, Some(&code), None).await.status, 400, "ten minutes and a second");

    let (state, _) = world.approve(&links).await;
    let declined = links.complete(&state, None, Some("access_denied")).await;
    assert_eq!((declined.status, declined.title), (200, "Nothing was linked"));

    assert_eq!(world.store.accounts(member()).await.unwrap(), []);
    assert_eq!(world.spotify.issued(), 0);
    assert!(world.store.playlists(member()).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_refreshers_ask_spotify_once_and_keep_the_rotated_token() {
    let world = world().await;
    world.spotify.set_rotate_refresh_tokens(true);
    let first = Arc::new(world.links(key_v1()));
    world.link(&first).await;
    assert!(world.spotify.refresh_token_is_live("AQ-fake-refresh-1"));
    // Two processes (two services over the one store), an hour later.
    let second = Arc::new(world.links(key_v1()));
    world.clock.advance(3_600);
    let before = world.spotify.issued();

    let refreshers: Vec<_> = (0..8)
        .map(|n| {
            let links = if n % 2 == 0 { first.clone() } else { second.clone() };
            tokio::spawn(async move { links.access_token(member(), Provider::Spotify).await })
        })
        .collect();
    let mut tokens = Vec::new();
    for refresher in refreshers {
        tokens.push(refresher.await.unwrap().unwrap());
    }
    assert_eq!(world.spotify.issued(), before + 1, "exactly one refresh reached Spotify");
    assert!(tokens.iter().all(|t| *t == tokens[0]), "everyone uses the one new token");
    assert_eq!(tokens[0], Secret::new("BQ-fake-access-2"));

    let account = world.store.load_account(member(), Provider::Spotify).await.unwrap().unwrap();
    assert_eq!(account.refresh_lease_until_ms, None, "the lease is released");
    let refresh = SealedToken::from_stored(account.refresh_token.as_deref().unwrap()).unwrap();
    let refresh = vault(key_v1()).open(member(), Provider::Spotify, &refresh).unwrap();
    assert_eq!(refresh, Secret::new("AQ-fake-refresh-2"), "the rotated refresh token is the stored one");
    assert!(!world.spotify.refresh_token_is_live("AQ-fake-refresh-1"));
    assert_eq!(account.access_expires_ms, world.clock.now_unix_millis() + 3_600_000);
}

#[tokio::test]
async fn invalid_grant_deletes_the_tokens_and_asks_for_a_relink() {
    let world = world().await;
    let links = world.links(key_v1());
    world.link(&links).await;
    world.spotify.revoke_refresh_tokens();
    world.clock.advance(3_600);

    assert_eq!(links.access_token(member(), Provider::Spotify).await, Err(LinkError::NeedsRelink(Provider::Spotify)));
    let account = world.store.load_account(member(), Provider::Spotify).await.unwrap().unwrap();
    assert_eq!(account.state, LinkState::NeedsRelink);
    assert_eq!((account.access_token, account.refresh_token), (None, None), "the dead tokens are gone");
    assert_eq!(
        world.dms().last().map(String::as_str),
        Some(LinkError::NeedsRelink(Provider::Spotify).user_message().as_str())
    );
    let issued = world.spotify.issued();
    assert_eq!(links.import(member(), Provider::Spotify).await, Err(LinkError::NeedsRelink(Provider::Spotify)));
    assert_eq!(world.spotify.issued(), issued, "a link marked for relinking asks Spotify nothing");

    // Linking again makes it work.
    world.link(&links).await;
    assert!(links.access_token(member(), Provider::Spotify).await.is_ok());
}

#[tokio::test]
async fn after_key_rotation_old_records_still_open() {
    let world = world().await;
    world.link(&world.links(key_v1())).await;
    let rotated = KeyRing::new(TokenKey::new(2, &[0x22; 32]), [TokenKey::new(1, &[0x11; 32])]).unwrap();
    let links = world.links(rotated);
    assert_eq!(links.access_token(member(), Provider::Spotify).await.unwrap(), Secret::new("BQ-fake-access-1"));
    // Without the old key the record cannot open: relink, never a crash.
    let only_new = world.links(KeyRing::new(TokenKey::new(2, &[0x22; 32]), []).unwrap());
    assert_eq!(
        only_new.access_token(member(), Provider::Spotify).await,
        Err(LinkError::NeedsRelink(Provider::Spotify))
    );
}

#[tokio::test]
async fn unlink_removes_the_link_and_its_imports_and_forget_leaves_nothing() {
    let world = world().await;
    let links = world.links(key_v1());
    let mine = MemberPlaylist {
        owner: member(),
        name: PlaylistName::parse("road trip").unwrap(),
        origin: PlaylistOrigin::Saved,
        entries: vec![PlaylistEntry::metadata("Saved song", "Band", Some(1_000), None)],
        updated_at_ms: 1,
    };
    world.store.save_playlist(&mine).await.unwrap();
    world.link(&links).await;
    let names: Vec<String> =
        world.store.playlists(member()).await.unwrap().into_iter().map(|p| p.name.as_str().to_owned()).collect();
    assert_eq!(names, ["Liked songs", "road trip", "Road trip (2)"], "the member's own playlist is never replaced");
    let views = links.links(member()).await.unwrap();
    assert_eq!((views.len(), views[0].playlists), (1, 2));

    assert_eq!(links.unlink(member(), Provider::Spotify).await.unwrap(), 2);
    assert_eq!(world.store.accounts(member()).await.unwrap(), []);
    let left: Vec<String> =
        world.store.playlists(member()).await.unwrap().into_iter().map(|p| p.name.as_str().to_owned()).collect();
    assert_eq!(left, ["road trip"], "only what the member saved themselves stays");
    assert!(world.dms().last().unwrap().contains("the 2 playlists imported from it"), "{:?}", world.dms());
    assert_eq!(links.unlink(member(), Provider::Spotify).await, Err(LinkError::NotLinked(Provider::Spotify)));

    world.link(&links).await;
    assert!(links.forget(member()).await.unwrap() >= 4);
    assert_eq!(world.store.accounts(member()).await.unwrap(), []);
    assert!(world.store.playlists(member()).await.unwrap().is_empty());
}
