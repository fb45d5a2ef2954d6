//! `timmybot sandbox`: the real platform against the built-in fake Discord.
//!
//! Someone with no Discord application can watch the whole path work: each
//! command goes in as a signed HTTP interaction from a member sitting in a
//! voice channel, the platform answers, joins the fake voice server over TLS
//! and UDP, and the fake reports what it heard. The end-to-end tests drive
//! the same [`Sandbox`].

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use serde_json::{Value, json};
use timmybot_allowlist::AllowlistSettings;
use timmybot_core::Secret;
use timmybot_emf::{MemorySink, MetricsSink};
use timmybot_gateway::DiscordEndpoints;
use timmybot_interactions::commands::{COMMANDS, OptionKind};
use timmybot_test_support::fake_discord::{FakeDiscord, FakeDiscordConfig, FakeGuild};
use timmybot_test_support::fake_voice::{FakeVoiceServer, Heard};
use timmybot_test_support::signer::InteractionSigner;
use timmybot_test_support::test_ca::TestCa;

use crate::config::{BusBackend, Config, StoreBackend};
use crate::platform::{Platform, PlatformExtras};
pub use crate::sandbox_sources::{FAKE_SOURCES_IP, SandboxSources};
use timmybot_sources::SourcesConfig;

/// The sandbox guild.
pub const GUILD_ID: u64 = 800_000_000_000_000_001;
/// Its voice channel, where the member sits.
pub const VOICE_CHANNEL_ID: u64 = 800_000_000_000_000_002;
/// A second voice channel, empty at the start.
pub const OTHER_VOICE_CHANNEL_ID: u64 = 800_000_000_000_000_006;
/// Two more members of the sandbox guild (out of voice at the start).
pub const LISTENER_IDS: [u64; 2] = [800_000_000_000_000_007, 800_000_000_000_000_008];
/// Its text channel, where commands are run.
pub const TEXT_CHANNEL_ID: u64 = 800_000_000_000_000_003;
/// A second text channel (for `/settings announce_channel:`).
pub const ANNOUNCE_CHANNEL_ID: u64 = 800_000_000_000_000_009;
/// The member who runs every command; they hold Manage Server.
pub const MEMBER_ID: u64 = 800_000_000_000_000_004;
/// A member of the sandbox guild without Manage Server.
pub const OTHER_MEMBER_ID: u64 = 800_000_000_000_000_005;
/// The bot's maintainer (listed in the sandbox's maintainer ids when the
/// allowlist is on).
pub const MAINTAINER_ID: u64 = 800_000_000_000_000_010;
/// The maintainers' own guild and its channel, where requests are announced.
pub const MAINTAINERS_GUILD_ID: u64 = 800_000_000_000_000_011;
/// The maintainers' channel.
pub const MAINTAINERS_CHANNEL_ID: u64 = 800_000_000_000_000_012;
/// The bot token the platform is given; the fake accepts any.
pub const SANDBOX_TOKEN: &str = "sandbox-bot-token";
/// The sandbox's token encryption key (64 letters and digits, read as the
/// ring's `v1` key, as the stack generates one): members' linked tokens are
/// sealed with it.
pub const SANDBOX_TOKEN_KEY: &str = "SbxTokenKey0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQ";

/// Creates a throwaway CA for the fake voice server's TLS and makes this
/// process trust it (songbird reads `SSL_CERT_FILE` through rustls-native-certs).
///
/// Call before any thread is started: it sets an environment variable.
///
/// # Errors
/// The CA cannot be generated or written to the temp folder.
pub fn trust_sandbox_ca() -> anyhow::Result<TestCa> {
    crate::install_crypto_provider();
    let ca = TestCa::new()?;
    let path = std::env::temp_dir().join(format!("timmybot-sandbox-ca-{}.pem", std::process::id()));
    ca.write_ca_file(&path)?;
    // SAFETY: called from `main` (or a test's first line) before any other
    // thread exists, so nothing reads the environment concurrently.
    unsafe { std::env::set_var("SSL_CERT_FILE", &path) };
    Ok(ca)
}

/// Which adapters the sandboxed platform runs on.
#[derive(Debug, Clone)]
pub struct SandboxOptions {
    /// Where the SQLite file goes.
    pub data_dir: PathBuf,
    /// Folder `/play` may read files from.
    pub media_dir: Option<PathBuf>,
    /// Store adapter.
    pub store: StoreBackend,
    /// Bus adapter.
    pub bus: BusBackend,
    /// The bot token handed to the platform (the fake accepts any).
    pub bot_token: String,
    /// The allowlist (default: open, so the sandbox plays at once).
    pub allowlist: AllowlistSettings,
    /// Leave revoked guilds after this long (default: stay).
    pub leave_revoked_guild_after: Option<Duration>,
    /// Whether [`MEMBER_ID`] refuses DMs from the bot (default: no).
    pub member_dms_closed: bool,
    /// The yt-dlp executable for YouTube links (default: none).
    pub ytdlp: Option<PathBuf>,
    /// Whether SoundCloud links go to that yt-dlp (default: off).
    pub soundcloud: bool,
    /// Internal addresses links may lead to (default: empty, every internal
    /// address refused as in production). Tests allow `127.0.0.1/32` to
    /// serve media from loopback.
    pub outbound_allow: timmybot_outbound::AllowList,
    /// Where the gateway service's metric records go (default: none, metrics
    /// off). With a sink the platform runs with metrics on and writes every
    /// record there instead of stdout.
    pub metrics: Option<MemorySink>,
    /// How the players run (default: production's, with a random shuffle).
    pub players: timmybot_voice::PlayersConfig,
    /// `(user, role)` pairs: the roles members' interactions carry
    /// (default: none).
    pub member_roles: Vec<(u64, u64)>,
    /// Whether the platform gets the sandbox's fake station directory and
    /// catalog ([`SandboxSources`], on `127.0.0.2`, opened to the bot) as
    /// its Radio Browser and Audius (default: yes). Off: both sources off.
    pub fake_sources: bool,
    /// Whether Spotify, Deezer, Apple Music and YouTube links are read
    /// (`TIMMYBOT_SERVICE_LINKS`; default: on, against the fakes of
    /// [`SandboxSources`], with the fake Spotify app's credentials written
    /// to the secrets file). Always off without the fake sources, so the
    /// sandbox never reaches the real services.
    pub service_links: bool,
    /// How many shards the fake Discord asks for (default 1).
    pub shards: u32,
    /// Scale to zero on (the ECS service named, reached the default AWS way;
    /// default: off).
    pub scale_to_zero: Option<crate::config::ScaleToZeroConfig>,
}

impl SandboxOptions {
    /// SQLite in `data_dir` and the in-process bus.
    pub fn embedded(data_dir: PathBuf, media_dir: Option<PathBuf>) -> Self {
        Self {
            data_dir,
            media_dir,
            store: StoreBackend::Sqlite,
            bus: BusBackend::InProcess,
            bot_token: SANDBOX_TOKEN.to_owned(),
            allowlist: AllowlistSettings::open(),
            leave_revoked_guild_after: None,
            ytdlp: None,
            soundcloud: false,
            member_dms_closed: false,
            outbound_allow: timmybot_outbound::AllowList::default(),
            metrics: None,
            players: timmybot_voice::PlayersConfig::default(),
            member_roles: Vec::new(),
            fake_sources: true,
            service_links: true,
            shards: 1,
            scale_to_zero: None,
        }
    }

    /// With the fake directory and catalog on or off.
    #[must_use]
    pub fn with_fake_sources(mut self, on: bool) -> Self {
        self.fake_sources = on;
        self
    }

    /// Only approved guilds play; [`MAINTAINER_ID`] decides, in
    /// [`MAINTAINERS_CHANNEL_ID`].
    #[must_use]
    pub fn with_allowlist(mut self) -> Self {
        self.allowlist = AllowlistSettings {
            mode: timmybot_allowlist::AllowlistMode::Allowlist,
            maintainers: vec![timmybot_core::UserId::new(MAINTAINER_ID).expect("non-zero")],
            maintainers_channel: timmybot_core::ChannelId::new(MAINTAINERS_CHANNEL_ID),
            ..AllowlistSettings::default()
        };
        self
    }
}

/// How a command was delivered to the platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `POST /interactions`, signed like Discord signs.
    Http,
    /// INTERACTION_CREATE on the gateway, answered through the callback route.
    Gateway,
}

/// A command the sandbox sent.
#[derive(Debug, Clone)]
pub struct SentCommand {
    /// The command line as given.
    pub line: String,
    /// The interaction token (to look up replies).
    pub token: String,
    /// HTTP status of `POST /interactions` (200 for gateway-routed commands).
    pub status: u16,
    /// The immediate interaction response (`{"type", "data"}`), if any yet.
    pub response: Option<Value>,
}

impl SentCommand {
    /// The immediate answer in words: "deferred" or the message content.
    pub fn immediate_reply(&self) -> String {
        match &self.response {
            Some(r) if r["type"] == 5 => "deferred (thinking…)".to_owned(),
            Some(r) => r["data"]["content"].as_str().unwrap_or("(no content)").to_owned(),
            None => "(no response)".to_owned(),
        }
    }
}

/// The platform wired to a fake Discord and a fake voice server.
pub struct Sandbox {
    /// The fake Discord (REST + gateway).
    pub discord: FakeDiscord,
    /// The fake voice server.
    pub voice: FakeVoiceServer,
    /// The fake directory, catalog and streams, when on.
    pub sources: Option<SandboxSources>,
    /// `None` between [`Sandbox::stop_platform`] and [`Sandbox::start_platform`].
    platform: Option<Platform>,
    config: Config,
    extras: PlatformExtras,
    signer: InteractionSigner,
    http: reqwest::Client,
    sent: Mutex<Vec<SentCommand>>,
}

impl Sandbox {
    /// Starts the fakes and the platform, and waits until the bot is connected.
    ///
    /// # Errors
    /// A fake or the platform fails to start.
    pub async fn start(ca: &TestCa, options: SandboxOptions) -> anyhow::Result<Self> {
        let mut sandbox = Self::start_stopped(ca, options).await?;
        sandbox.start_platform().await?;
        Ok(sandbox)
    }

    /// Starts the fakes but not the platform: a test can set the fakes up
    /// first, then call [`Self::start_platform`].
    ///
    /// # Errors
    /// A fake fails to start.
    pub async fn start_stopped(ca: &TestCa, options: SandboxOptions) -> anyhow::Result<Self> {
        let voice = FakeVoiceServer::start(ca).await.context("fake voice server")?;
        let discord = FakeDiscord::start(FakeDiscordConfig {
            guilds: vec![
                FakeGuild {
                    id: GUILD_ID,
                    name: "Sandbox".into(),
                    member_count: 4,
                    voice_channels: vec![VOICE_CHANNEL_ID, OTHER_VOICE_CHANNEL_ID],
                    text_channels: vec![TEXT_CHANNEL_ID, ANNOUNCE_CHANNEL_ID],
                    voice_states: vec![(MEMBER_ID, VOICE_CHANNEL_ID)],
                },
                FakeGuild {
                    id: MAINTAINERS_GUILD_ID,
                    name: "Maintainers".into(),
                    member_count: 1,
                    voice_channels: vec![],
                    text_channels: vec![MAINTAINERS_CHANNEL_ID],
                    voice_states: vec![],
                },
            ],
            guild_managers: vec![(GUILD_ID, MEMBER_ID)],
            dm_closed_users: if options.member_dms_closed { vec![MEMBER_ID] } else { vec![] },
            voice_endpoint: voice.endpoint(),
            member_roles: options.member_roles.iter().map(|(user, role)| (GUILD_ID, *user, *role)).collect(),
            shards: options.shards.max(1),
            ..FakeDiscordConfig::default()
        })
        .await
        .context("fake discord")?;
        let signer = InteractionSigner::from_seed(rand_seed());
        let sources = if options.fake_sources { Some(SandboxSources::start().await?) } else { None };
        let mut outbound_allow = options.outbound_allow;
        let sources_config = match &sources {
            Some(fakes) => {
                outbound_allow.add(&format!("{FAKE_SOURCES_IP}/32")).context("the fake sources' address")?;
                SourcesConfig { service_links: options.service_links, ..fakes.config() }
            }
            None => SourcesConfig { radio: false, audius: false, service_links: false, ..SourcesConfig::default() },
        };
        let secrets_file = options.data_dir.join("secrets");
        if sources.is_some() && !secrets_file.exists() {
            // A test that brings its own secrets file keeps it (and has no
            // Spotify); otherwise the fake app's credentials go in, as a
            // deployer writes theirs.
            std::fs::create_dir_all(&options.data_dir).context("the sandbox's data folder")?;
            timmybot_embedded::FileSecretStore::create(
                &secrets_file,
                [
                    (crate::platform::SPOTIFY_CLIENT_ID_SECRET, crate::sandbox_sources::SPOTIFY_CLIENT_ID),
                    (crate::platform::SPOTIFY_CLIENT_SECRET_SECRET, crate::sandbox_sources::SPOTIFY_CLIENT_SECRET),
                    (crate::platform::TOKEN_ENCRYPTION_KEY_SECRET, SANDBOX_TOKEN_KEY),
                ],
            )
            .context("the sandbox's secrets file")?;
        }
        let config = Config {
            discord_token: Secret::new(options.bot_token),
            application_id: timmybot_core::ApplicationId::new(discord.config().application_id)
                .context("fake application id")?,
            public_key: signer.public_key_hex(),
            // Commands arrive over HTTP, but the gateway route stays on too so
            // tests can use both (the real Discord only ever uses one).
            interactions_endpoint: None,
            listen: ([127, 0, 0, 1], 0).into(),
            secrets_file,
            data_dir: options.data_dir,
            media_dir: options.media_dir,
            store: options.store,
            bus: options.bus,
            endpoints: DiscordEndpoints {
                rest_proxy: Some(discord.rest_addr()),
                gateway_url: Some(discord.gateway_url()),
            },
            outbound: timmybot_outbound::OutboundPolicy {
                allow: outbound_allow,
                ..timmybot_outbound::OutboundPolicy::default()
            },
            allowlist: options.allowlist,
            allowlist_webhook: None,
            leave_revoked_guild_after: options.leave_revoked_guild_after,
            metrics: options.metrics.is_some(),
            ytdlp: options.ytdlp,
            max_live_session: options.players.max_live_session,
            identify: timmybot_gateway::IdentifySettings::default(),
            soundcloud: options.soundcloud,
            sources: sources_config,
            spotify_secrets: crate::config::SpotifySecrets::File,
            linking: crate::config::LinkingConfig {
                spotify_bases: sources.as_ref().map(|fakes| {
                    let base = fakes.spotify_accounts.base_url();
                    let url = |u: String| url::Url::parse(&u).expect("a fake's base URL parses");
                    (url(format!("{base}/")), url(format!("{base}/v1/")))
                }),
                ..crate::config::LinkingConfig::default()
            },
            scale_to_zero: options.scale_to_zero,
        };
        let extras = PlatformExtras {
            metrics_sink: options.metrics.map(|sink| Arc::new(sink) as Arc<dyn MetricsSink>),
            players: options.players,
        };
        Ok(Self {
            discord,
            voice,
            sources,
            platform: None,
            config,
            extras,
            signer,
            http: reqwest::Client::new(),
            sent: Mutex::new(Vec::new()),
        })
    }

    /// Starts the platform (again, after [`Self::stop_platform`]: on the
    /// same store, against the same fakes, as a new task would) and waits
    /// until the bot is connected.
    ///
    /// # Errors
    /// The platform fails to start or to connect, e.g. its gateway service
    /// refused to start; it is not kept then.
    pub async fn start_platform(&mut self) -> anyhow::Result<()> {
        anyhow::ensure!(self.platform.is_none(), "the platform is already running");
        let mut platform = Platform::start_with(self.config.clone(), self.extras.clone()).await?;
        platform.wait_ready(Duration::from_secs(20)).await?;
        self.platform = Some(platform);
        Ok(())
    }

    /// Shuts the platform down gracefully (leaves voice, saves the gateway
    /// sessions, closes the shards); the fakes keep running.
    ///
    /// # Errors
    /// The platform failed while running.
    pub async fn stop_platform(&mut self) -> anyhow::Result<()> {
        match self.platform.take() {
            Some(platform) => platform.shutdown().await,
            None => Ok(()),
        }
    }

    /// Whether the platform's gateway service ended by itself (the idle
    /// stop of scale to zero).
    ///
    /// # Panics
    /// When the platform is stopped.
    pub fn gateway_finished(&self) -> bool {
        self.platform().gateway_finished()
    }

    fn platform(&self) -> &Platform {
        self.platform.as_ref().expect("the sandbox's platform is running")
    }

    /// The platform's HTTP address.
    ///
    /// # Panics
    /// When the platform is stopped.
    pub fn addr(&self) -> std::net::SocketAddr {
        self.platform().addr()
    }

    /// The platform's track cache ([`Platform::track_cache`]).
    ///
    /// # Panics
    /// When the platform is stopped.
    pub fn track_cache(&self) -> std::sync::Arc<dyn timmybot_core::TrackCache> {
        self.platform().track_cache()
    }

    /// Sends `line` (e.g. `/play ./tone.wav`) as a signed HTTP interaction.
    ///
    /// # Errors
    /// The HTTP request itself failed.
    pub async fn send(&self, line: &str) -> anyhow::Result<SentCommand> {
        self.send_via(line, Route::Http).await
    }

    /// Sends `line` by the given route.
    ///
    /// # Errors
    /// The request could not be delivered.
    pub async fn send_via(&self, line: &str, route: Route) -> anyhow::Result<SentCommand> {
        self.send_as(MEMBER_ID, line, route).await
    }

    /// Sends `line` as `user` (of the sandbox guild) by `route`.
    ///
    /// # Errors
    /// The request could not be delivered.
    ///
    /// An attachment option (`/play file:./song.ogg`) names a local file:
    /// it is "uploaded" as Discord does, served from the fake sources'
    /// stream server (the stand-in for Discord's CDN) and sent as the
    /// interaction's resolved attachment.
    pub async fn send_as(&self, user: u64, line: &str, route: Route) -> anyhow::Result<SentCommand> {
        let (name, mut options) = parse_command_line(line);
        let attachments = self.upload_attachments(&mut options).await?;
        let mut interaction = self.discord.slash_command(GUILD_ID, TEXT_CHANNEL_ID, user, &name, options);
        if !attachments.is_empty() {
            interaction["data"]["resolved"] = json!({ "attachments": attachments });
        }
        self.deliver(line, interaction, GUILD_ID, route).await
    }

    /// The member types `typed` into option `option` of `/command`: the
    /// autocomplete interaction goes over signed HTTP, and its answer (type
    /// 8, the choices) is the returned response.
    ///
    /// # Errors
    /// The request could not be delivered.
    pub async fn autocomplete(&self, command: &str, option: &str, typed: &str) -> anyhow::Result<SentCommand> {
        let options = json!([{ "name": option, "type": 3, "value": typed, "focused": true }]);
        let interaction = self.discord.autocomplete(GUILD_ID, TEXT_CHANNEL_ID, MEMBER_ID, command, options);
        self.deliver(&format!("/{command} {option}:{typed}…"), interaction, GUILD_ID, Route::Http).await
    }

    /// Serves the files attachment options name and puts their ids in
    /// their place; the resolved attachments, by id.
    async fn upload_attachments(&self, options: &mut Value) -> anyhow::Result<serde_json::Map<String, Value>> {
        let mut resolved = serde_json::Map::new();
        let Some(options) = options.as_array_mut() else { return Ok(resolved) };
        // A subcommand's own options (`/playlist import file:`).
        let mut files: Vec<&mut Value> = Vec::new();
        for option in options.iter_mut() {
            if option["type"] == OptionKind::SubCommand.code() {
                files.extend(option["options"].as_array_mut().into_iter().flatten());
            } else {
                files.push(option);
            }
        }
        for option in files.into_iter().filter(|o| o["type"] == OptionKind::Attachment.code()) {
            let path = PathBuf::from(option["value"].as_str().unwrap_or_default());
            let body = tokio::fs::read(&path).await.with_context(|| format!("reading {} to upload", path.display()))?;
            let filename = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            let id = unix_now() * 1_000 + u64::from(rand_seed()[0]) * 10 + resolved.len() as u64;
            let url = self.upload(id, &filename, body.clone())?;
            resolved.insert(
                id.to_string(),
                json!({
                    "id": id.to_string(),
                    "filename": filename,
                    "size": body.len(),
                    "url": url,
                    "proxy_url": url,
                    "content_type": content_type_of(&filename),
                }),
            );
            option["value"] = json!(id.to_string());
        }
        Ok(resolved)
    }

    /// Serves `body` as the uploaded file `filename` with attachment id
    /// `id`; its "CDN" link, signed-looking like Discord's.
    ///
    /// # Errors
    /// The fake sources are off (they host the uploads).
    pub fn upload(&self, id: u64, filename: &str, body: Vec<u8>) -> anyhow::Result<String> {
        let streams = &self.sources.as_ref().context("uploads need the sandbox's fake sources")?.streams;
        let path = format!("/attachments/{CDN_CHANNEL_ID}/{id}/{filename}");
        streams.serve(&path, content_type_of(filename), body);
        Ok(format!("{}?ex=6745f1b2&is=6744a032&hm=5c1a", streams.url(&path)))
    }

    /// `user` presses the button `custom_id` on message `message_id` in the
    /// maintainers' channel; delivered over signed HTTP like Discord does.
    ///
    /// # Errors
    /// The request could not be delivered.
    pub async fn press_button(&self, user: u64, message_id: u64, custom_id: &str) -> anyhow::Result<SentCommand> {
        let interaction =
            self.discord.button_press(MAINTAINERS_GUILD_ID, MAINTAINERS_CHANNEL_ID, user, message_id, custom_id);
        self.deliver(&format!("[{custom_id}]"), interaction, MAINTAINERS_GUILD_ID, Route::Http).await
    }

    /// `user` presses the button `custom_id` on message `message_id` in the
    /// sandbox guild's text channel (the controller, a `/queue` or
    /// `/history` reply); delivered over signed HTTP.
    ///
    /// # Errors
    /// The request could not be delivered.
    pub async fn press(&self, user: u64, message_id: u64, custom_id: &str) -> anyhow::Result<SentCommand> {
        let interaction = self.discord.button_press(GUILD_ID, TEXT_CHANNEL_ID, user, message_id, custom_id);
        self.deliver(&format!("[{custom_id}]"), interaction, GUILD_ID, Route::Http).await
    }

    /// `user` presses `custom_id` on the response the bot gave to the
    /// interaction `token` (a `/queue` or `/history` reply).
    ///
    /// # Errors
    /// That response is not a message, or the request could not be delivered.
    pub async fn press_on_original(&self, user: u64, token: &str, custom_id: &str) -> anyhow::Result<SentCommand> {
        let message = self.discord.original_id(token).context("that interaction has no message")?;
        self.press(user, message, custom_id).await
    }

    /// The now-playing controller: the newest message the bot posted in the
    /// text channel, as it is now.
    pub fn controller(&self) -> Option<timmybot_test_support::fake_discord::SentMessage> {
        self.discord.channel_messages(TEXT_CHANNEL_ID).into_iter().rev().find(|m| {
            m.body["components"].as_array().is_some_and(|rows| !rows.is_empty())
                || m.content.contains("The queue is finished")
                || m.content.contains("Stopped.")
        })
    }

    /// Waits until the controller exists and `check` holds for it.
    pub async fn wait_for_controller(
        &self,
        timeout: Duration,
        check: impl Fn(&timmybot_test_support::fake_discord::SentMessage) -> bool,
    ) -> Option<timmybot_test_support::fake_discord::SentMessage> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(controller) = self.controller().filter(|c| check(c)) {
                return Some(controller);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// `user` presses `custom_id` on the newest bot message in the text
    /// channel that carries it.
    ///
    /// # Errors
    /// No such message, or the request could not be delivered.
    pub async fn press_newest(&self, user: u64, custom_id: &str) -> anyhow::Result<SentCommand> {
        let message = self
            .discord
            .channel_messages(TEXT_CHANNEL_ID)
            .into_iter()
            .rev()
            .find(|m| has_button(&m.body, custom_id))
            .with_context(|| format!("no message with a {custom_id} button"))?;
        self.press(user, message.id, custom_id).await
    }

    async fn deliver(&self, line: &str, interaction: Value, guild: u64, route: Route) -> anyhow::Result<SentCommand> {
        let token = interaction["token"].as_str().context("fake interaction has a token")?.to_owned();
        let sent = match route {
            Route::Http => {
                let body = serde_json::to_vec(&interaction)?;
                let (status, response) = self.post_signed(&body).await?;
                if status == 200
                    && let Some(response) = &response
                {
                    // What Discord does with an endpoint's answer.
                    self.discord.accept_interaction_response(&token, response.clone());
                }
                SentCommand { line: line.to_owned(), token, status, response }
            }
            Route::Gateway => {
                self.discord.send_interaction(guild, interaction).await?;
                let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
                let mut response = None;
                while response.is_none() && tokio::time::Instant::now() < deadline {
                    response = self.discord.interaction_response(&token);
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                SentCommand { line: line.to_owned(), token, status: 200, response }
            }
        };
        self.sent.lock().expect("sent lock").push(sent.clone());
        Ok(sent)
    }

    /// POSTs `body` to `/interactions` with a valid signature; returns the
    /// status and the JSON body, if any.
    ///
    /// # Errors
    /// The request failed.
    pub async fn post_signed(&self, body: &[u8]) -> anyhow::Result<(u16, Option<Value>)> {
        let mut request = self.http.post(format!("http://{}/interactions", self.addr())).body(body.to_vec());
        for (name, value) in self.signer.signed_headers(body, unix_now()) {
            request = request.header(name, value);
        }
        let response = request.send().await?;
        let status = response.status().as_u16();
        let json = response.json::<Value>().await.ok();
        Ok((status, json))
    }

    /// The signer whose public key the platform trusts.
    pub fn signer(&self) -> &InteractionSigner {
        &self.signer
    }

    /// The reply the member sees for `sent` now: the edited deferred reply,
    /// the immediate message, or (a deferred update, type 6) the message
    /// the pressed button is on, as it is now.
    pub fn reply(&self, sent: &SentCommand) -> Option<String> {
        match &sent.response {
            Some(r) if r["type"] == 5 || r["type"] == 6 => {
                self.discord.original_message(&sent.token).filter(|c| !c.is_empty())
            }
            Some(r) => r["data"]["content"].as_str().map(str::to_owned),
            None => None,
        }
    }

    /// Waits until `sent` has a visible reply (deferred ones get edited).
    pub async fn wait_for_reply(&self, sent: &SentCommand, timeout: Duration) -> Option<String> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(reply) = self.reply(sent) {
                return Some(reply);
            }
            if tokio::time::Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Every command sent and the reply it got, one line each.
    pub fn transcript(&self) -> Vec<String> {
        let sent = self.sent.lock().expect("sent lock").clone();
        sent.iter()
            .map(|s| format!("reply to {}: {}", s.line, self.reply(s).unwrap_or_else(|| "(no reply)".to_owned())))
            .collect()
    }

    /// What the sandbox guild's voice channel heard.
    pub fn heard(&self) -> Heard {
        self.voice.heard(GUILD_ID)
    }

    /// Waits (up to 30 s) until the voice channel heard `seconds` of audio,
    /// then checks it is a clean tone of `hz`: 45–55 packets per second
    /// (Discord's 50), the dominant frequency within 5 Hz, every packet
    /// decrypted, and end-to-end encrypted: DAVE frames that the fake's
    /// listener decrypted, none plain after the first of them, none that
    /// failed. Returns what was heard.
    ///
    /// # Errors
    /// What fell short, with everything heard.
    pub async fn hear_tone(&self, seconds: f64, hz: f64) -> Result<Heard, String> {
        let enough =
            self.voice.wait_until(Duration::from_secs(30), |v| v.heard(GUILD_ID).seconds_of_audio >= seconds).await;
        let heard = self.heard();
        if !enough {
            return Err(format!("heard only {heard:?}"));
        }
        if !(45.0..=55.0).contains(&heard.rate) {
            return Err(format!("packet rate {}", heard.rate));
        }
        match heard.dominant_hz {
            Some(found) if (found - hz).abs() <= 5.0 => {}
            found => return Err(format!("dominant frequency {found:?}, expected {hz}")),
        }
        if heard.undecryptable != 0 {
            return Err(format!("{} packets could not be decrypted", heard.undecryptable));
        }
        if heard.dave_frames == 0 || heard.plain_after_dave != 0 || heard.dave_undecryptable != 0 {
            return Err(format!("not end-to-end encrypted throughout: {heard:?}"));
        }
        Ok(heard)
    }

    /// `heard guild=<id> packets=<n> rate=<pps> dominant_hz=<hz> level_dbfs=<db>
    /// dave_frames=<n> plain_frames=<n>`.
    pub fn heard_line(&self) -> String {
        heard_line(GUILD_ID, &self.heard())
    }

    /// Shuts the platform down (leaves voice, closes shards) and the fakes.
    ///
    /// # Errors
    /// The platform failed while running.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let result = match self.platform {
            Some(platform) => platform.shutdown().await,
            None => Ok(()),
        };
        self.discord.shutdown();
        result
    }
}

/// Whether a message body carries a button `custom_id`.
pub fn has_button(body: &Value, custom_id: &str) -> bool {
    body["components"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().into_iter().flatten())
        .any(|button| button["custom_id"] == custom_id)
}

/// Formats what a guild heard as the sandbox prints it; `level_dbfs` is
/// the RMS level of the last second of audio (-120 for silence);
/// `dave_frames` counts the frames that came end-to-end encrypted (DAVE),
/// `plain_frames` those that did not (songbird's first few, before its
/// first commit).
pub fn heard_line(guild_id: u64, heard: &Heard) -> String {
    format!(
        "heard guild={guild_id} packets={} rate={:.1} dominant_hz={:.1} level_dbfs={:.1} dave_frames={} plain_frames={}",
        heard.packets,
        heard.rate,
        heard.dominant_hz.unwrap_or(0.0),
        heard.level_dbfs.unwrap_or(-120.0),
        heard.dave_frames,
        heard.plain_frames,
    )
}

/// Splits `/name rest of line` into the command name and Discord's options
/// array, typed as the command defines them. `option:value` words set that
/// option; the other words go to the first option when it is a string (all
/// of them: `/play a b.wav`), else to the options in order (`/move 3 1`).
/// For a command with subcommands the first word names one, and the rest
/// fills its options (`/playlist save Road Trip`).
pub fn parse_command_line(line: &str) -> (String, Value) {
    let line = line.trim().trim_start_matches('/');
    let (name, rest) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let Some(def) = COMMANDS.iter().find(|c| c.name == name) else { return (name.to_owned(), json!([])) };
    let (first, after) = rest.trim().split_once(char::is_whitespace).unwrap_or((rest.trim(), ""));
    if let Some(sub) = def.options.iter().find(|o| o.kind == OptionKind::SubCommand && o.name == first) {
        let options = typed_options(sub.options, after);
        return (name.to_owned(), json!([{ "name": sub.name, "type": sub.kind.code(), "options": options }]));
    }
    (name.to_owned(), typed_options(def.options, rest))
}

/// `rest` of a command line as values of `defs` (see [`parse_command_line`]).
fn typed_options(defs: &[timmybot_interactions::commands::OptionDef], rest: &str) -> Value {
    let mut named = Vec::new();
    let mut free = Vec::new();
    for word in rest.split_whitespace() {
        match word.split_once(':') {
            Some((key, value)) if defs.iter().any(|o| o.name == key) => named.push((key, value.to_owned())),
            _ => free.push(word),
        }
    }
    let mut values: Vec<(&str, String)> = Vec::new();
    match defs.first() {
        Some(first) if first.kind == OptionKind::String && !free.is_empty() => {
            values.push((first.name, free.join(" ")));
        }
        _ => {
            for (option, word) in defs.iter().zip(free) {
                values.push((option.name, word.to_owned()));
            }
        }
    }
    values.extend(named);
    let options: Vec<Value> = values
        .into_iter()
        .filter_map(|(key, text)| {
            let option = defs.iter().find(|o| o.name == key)?;
            let value = match option.kind {
                OptionKind::Integer => text.parse::<i64>().map_or_else(|_| json!(text), |n| json!(n)),
                OptionKind::Boolean => json!(text == "true" || text == "yes"),
                _ => json!(text),
            };
            Some(json!({ "name": option.name, "type": option.kind.code(), "value": value }))
        })
        .collect();
    Value::Array(options)
}

/// The channel id in uploaded files' links.
const CDN_CHANNEL_ID: u64 = 800_000_000_000_000_013;

/// The media type Discord would detect for `filename`.
fn content_type_of(filename: &str) -> &'static str {
    match filename.rsplit_once('.').map(|(_, ext)| ext.to_ascii_lowercase()).as_deref() {
        Some("wav") => "audio/x-wav",
        Some("mp3") => "audio/mpeg",
        Some("ogg" | "oga" | "opus") => "audio/ogg",
        Some("flac") => "audio/flac",
        Some("m4a") => "audio/mp4",
        Some("webm") => "video/webm",
        Some("png") => "image/png",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0)
}

fn rand_seed() -> [u8; 32] {
    // The seed only has to differ between runs; the clock is enough here.
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(7);
    let mut seed = [0u8; 32];
    for (i, byte) in seed.iter_mut().enumerate() {
        *byte = (nanos >> ((i % 16) * 8)) as u8 ^ (i as u8).wrapping_mul(31);
    }
    seed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines_become_name_and_typed_options() {
        let (name, options) = parse_command_line("/play ./tone.wav");
        assert_eq!(name, "play");
        assert_eq!(options, json!([{ "name": "query", "type": 3, "value": "./tone.wav" }]));
        let (name, options) = parse_command_line("/stop");
        assert_eq!((name.as_str(), options), ("stop", json!([])));
        let (name, options) = parse_command_line("/playlist save Road Trip");
        assert_eq!(name, "playlist");
        assert_eq!(
            options,
            json!([{ "name": "save", "type": 1, "options": [{ "name": "name", "type": 3, "value": "Road Trip" }] }])
        );
        let (_, options) = parse_command_line("/playlist list");
        assert_eq!(options, json!([{ "name": "list", "type": 1, "options": [] }]));
        let (name, options) = parse_command_line("  /play   https://a.b:8080/c d  next:true");
        assert_eq!(name, "play");
        assert_eq!(options[0]["value"], "https://a.b:8080/c d");
        assert_eq!(options[1], json!({ "name": "next", "type": 5, "value": true }));
        let (_, options) = parse_command_line("/move 3 1");
        assert_eq!(
            options,
            json!([{ "name": "from", "type": 4, "value": 3 }, { "name": "to", "type": 4, "value": 1 }])
        );
        let (_, options) = parse_command_line("/seek 1:23");
        assert_eq!(options, json!([{ "name": "position", "type": 3, "value": "1:23" }]));
        let (_, options) = parse_command_line("/volume 999");
        assert_eq!(options, json!([{ "name": "percent", "type": 4, "value": 999 }]));
        let (_, options) = parse_command_line("/settings idle_minutes:0 fair_queue:true");
        assert_eq!(options[0], json!({ "name": "idle_minutes", "type": 4, "value": 0 }));
        assert_eq!(options[1]["value"], true);
    }
}
