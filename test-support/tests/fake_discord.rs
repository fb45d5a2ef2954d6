//! Drives real twilight 0.17 clients (gateway shard and HTTP client) and a
//! raw WebSocket client against the fake Discord.

use futures_util::{SinkExt, StreamExt as _};
use serde_json::{Value, json};
use std::time::Duration;
use timmybot_test_support::fake_discord::{FakeDiscord, FakeDiscordConfig, FakeGuild};
use tokio::sync::oneshot;
use tokio_websockets::{ClientBuilder, Message};
use twilight_gateway::{ConfigBuilder, Event, EventTypeFlags, Intents, Shard, ShardId, StreamExt as _, queue::Queue};
use twilight_http::{Client, error::ErrorType};
use twilight_model::{
    application::{
        command::Command,
        interaction::{InteractionData, InteractionType},
    },
    channel::ChannelType,
    gateway::payload::{incoming::GuildCreate, outgoing::UpdateVoiceState},
    guild::Guild,
    http::interaction::{InteractionResponse, InteractionResponseType},
    id::Id,
    voice::VoiceState,
};

const GUILD: u64 = 81_384_788_765_712_384;
const TEXT: u64 = 100;
const VOICE: u64 = 200;
const OTHER_VOICE: u64 = 201;
const MEMBER: u64 = 7;
const OTHER_BOT: u64 = 8;
const EVENT_WAIT: Duration = Duration::from_secs(10);

fn guild() -> FakeGuild {
    FakeGuild {
        id: GUILD,
        name: "test guild".into(),
        member_count: 3,
        voice_channels: vec![VOICE, OTHER_VOICE],
        text_channels: vec![TEXT],
        voice_states: vec![(MEMBER, VOICE)],
    }
}

fn config() -> FakeDiscordConfig {
    FakeDiscordConfig {
        guilds: vec![guild()],
        voice_endpoint: "127.0.0.1:4433".into(),
        heartbeat_interval: Duration::from_millis(250),
        ..FakeDiscordConfig::default()
    }
}

/// Start the fake. Also picks rustls' ring provider: this crate's graph
/// enables both ring and aws-lc-rs (via the AWS SDK), and then rustls
/// cannot choose one by itself when twilight builds its TLS config.
async fn start(config: FakeDiscordConfig) -> FakeDiscord {
    _ = rustls::crypto::ring::default_provider().install_default();
    FakeDiscord::start(config).await.unwrap()
}

fn intents() -> Intents {
    Intents::GUILDS | Intents::GUILD_VOICE_STATES
}

/// Identify without the default in-memory queue's 5 s between shards.
#[derive(Debug, Clone, Copy)]
struct NoWaitQueue;

impl Queue for NoWaitQueue {
    fn enqueue(&self, _shard: u32) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        _ = tx.send(());
        rx
    }
}

fn shard(fake: &FakeDiscord, id: u32, total: u32, intents: Intents) -> Shard<NoWaitQueue> {
    let config =
        ConfigBuilder::new("test-token".into(), intents).proxy_url(fake.gateway_url()).queue(NoWaitQueue).build();
    Shard::with_config(ShardId::new(id, total), config)
}

fn http(fake: &FakeDiscord) -> Client {
    Client::builder().token("test-token".into()).proxy(fake.rest_addr(), true).ratelimiter(None).build()
}

/// Next event for which `select` returns `Some`; panics after 10 s or if
/// the shard closes for good. Shard errors are non-fatal in twilight.
async fn next_matching<T>(shard: &mut Shard<NoWaitQueue>, what: &str, mut select: impl FnMut(Event) -> Option<T>) -> T {
    let wait = async {
        loop {
            match shard.next_event(EventTypeFlags::all()).await {
                Some(Ok(event)) => {
                    if let Some(found) = select(event) {
                        return found;
                    }
                }
                Some(Err(error)) => eprintln!("shard error (continuing): {error}"),
                None => panic!("shard closed fatally while waiting for {what}"),
            }
        }
    };
    tokio::time::timeout(EVENT_WAIT, wait).await.unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

fn available(create: Box<GuildCreate>) -> Guild {
    match *create {
        GuildCreate::Available(guild) => guild,
        GuildCreate::Unavailable(_) => panic!("guild arrived unavailable: its JSON did not parse as a Guild"),
    }
}

async fn guild_create(shard: &mut Shard<NoWaitQueue>) -> Guild {
    next_matching(shard, "GUILD_CREATE", |event| match event {
        Event::GuildCreate(create) => Some(available(create)),
        _ => None,
    })
    .await
}

async fn voice_state_update(shard: &mut Shard<NoWaitQueue>, what: &str) -> VoiceState {
    next_matching(shard, what, |event| match event {
        Event::VoiceStateUpdate(update) => Some(update.0),
        _ => None,
    })
    .await
}

/// The next VOICE_STATE_UPDATE or VOICE_SERVER_UPDATE, whichever comes first.
async fn next_voice_event(shard: &mut Shard<NoWaitQueue>, what: &str) -> Event {
    next_matching(shard, what, |event| {
        matches!(event, Event::VoiceStateUpdate(_) | Event::VoiceServerUpdate(_)).then_some(event)
    })
    .await
}

/// Have the bot join `channel` with op 4; returns the server update's token.
async fn bot_joins(shard: &mut Shard<NoWaitQueue>, channel: u64) -> String {
    shard.sender().command(&UpdateVoiceState::new(Id::new(GUILD), Some(Id::new(channel)), false, false)).unwrap();
    let joined = voice_state_update(shard, "VOICE_STATE_UPDATE (join)").await;
    assert_eq!(joined.channel_id.map(Id::get), Some(channel), "the first voice state after op 4");
    next_matching(shard, "VOICE_SERVER_UPDATE (join)", |event| match event {
        Event::VoiceServerUpdate(update) => Some(update.token),
        _ => None,
    })
    .await
}

async fn ready_session(shard: &mut Shard<NoWaitQueue>) -> String {
    next_matching(shard, "READY", |event| match event {
        Event::Ready(ready) => Some(ready.session_id),
        _ => None,
    })
    .await
}

async fn wait_for_guild_create(shard: &mut Shard<NoWaitQueue>) {
    next_matching(shard, "GUILD_CREATE", |event| matches!(event, Event::GuildCreate(_)).then_some(())).await;
}

#[tokio::test]
async fn shard_receives_ready_and_guild_create_with_voice_states() {
    let fake = start(config()).await;
    let mut shard = shard(&fake, 0, 1, intents());

    let ready = next_matching(&mut shard, "READY", |event| match event {
        Event::Ready(ready) => Some(ready),
        _ => None,
    })
    .await;
    assert_eq!(ready.user.id.get(), fake.config().bot_user_id);
    assert_eq!(ready.application.id.get(), fake.config().application_id);
    assert_eq!(ready.guilds.len(), 1);
    assert!(ready.guilds[0].unavailable);
    assert!(ready.resume_gateway_url.starts_with(&fake.gateway_url()));

    let guild = next_matching(&mut shard, "GUILD_CREATE", |event| match event {
        Event::GuildCreate(create) => match *create {
            twilight_model::gateway::payload::incoming::GuildCreate::Available(guild) => Some(guild),
            twilight_model::gateway::payload::incoming::GuildCreate::Unavailable(_) => {
                panic!("guild arrived unavailable: its JSON did not parse as a Guild")
            }
        },
        _ => None,
    })
    .await;
    assert_eq!(guild.id.get(), GUILD);
    assert_eq!(guild.member_count, Some(3));
    assert_eq!(guild.channels.len(), 3);
    assert_eq!(guild.voice_states.len(), 1);
    let state = &guild.voice_states[0];
    assert_eq!(state.user_id.get(), MEMBER);
    assert_eq!(state.channel_id.map(Id::get), Some(VOICE));
    assert_eq!(state.member.as_ref().map(|member| member.user.id.get()), Some(MEMBER));

    assert_eq!(fake.identify_count(), 1);
    let identify = fake.identifies()[0];
    assert_eq!((identify.shard_id, identify.shard_count), (0, 1));
    assert_eq!(identify.intents, intents().bits());
    // twilight appends `/?v=10&encoding=json` to the proxy URL.
    assert_eq!(fake.gateway_connections(), vec!["/?v=10&encoding=json".to_owned()]);
}

#[tokio::test]
async fn bot_voice_state_update_yields_voice_state_and_server_updates() {
    let fake = start(config()).await;
    let mut shard = shard(&fake, 0, 1, intents());
    let session_id = next_matching(&mut shard, "READY", |event| match event {
        Event::Ready(ready) => Some(ready.session_id),
        _ => None,
    })
    .await;

    shard.sender().command(&UpdateVoiceState::new(Id::new(GUILD), Some(Id::new(OTHER_VOICE)), false, false)).unwrap();
    let state = next_matching(&mut shard, "VOICE_STATE_UPDATE", |event| match event {
        Event::VoiceStateUpdate(update) => Some(update.0),
        _ => None,
    })
    .await;
    assert_eq!(state.user_id.get(), fake.config().bot_user_id);
    assert_eq!(state.guild_id.map(Id::get), Some(GUILD));
    assert_eq!(state.channel_id.map(Id::get), Some(OTHER_VOICE));
    assert_eq!(state.session_id, session_id);
    let server = next_matching(&mut shard, "VOICE_SERVER_UPDATE", |event| match event {
        Event::VoiceServerUpdate(update) => Some(update),
        _ => None,
    })
    .await;
    assert_eq!(server.guild_id.get(), GUILD);
    assert_eq!(server.endpoint.as_deref(), Some("127.0.0.1:4433"));
    assert!(!server.token.is_empty());
    assert_eq!(fake.bot_voice_channel(GUILD), Some(OTHER_VOICE));

    shard.sender().command(&UpdateVoiceState::new(Id::new(GUILD), None, false, false)).unwrap();
    let left = next_matching(&mut shard, "VOICE_STATE_UPDATE (leave)", |event| match event {
        Event::VoiceStateUpdate(update) => Some(update.0),
        _ => None,
    })
    .await;
    assert_eq!(left.channel_id, None);
    assert_eq!(fake.bot_voice_channel(GUILD), None);
}

#[tokio::test]
async fn move_bot_sends_voice_state_then_server_update_like_discord() {
    let fake = start(config()).await;
    let bot = fake.config().bot_user_id;
    let mut shard = shard(&fake, 0, 1, intents());
    let session_id = ready_session(&mut shard).await;
    let joined_token = bot_joins(&mut shard, VOICE).await;

    fake.move_bot(GUILD, OTHER_VOICE).await.unwrap();
    let Event::VoiceStateUpdate(state) = next_voice_event(&mut shard, "VOICE_STATE_UPDATE (moved)").await else {
        panic!("the server update came before the state update");
    };
    assert_eq!(state.user_id.get(), bot);
    assert_eq!(state.channel_id.map(Id::get), Some(OTHER_VOICE));
    assert_eq!(state.session_id, session_id, "a move keeps the voice session");
    assert_eq!(state.member.as_ref().map(|member| member.user.bot), Some(true));
    let Event::VoiceServerUpdate(server) = next_voice_event(&mut shard, "VOICE_SERVER_UPDATE (moved)").await else {
        panic!("no server update after the move");
    };
    assert_eq!(server.guild_id.get(), GUILD);
    assert_eq!(server.endpoint.as_deref(), Some("127.0.0.1:4433"));
    assert_ne!(server.token, joined_token, "a fresh token");
    assert_eq!(fake.bot_voice_channel(GUILD), Some(OTHER_VOICE));

    // Only where Discord could drag it.
    assert!(fake.move_bot(GUILD, OTHER_VOICE).await.is_err(), "already there");
    assert!(fake.move_bot(GUILD, TEXT).await.is_err(), "not a voice channel");
    assert!(fake.move_bot(GUILD + 1, VOICE).await.is_err(), "unknown guild");
    fake.disconnect_bot(GUILD).await.unwrap();
    assert!(fake.move_bot(GUILD, VOICE).await.is_err(), "the bot is in no channel");
    assert_eq!(fake.bot_voice_channel(GUILD), None);
}

#[tokio::test]
async fn move_voice_server_sends_only_a_server_update_and_later_joins_go_there() {
    let fake = start(config()).await;
    let mut shard = shard(&fake, 0, 1, intents());
    ready_session(&mut shard).await;
    assert!(fake.move_voice_server(GUILD, "127.0.0.1:5544").await.is_err(), "not in voice yet");
    let joined_token = bot_joins(&mut shard, VOICE).await;

    fake.move_voice_server(GUILD, "127.0.0.1:5544").await.unwrap();
    let Event::VoiceServerUpdate(server) = next_voice_event(&mut shard, "VOICE_SERVER_UPDATE (server moved)").await
    else {
        panic!("a voice state update came with a server move");
    };
    assert_eq!(server.guild_id.get(), GUILD);
    assert_eq!(server.endpoint.as_deref(), Some("127.0.0.1:5544"));
    assert_ne!(server.token, joined_token, "a fresh token");
    assert_eq!(fake.bot_voice_channel(GUILD), Some(VOICE), "the bot stays in its channel");

    // A rejoin (op 4 again) is answered with the new server, and so is a drag.
    shard.sender().command(&UpdateVoiceState::new(Id::new(GUILD), Some(Id::new(VOICE)), false, false)).unwrap();
    let rejoined = next_matching(&mut shard, "VOICE_SERVER_UPDATE (rejoin)", |event| match event {
        Event::VoiceServerUpdate(update) => Some(update),
        _ => None,
    })
    .await;
    assert_eq!(rejoined.endpoint.as_deref(), Some("127.0.0.1:5544"));
    assert_ne!(rejoined.token, server.token, "a fresh token for each join");
    fake.move_bot(GUILD, OTHER_VOICE).await.unwrap();
    next_voice_event(&mut shard, "VOICE_STATE_UPDATE (moved)").await;
    let Event::VoiceServerUpdate(after_move) = next_voice_event(&mut shard, "VOICE_SERVER_UPDATE (moved)").await else {
        panic!("no server update after the move");
    };
    assert_eq!(after_move.endpoint.as_deref(), Some("127.0.0.1:5544"));

    assert!(fake.move_voice_server(GUILD, " ").await.is_err(), "an empty endpoint");
    assert!(fake.move_voice_server(GUILD + 1, "127.0.0.1:5544").await.is_err(), "unknown guild");
}

#[tokio::test]
async fn disconnect_bot_sends_a_voice_state_without_a_channel_and_op_4_still_rejoins() {
    let fake = start(config()).await;
    let mut shard = shard(&fake, 0, 1, intents());
    let session_id = ready_session(&mut shard).await;
    assert!(fake.disconnect_bot(GUILD).await.is_err(), "not in voice yet");
    bot_joins(&mut shard, VOICE).await;

    fake.disconnect_bot(GUILD).await.unwrap();
    let left = voice_state_update(&mut shard, "VOICE_STATE_UPDATE (disconnected)").await;
    assert_eq!(left.user_id.get(), fake.config().bot_user_id);
    assert_eq!(left.channel_id, None);
    assert_eq!(left.session_id, session_id);
    assert_eq!(fake.bot_voice_channel(GUILD), None);
    assert!(fake.disconnect_bot(GUILD).await.is_err(), "already out of voice");

    // The bot can join again the usual way.
    bot_joins(&mut shard, OTHER_VOICE).await;
    assert_eq!(fake.bot_voice_channel(GUILD), Some(OTHER_VOICE));
}

#[tokio::test]
async fn deleting_a_voice_channel_sends_channel_delete_then_empties_the_channel() {
    let mut guild = guild();
    guild.voice_states.push((OTHER_BOT, OTHER_VOICE));
    let fake = start(FakeDiscordConfig { guilds: vec![guild], bot_users: vec![OTHER_BOT], ..config() }).await;
    let bot = fake.config().bot_user_id;
    let mut shard = shard(&fake, 0, 1, intents());
    wait_for_guild_create(&mut shard).await;
    bot_joins(&mut shard, VOICE).await;

    fake.delete_channel(GUILD, VOICE).await.unwrap();
    let deleted = next_matching(&mut shard, "CHANNEL_DELETE", |event| match event {
        Event::ChannelDelete(deleted) => Some(deleted.0),
        Event::VoiceStateUpdate(_) => panic!("VOICE_STATE_UPDATE before CHANNEL_DELETE"),
        _ => None,
    })
    .await;
    assert_eq!(deleted.id.get(), VOICE);
    assert_eq!(deleted.kind, ChannelType::GuildVoice);
    assert_eq!(deleted.guild_id.map(Id::get), Some(GUILD));
    // Everyone in it leaves voice, in user id order; the other channel keeps its bot.
    let mut left = Vec::new();
    for _ in 0..2 {
        let state = voice_state_update(&mut shard, "VOICE_STATE_UPDATE (channel deleted)").await;
        left.push((state.user_id.get(), state.channel_id));
    }
    assert_eq!(left, [(MEMBER, None), (bot, None)]);
    assert_eq!(fake.bot_voice_channel(GUILD), None);
    assert_eq!(fake.voice_channel(GUILD, MEMBER), None);
    assert_eq!(fake.voice_channel(GUILD, OTHER_BOT), Some(OTHER_VOICE));

    // Nobody goes into it any more: op 4 to it is ignored like Discord's.
    assert!(fake.move_member(GUILD, MEMBER, Some(VOICE)).await.is_err());
    assert!(fake.move_bot(GUILD, VOICE).await.is_err());
    assert!(fake.delete_channel(GUILD, VOICE).await.is_err(), "already deleted");
    shard.sender().command(&UpdateVoiceState::new(Id::new(GUILD), Some(Id::new(VOICE)), false, false)).unwrap();
    bot_joins(&mut shard, OTHER_VOICE).await;
    assert_eq!(fake.bot_voice_channel(GUILD), Some(OTHER_VOICE));

    // A new session's GUILD_CREATE no longer lists the channel.
    let mut fresh = self::shard(&fake, 0, 1, intents());
    let guild = guild_create(&mut fresh).await;
    let channels: Vec<u64> = guild.channels.iter().map(|channel| channel.id.get()).collect();
    assert_eq!(channels, [TEXT, OTHER_VOICE]);
    let in_voice: Vec<u64> = guild.voice_states.iter().map(|state| state.user_id.get()).collect();
    assert_eq!(in_voice, [OTHER_BOT, bot]);
}

#[tokio::test]
async fn deleting_a_text_channel_sends_channel_delete_and_refuses_messages_in_it() {
    let fake = start(config()).await;
    let mut shard = shard(&fake, 0, 1, intents());
    wait_for_guild_create(&mut shard).await;
    http(&fake).create_message(Id::new(TEXT)).content("before").await.unwrap();

    fake.delete_channel(GUILD, TEXT).await.unwrap();
    let deleted = next_matching(&mut shard, "CHANNEL_DELETE", |event| match event {
        Event::ChannelDelete(deleted) => Some(deleted.0),
        _ => None,
    })
    .await;
    assert_eq!((deleted.id.get(), deleted.kind), (TEXT, ChannelType::GuildText));
    let error = http(&fake).create_message(Id::new(TEXT)).content("after").await.unwrap_err();
    match error.kind() {
        ErrorType::Response { status, error, .. } => {
            assert_eq!(status.get(), 404);
            assert!(error.to_string().contains("10003"), "{error}");
        }
        other => panic!("expected a response error, got {other:?}"),
    }
    assert!(fake.delete_channel(GUILD, 999).await.is_err(), "not a channel of the guild");
    assert!(fake.delete_channel(GUILD + 1, TEXT).await.is_err(), "unknown guild");
}

#[tokio::test]
async fn voice_states_need_the_guild_voice_states_intent() {
    let fake = start(config()).await;
    let mut shard = shard(&fake, 0, 1, Intents::GUILDS);
    let guild = next_matching(&mut shard, "GUILD_CREATE", |event| match event {
        Event::GuildCreate(create) => Some(*create),
        _ => None,
    })
    .await;
    let twilight_model::gateway::payload::incoming::GuildCreate::Available(guild) = guild else {
        panic!("guild unavailable");
    };
    assert!(guild.voice_states.is_empty());

    shard.sender().command(&UpdateVoiceState::new(Id::new(GUILD), Some(Id::new(VOICE)), false, false)).unwrap();
    // VOICE_SERVER_UPDATE needs no intent, VOICE_STATE_UPDATE does.
    next_matching(&mut shard, "VOICE_SERVER_UPDATE", |event| match event {
        Event::VoiceStateUpdate(_) => panic!("VOICE_STATE_UPDATE without the intent"),
        Event::VoiceServerUpdate(_) => Some(()),
        _ => None,
    })
    .await;
}

#[tokio::test]
async fn other_bots_in_voice_are_marked_as_bots() {
    let mut guild = guild();
    guild.voice_states.push((OTHER_BOT, VOICE));
    let fake = start(FakeDiscordConfig { guilds: vec![guild], bot_users: vec![OTHER_BOT], ..config() }).await;
    let mut shard = shard(&fake, 0, 1, intents());
    let guild = guild_create(&mut shard).await;
    let is_bot = |state: &VoiceState| state.member.as_ref().map(|member| member.user.bot);
    let bots: Vec<(u64, Option<bool>)> = guild.voice_states.iter().map(|s| (s.user_id.get(), is_bot(s))).collect();
    assert_eq!(bots, [(MEMBER, Some(false)), (OTHER_BOT, Some(true))]);

    fake.move_member(GUILD, OTHER_BOT, Some(OTHER_VOICE)).await.unwrap();
    let moved = voice_state_update(&mut shard, "VOICE_STATE_UPDATE of the other bot").await;
    assert_eq!((moved.user_id.get(), moved.channel_id.map(Id::get)), (OTHER_BOT, Some(OTHER_VOICE)));
    assert_eq!(is_bot(&moved), Some(true));
    fake.move_member(GUILD, MEMBER, None).await.unwrap();
    let left = voice_state_update(&mut shard, "VOICE_STATE_UPDATE of the member").await;
    assert_eq!((left.user_id.get(), is_bot(&left)), (MEMBER, Some(false)));
    // The bot under test has its own controls.
    assert!(fake.move_member(GUILD, fake.config().bot_user_id, Some(VOICE)).await.is_err());
}

#[tokio::test]
async fn send_interaction_arrives_as_a_slash_command() {
    let fake = start(config()).await;
    let mut shard = shard(&fake, 0, 1, intents());
    wait_for_guild_create(&mut shard).await;

    let interaction = fake.slash_command(
        GUILD,
        TEXT,
        MEMBER,
        "play",
        json!([{ "name": "query", "type": 3, "value": "never gonna" }]),
    );
    let token = interaction["token"].as_str().unwrap().to_owned();
    fake.send_interaction(GUILD, interaction).await.unwrap();

    let received = next_matching(&mut shard, "INTERACTION_CREATE", |event| match event {
        Event::InteractionCreate(create) => Some(create.0),
        _ => None,
    })
    .await;
    assert_eq!(received.kind, InteractionType::ApplicationCommand);
    assert_eq!(received.token, token);
    assert_eq!(received.guild_id.map(Id::get), Some(GUILD));
    assert_eq!(received.channel.as_ref().map(|c| c.id.get()), Some(TEXT));
    assert_eq!(received.author_id().map(Id::get), Some(MEMBER));
    let Some(InteractionData::ApplicationCommand(data)) = received.data else {
        panic!("not a command: {:?}", received.data);
    };
    assert_eq!(data.name, "play");
    assert_eq!(data.options[0].name, "query");
}

#[tokio::test]
async fn heartbeats_are_acked_across_several_intervals() {
    let fake = start(config()).await;
    let mut shard = shard(&fake, 0, 1, intents());
    // 250 ms interval: five acks take about 1.25 s plus the first jitter.
    let mut acks = 0;
    next_matching(&mut shard, "five heartbeat ACKs", |event| match event {
        Event::GatewayHeartbeatAck => {
            acks += 1;
            (acks == 5).then_some(())
        }
        Event::GatewayClose(frame) => panic!("shard closed: {frame:?}"),
        _ => None,
    })
    .await;
    assert!(fake.heartbeat_count() >= 5);
    assert_eq!(fake.identify_count(), 1);
    assert_eq!(fake.resume_count(), 0);
    assert!(shard.latency().average().is_some());
}

#[tokio::test]
async fn dropped_connection_is_resumed_and_later_dispatches_arrive() {
    let fake = start(config()).await;
    let mut shard = shard(&fake, 0, 1, intents());
    wait_for_guild_create(&mut shard).await;

    // Drop the socket; the shard must see our close code before resuming.
    let (dropped, close) = tokio::join!(
        fake.drop_connections(),
        next_matching(&mut shard, "GatewayClose", |event| match event {
            Event::GatewayClose(frame) => Some(frame.map(|frame| frame.code)),
            _ => None,
        })
    );
    assert_eq!(dropped.unwrap(), 1);
    assert_eq!(close, Some(4000));

    // Sent while the shard is between sockets: replayed on RESUME.
    fake.move_member(GUILD, MEMBER, Some(OTHER_VOICE)).await.unwrap();
    let mut resumed = false;
    let moved = next_matching(&mut shard, "RESUMED then VOICE_STATE_UPDATE", |event| {
        match event {
            Event::Resumed => resumed = true,
            Event::VoiceStateUpdate(update) => return Some(update.0),
            _ => {}
        }
        None
    })
    .await;
    assert_eq!(moved.user_id.get(), MEMBER);
    assert_eq!(moved.channel_id.map(Id::get), Some(OTHER_VOICE));
    if !resumed {
        // Replayed dispatches come before RESUMED.
        next_matching(&mut shard, "RESUMED", |event| matches!(event, Event::Resumed).then_some(())).await;
    }
    assert_eq!(fake.resume_count(), 1);
    assert_eq!(fake.identify_count(), 1);
    // twilight resumes at READY's resume_gateway_url.
    let connections = fake.gateway_connections();
    assert_eq!(connections.len(), 2);
    assert!(connections[1].starts_with("/resume/"), "{connections:?}");

    // And live dispatches keep flowing on the resumed socket.
    let interaction = fake.slash_command(GUILD, TEXT, MEMBER, "skip", json!([]));
    fake.send_interaction(GUILD, interaction).await.unwrap();
    next_matching(&mut shard, "INTERACTION_CREATE after resume", |event| {
        matches!(event, Event::InteractionCreate(_)).then_some(())
    })
    .await;
}

#[tokio::test]
async fn each_shard_receives_only_its_own_guilds() {
    let even = 1000_u64 << 22;
    let odd = 1001_u64 << 22;
    let fake = start(FakeDiscordConfig {
        guilds: vec![
            FakeGuild { id: even, text_channels: vec![TEXT], ..FakeGuild::default() },
            FakeGuild { id: odd, text_channels: vec![TEXT + 1], ..FakeGuild::default() },
        ],
        shards: 2,
        ..config()
    })
    .await;
    assert_eq!((fake.shard_for_guild(even), fake.shard_for_guild(odd)), (0, 1));
    let mut shard0 = shard(&fake, 0, 2, intents());
    let mut shard1 = shard(&fake, 1, 2, intents());

    let ready_guilds = |event: Event| match event {
        Event::Ready(ready) => Some(ready.guilds.iter().map(|g| g.id.get()).collect::<Vec<_>>()),
        _ => None,
    };
    assert_eq!(next_matching(&mut shard0, "READY 0", ready_guilds).await, vec![even]);
    assert_eq!(next_matching(&mut shard1, "READY 1", ready_guilds).await, vec![odd]);

    let interaction = fake.slash_command(odd, TEXT + 1, MEMBER, "play", json!([]));
    fake.send_interaction(odd, interaction).await.unwrap();
    let guild = next_matching(&mut shard1, "INTERACTION_CREATE on shard 1", |event| match event {
        Event::InteractionCreate(create) => Some(create.0.guild_id),
        _ => None,
    })
    .await;
    assert_eq!(guild.map(Id::get), Some(odd));
}

#[tokio::test]
async fn shard_with_the_wrong_shard_count_is_closed_with_invalid_shard() {
    let fake = start(config()).await;
    let mut shard = shard(&fake, 0, 2, intents());
    let code = next_matching(&mut shard, "GatewayClose", |event| match event {
        Event::GatewayClose(frame) => Some(frame.map(|frame| frame.code)),
        _ => None,
    })
    .await;
    assert_eq!(code, Some(4010));
    // 4010 is fatal in twilight: the stream ends.
    let end = tokio::time::timeout(EVENT_WAIT, shard.next_event(EventTypeFlags::all())).await;
    assert!(matches!(end, Ok(None)), "{end:?}");
}

/// A raw client: connect, read HELLO, send `frames`, return the close code.
async fn close_code_after(fake: &FakeDiscord, frames: &[&str]) -> Option<u16> {
    let uri = format!("{}/?v=10&encoding=json", fake.gateway_url());
    let (mut socket, _) = ClientBuilder::new().uri(&uri).unwrap().connect().await.unwrap();
    let hello = socket.next().await.unwrap().unwrap();
    let hello: Value = serde_json::from_str(hello.as_text().unwrap()).unwrap();
    assert_eq!(hello["op"], 10);
    assert_eq!(hello["d"]["heartbeat_interval"], 250);
    for frame in frames {
        socket.send(Message::text((*frame).to_owned())).await.unwrap();
    }
    let wait = async {
        while let Some(Ok(message)) = socket.next().await {
            if let Some((code, _)) = message.as_close() {
                return Some(u16::from(code));
            }
        }
        None
    };
    tokio::time::timeout(EVENT_WAIT, wait).await.unwrap()
}

const IDENTIFY_EMPTY_TOKEN: &str = r#"{"op":2,"d":{"token":"","intents":1,"properties":{},"shard":[0,1]}}"#;

#[tokio::test]
async fn bad_frames_are_closed_with_discords_close_codes() {
    let fake = start(config()).await;
    assert_eq!(close_code_after(&fake, &["not json"]).await, Some(4002));
    assert_eq!(close_code_after(&fake, &[r#"{"d":null}"#]).await, Some(4002));
    assert_eq!(close_code_after(&fake, &[IDENTIFY_EMPTY_TOKEN]).await, Some(4004));
    let voice = r#"{"op":4,"d":{"guild_id":"1","channel_id":null}}"#;
    assert_eq!(close_code_after(&fake, &[voice]).await, Some(4003));
    let identify = r#"{"op":2,"d":{"token":"Bot t","intents":1,"properties":{}}}"#;
    assert_eq!(close_code_after(&fake, &[identify, identify]).await, Some(4005));
    assert_eq!(close_code_after(&fake, &[identify, r#"{"op":99,"d":null}"#]).await, Some(4001));
    // The fake is still healthy afterwards.
    assert_eq!(fake.identify_count(), 2);
}

#[tokio::test]
async fn resume_of_an_unknown_session_gets_invalid_session() {
    let fake = start(config()).await;
    let uri = format!("{}/?v=10&encoding=json", fake.gateway_url());
    let (mut socket, _) = ClientBuilder::new().uri(&uri).unwrap().connect().await.unwrap();
    socket.next().await.unwrap().unwrap();
    let resume = json!({ "op": 6, "d": { "token": "Bot t", "session_id": "nope", "seq": 3 } });
    socket.send(Message::text(resume.to_string())).await.unwrap();
    let reply = socket.next().await.unwrap().unwrap();
    let reply: Value = serde_json::from_str(reply.as_text().unwrap()).unwrap();
    assert_eq!(reply["op"], 9);
    assert_eq!(reply["d"], false);
    assert_eq!(fake.resume_count(), 0);
}

#[tokio::test]
async fn http_client_reads_gateway_bot_and_current_user() {
    let fake = start(config()).await;
    let client = http(&fake);
    let info = client.gateway().authed().await.unwrap().model().await.unwrap();
    assert_eq!(info.url, fake.gateway_url());
    assert_eq!(info.shards, 1);
    assert_eq!(info.session_start_limit.max_concurrency, 1);
    let me = client.current_user().await.unwrap().model().await.unwrap();
    assert_eq!(me.id.get(), fake.config().bot_user_id);
    assert!(me.bot);
    let app = client.current_user_application().await.unwrap().model().await.unwrap();
    assert_eq!(app.id.get(), fake.config().application_id);

    let calls = fake.rest_calls();
    assert_eq!(calls.len(), 3);
    assert_eq!(calls[0].method, "GET");
    assert_eq!(calls[0].path, "/api/v10/gateway/bot");
    assert!(calls.iter().all(|call| call.authorized && call.status == 200));
    assert!(!format!("{calls:?}").contains("test-token"));
}

#[tokio::test]
async fn http_requests_without_a_token_are_unauthorized() {
    let fake = start(config()).await;
    let client = Client::builder().proxy(fake.rest_addr(), true).ratelimiter(None).build();
    let error = client.current_user().await.unwrap_err();
    assert!(matches!(error.kind(), ErrorType::Response { status, .. } if status.get() == 401), "{error:?}");
}

#[tokio::test]
async fn http_client_defers_then_edits_the_original_response() {
    let fake = start(config()).await;
    let client = http(&fake);
    let app = Id::new(fake.config().application_id);
    let interactions = client.interaction(app);
    let token = "interaction-token-1";

    let deferred = InteractionResponse { kind: InteractionResponseType::DeferredChannelMessageWithSource, data: None };
    interactions.create_response(Id::new(11), token, &deferred).await.unwrap();
    assert_eq!(fake.original_message(token).as_deref(), Some(""));
    assert_eq!(fake.interaction_response(token).unwrap()["type"], 5);

    let edited = interactions
        .update_response(token)
        .content(Some("Now playing: never gonna"))
        .await
        .unwrap()
        .model()
        .await
        .unwrap();
    assert_eq!(edited.content, "Now playing: never gonna");
    assert_eq!(edited.webhook_id.map(Id::get), Some(app.get()));
    assert_eq!(fake.original_message(token).as_deref(), Some("Now playing: never gonna"));
    let fetched = interactions.response(token).await.unwrap().model().await.unwrap();
    assert_eq!(fetched.id, edited.id);

    let followup = interactions.create_followup(token).content("queued 2 more").await.unwrap().model().await.unwrap();
    assert_eq!(followup.content, "queued 2 more");
    assert_eq!(fake.followup_messages(token), vec!["queued 2 more".to_owned()]);

    // A second acknowledgement is refused like Discord does.
    let again = interactions.create_response(Id::new(11), token, &deferred).await.unwrap_err();
    assert!(matches!(again.kind(), ErrorType::Response { status, .. } if status.get() == 400), "{again:?}");

    let patch = fake
        .wait_for_call(
            |call| call.method == "PATCH" && call.path.ends_with("/messages/@original"),
            Duration::from_secs(1),
        )
        .await
        .unwrap();
    assert_eq!(patch.body.unwrap()["content"], "Now playing: never gonna");
    assert!(!patch.authorized, "interaction webhooks need no bot token");
}

#[tokio::test]
async fn unknown_webhook_token_is_a_404_error() {
    let fake = start(config()).await;
    let client = http(&fake);
    let error = client
        .interaction(Id::new(fake.config().application_id))
        .update_response("never-seen")
        .content(Some("hello"))
        .await
        .unwrap_err();
    match error.kind() {
        ErrorType::Response { status, error, .. } => {
            assert_eq!(status.get(), 404);
            assert!(error.to_string().contains("10015"), "{error}");
        }
        other => panic!("expected a response error, got {other:?}"),
    }
    assert_eq!(fake.rest_calls()[0].status, 404);
}

fn command(name: &str) -> Command {
    serde_json::from_value(json!({
        "type": 1,
        "name": name,
        "description": format!("{name} a song"),
        "options": [{ "type": 3, "name": "query", "description": "what", "required": false }],
        "default_member_permissions": null,
        "version": "1",
    }))
    .unwrap()
}

#[tokio::test]
async fn http_client_bulk_sets_global_and_guild_commands() {
    let fake = start(config()).await;
    let client = http(&fake);
    let interactions = client.interaction(Id::new(fake.config().application_id));

    let global =
        interactions.set_global_commands(&[command("play"), command("skip")]).await.unwrap().models().await.unwrap();
    assert_eq!(global.len(), 2);
    assert!(global.iter().all(|command| command.id.is_some()));
    let guild =
        interactions.set_guild_commands(Id::new(GUILD), &[command("debug")]).await.unwrap().models().await.unwrap();
    assert_eq!(guild[0].guild_id.map(Id::get), Some(GUILD));

    let registered = fake.registered_commands(None);
    let names: Vec<&str> = registered.iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["play", "skip"]);
    assert_eq!(fake.registered_commands(Some(GUILD))[0]["name"], "debug");

    // Overwriting keeps the id of a command with the same name.
    let again = interactions.set_global_commands(&[command("play")]).await.unwrap().models().await.unwrap();
    assert_eq!(again[0].id, global[0].id);
    assert_eq!(fake.registered_commands(None).len(), 1);

    // slash_command uses the registered id.
    let interaction = fake.slash_command(GUILD, TEXT, MEMBER, "play", json!([]));
    assert_eq!(interaction["data"]["id"], json!(global[0].id.unwrap().get().to_string()));
}

#[tokio::test]
async fn http_client_creates_a_dm_and_posts_messages() {
    let fake = start(config()).await;
    let client = http(&fake);
    let channel = client.create_private_channel(Id::new(MEMBER)).await.unwrap().model().await.unwrap();
    let recipients = channel.recipients.unwrap();
    assert_eq!(recipients[0].id.get(), MEMBER);

    let dm =
        client.create_message(channel.id).content("your request was approved").await.unwrap().model().await.unwrap();
    assert_eq!(dm.channel_id, channel.id);
    client.create_message(Id::new(TEXT)).content("hello guild").await.unwrap();
    let unknown = client.create_message(Id::new(999)).content("nowhere").await.unwrap_err();
    assert!(matches!(unknown.kind(), ErrorType::Response { status, .. } if status.get() == 404), "{unknown:?}");

    let sent = fake.messages_sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].recipient_id, Some(MEMBER));
    assert_eq!(sent[0].content, "your request was approved");
    assert_eq!(sent[1].guild_id, Some(GUILD));
    assert_eq!(sent[1].recipient_id, None);
}

#[tokio::test]
async fn out_of_band_interaction_response_allows_webhook_edits() {
    let fake = start(config()).await;
    let token = "http-interaction";
    assert!(fake.accept_interaction_response(token, json!({ "type": 5 })));
    let client = http(&fake);
    client
        .interaction(Id::new(fake.config().application_id))
        .update_response(token)
        .content(Some("done"))
        .await
        .unwrap();
    assert_eq!(fake.original_message(token).as_deref(), Some("done"));
}

/// A raw client that identifies, reads READY (session id and sequence),
/// then closes with `code`; returns the session id and the last sequence.
async fn identify_then_close(fake: &FakeDiscord, code: u16) -> (String, u64) {
    let uri = format!("{}/?v=10&encoding=json", fake.gateway_url());
    let (mut socket, _) = ClientBuilder::new().uri(&uri).unwrap().connect().await.unwrap();
    socket.next().await.unwrap().unwrap();
    let identify = r#"{"op":2,"d":{"token":"Bot t","intents":1,"properties":{}}}"#;
    socket.send(Message::text(identify.to_owned())).await.unwrap();
    let ready = socket.next().await.unwrap().unwrap();
    let ready: Value = serde_json::from_str(ready.as_text().unwrap()).unwrap();
    assert_eq!(ready["t"], "READY");
    let session_id = ready["d"]["session_id"].as_str().unwrap().to_owned();
    let seq = ready["s"].as_u64().unwrap();
    let close = tokio_websockets::CloseCode::try_from(code).unwrap();
    socket.send(Message::close(Some(close), "bye")).await.unwrap();
    // Read until the fake's close reply, so it has seen ours.
    while let Some(Ok(message)) = socket.next().await {
        if message.is_close() {
            break;
        }
    }
    (session_id, seq)
}

/// What the fake answers a RESUME of `session_id` at `seq` with: op 9, or
/// RESUMED (after any replayed dispatches).
async fn resume_reply(fake: &FakeDiscord, session_id: &str, seq: u64) -> Value {
    let uri = format!("{}/resume/?v=10&encoding=json", fake.gateway_url());
    let (mut socket, _) = ClientBuilder::new().uri(&uri).unwrap().connect().await.unwrap();
    socket.next().await.unwrap().unwrap();
    let resume = json!({ "op": 6, "d": { "token": "Bot t", "session_id": session_id, "seq": seq } });
    socket.send(Message::text(resume.to_string())).await.unwrap();
    loop {
        let reply = tokio::time::timeout(EVENT_WAIT, socket.next()).await.unwrap().unwrap().unwrap();
        let reply: Value = serde_json::from_str(reply.as_text().unwrap()).unwrap();
        if reply["op"] == 9 || reply["t"] == "RESUMED" {
            return reply;
        }
    }
}

#[tokio::test]
async fn a_client_close_with_1000_or_1001_ends_the_session_and_4000_keeps_it() {
    let fake = start(config()).await;
    for code in [1000, 1001] {
        let (session_id, seq) = identify_then_close(&fake, code).await;
        let reply = resume_reply(&fake, &session_id, seq).await;
        assert_eq!((reply["op"].clone(), reply["d"].clone()), (json!(9), json!(false)), "after {code}: {reply}");
    }
    assert_eq!(fake.sessions_ended(), 2);
    let (session_id, seq) = identify_then_close(&fake, 4000).await;
    let reply = resume_reply(&fake, &session_id, seq).await;
    assert_eq!(reply["t"], "RESUMED", "after 4000: {reply}");
    assert_eq!(fake.resume_count(), 1);
    assert_eq!(fake.sessions_ended(), 2, "4000 ended nothing");
}

#[tokio::test]
async fn each_identify_uses_one_session_start_and_the_limit_is_settable() {
    use timmybot_test_support::fake_discord::SessionStartLimit;
    let fake = start(FakeDiscordConfig {
        session_start_limit: SessionStartLimit { total: 40, remaining: 30, reset_after_ms: 60_000, max_concurrency: 2 },
        ..config()
    })
    .await;
    let client = http(&fake);
    let limit = client.gateway().authed().await.unwrap().model().await.unwrap().session_start_limit;
    assert_eq!((limit.total, limit.remaining, limit.reset_after, limit.max_concurrency), (40, 30, 60_000, 2));
    identify_then_close(&fake, 4000).await;
    let limit = client.gateway().authed().await.unwrap().model().await.unwrap().session_start_limit;
    assert_eq!(limit.remaining, 29, "one identify, one session start");
    fake.set_identifies_remaining(3);
    assert_eq!(fake.session_start_limit().remaining, 3);
}
