//! Signs interactions the way Discord does, and builds interaction JSON.
//!
//! Discord signs `timestamp + body` with the application's Ed25519 key and
//! sends the hex signature in `X-Signature-Ed25519` and the Unix timestamp in
//! `X-Signature-Timestamp`. [`InteractionSigner`] does the same with a key
//! made from a fixed seed, so tests are deterministic and the handler under
//! test is configured with [`InteractionSigner::public_key_hex`].

use ed25519_dalek::{Signer, SigningKey};
use serde_json::{Map, Value, json};
use timmybot_core::{ApplicationId, ChannelId, GuildId, InteractionId, UserId};

/// The signature header, as Discord spells it.
pub const SIGNATURE_HEADER: &str = "X-Signature-Ed25519";
/// The timestamp header, as Discord spells it.
pub const TIMESTAMP_HEADER: &str = "X-Signature-Timestamp";

/// An Ed25519 keypair standing in for a Discord application's key.
#[derive(Debug, Clone)]
pub struct InteractionSigner {
    key: SigningKey,
}

impl InteractionSigner {
    /// A signer whose keypair is derived from `seed` (same seed, same key).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        Self { key: SigningKey::from_bytes(&seed) }
    }

    /// The public key as hex, as the Discord developer portal shows it.
    pub fn public_key_hex(&self) -> String {
        hex::encode(self.key.verifying_key().as_bytes())
    }

    /// The hex signature of `timestamp` followed by `body`.
    pub fn sign(&self, body: &[u8], timestamp: &str) -> String {
        let mut message = Vec::with_capacity(timestamp.len() + body.len());
        message.extend_from_slice(timestamp.as_bytes());
        message.extend_from_slice(body);
        hex::encode(self.key.sign(&message).to_bytes())
    }

    /// The headers Discord would send with `body` signed at `unix_ts`
    /// (signature, timestamp and content type).
    pub fn signed_headers(&self, body: &[u8], unix_ts: u64) -> Vec<(String, String)> {
        let timestamp = unix_ts.to_string();
        vec![
            (SIGNATURE_HEADER.to_owned(), self.sign(body, &timestamp)),
            (TIMESTAMP_HEADER.to_owned(), timestamp),
            ("Content-Type".to_owned(), "application/json".to_owned()),
        ]
    }
}

impl Default for InteractionSigner {
    /// The signer for seed `[42; 32]`.
    fn default() -> Self {
        Self::from_seed([42; 32])
    }
}

/// Application id used by [`SlashCommand::default`] and [`ping`].
pub const SAMPLE_APPLICATION_ID: u64 = 1_100_000_000_000_000_001;

/// The parts of a slash command interaction a test chooses.
///
/// `Default` gives a command in a guild with fixed sample ids; set
/// `guild_id: None` for a DM.
#[derive(Debug, Clone)]
pub struct SlashCommand {
    /// The interaction id.
    pub id: InteractionId,
    /// The application it is sent to ([`SAMPLE_APPLICATION_ID`] by default).
    pub application_id: ApplicationId,
    /// The guild; `None` builds a DM interaction (top-level `user`).
    pub guild_id: Option<GuildId>,
    /// The channel it is run in.
    pub channel_id: Option<ChannelId>,
    /// The member (or DM user) who runs it.
    pub user_id: UserId,
    /// The interaction token.
    pub token: String,
    /// The command's name, without the slash.
    pub name: String,
    /// Options as name and value; the option type follows the JSON value
    /// (string 3, integer 4, boolean 5, other numbers 10).
    pub options: Vec<(String, Value)>,
}

impl Default for SlashCommand {
    fn default() -> Self {
        Self {
            id: InteractionId::new(1_200_000_000_000_000_001).expect("non-zero"),
            application_id: ApplicationId::new(SAMPLE_APPLICATION_ID).expect("non-zero"),
            guild_id: GuildId::new(1_300_000_000_000_000_001),
            channel_id: ChannelId::new(1_400_000_000_000_000_001),
            user_id: UserId::new(1_500_000_000_000_000_001).expect("non-zero"),
            token: "sample-interaction-token".to_owned(),
            name: "play".to_owned(),
            options: Vec::new(),
        }
    }
}

/// A slash command interaction (type 2) as Discord sends it.
pub fn slash_command(command: SlashCommand) -> Value {
    let user = json!({
        "id": command.user_id.to_string(),
        "username": "tester",
        "discriminator": "0",
        "global_name": "Tester",
        "avatar": null,
    });
    let options: Vec<Value> = command
        .options
        .into_iter()
        .map(|(name, value)| json!({ "name": name, "type": option_type(&value), "value": value }))
        .collect();

    let mut interaction = Map::new();
    interaction.insert("type".into(), json!(2));
    interaction.insert("id".into(), json!(command.id.to_string()));
    interaction.insert("application_id".into(), json!(command.application_id.to_string()));
    interaction.insert("token".into(), json!(command.token));
    interaction.insert("version".into(), json!(1));
    interaction.insert("locale".into(), json!("en-US"));
    interaction.insert("entitlements".into(), json!([]));
    interaction.insert(
        "data".into(),
        json!({ "id": "1600000000000000001", "name": command.name, "type": 1, "options": options }),
    );
    if let Some(channel) = command.channel_id {
        interaction.insert("channel_id".into(), json!(channel.to_string()));
        let kind = if command.guild_id.is_some() { 0 } else { 1 };
        interaction.insert("channel".into(), json!({ "id": channel.to_string(), "type": kind }));
    }
    match command.guild_id {
        Some(guild) => {
            interaction.insert("guild_id".into(), json!(guild.to_string()));
            interaction.insert("guild_locale".into(), json!("en-US"));
            interaction.insert("context".into(), json!(0));
            interaction.insert(
                "member".into(),
                json!({ "user": user, "roles": [], "permissions": "0", "joined_at": "2024-01-01T00:00:00+00:00",
                        "deaf": false, "mute": false, "flags": 0 }),
            );
        }
        None => {
            interaction.insert("context".into(), json!(1));
            interaction.insert("user".into(), user);
        }
    }
    Value::Object(interaction)
}

/// A PING (type 1), which Discord sends to check the endpoint.
pub fn ping() -> Value {
    let sample = SlashCommand::default();
    json!({
        "type": 1,
        "id": sample.id.to_string(),
        "application_id": sample.application_id.to_string(),
        "token": sample.token,
        "version": 1,
    })
}

fn option_type(value: &Value) -> u8 {
    match value {
        Value::Bool(_) => 5,
        Value::Number(n) if n.is_i64() || n.is_u64() => 4,
        Value::Number(_) => 10,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::{Signature, VerifyingKey};

    #[test]
    fn signature_verifies_over_timestamp_then_body() {
        let signer = InteractionSigner::default();
        let signature = signer.sign(b"{\"type\":1}", "1700000000");
        let key: [u8; 32] = hex::decode(signer.public_key_hex()).unwrap().try_into().unwrap();
        let sig: [u8; 64] = hex::decode(signature).unwrap().try_into().unwrap();
        VerifyingKey::from_bytes(&key)
            .unwrap()
            .verify_strict(b"1700000000{\"type\":1}", &Signature::from_bytes(&sig))
            .unwrap();
    }

    #[test]
    fn same_seed_gives_same_key_and_other_seeds_differ() {
        assert_eq!(
            InteractionSigner::from_seed([1; 32]).public_key_hex(),
            InteractionSigner::from_seed([1; 32]).public_key_hex()
        );
        assert_ne!(
            InteractionSigner::from_seed([1; 32]).public_key_hex(),
            InteractionSigner::default().public_key_hex()
        );
    }

    #[test]
    fn signed_headers_carry_signature_and_timestamp() {
        let signer = InteractionSigner::default();
        let headers = signer.signed_headers(b"x", 1_700_000_000);
        assert_eq!(headers[0], (SIGNATURE_HEADER.to_owned(), signer.sign(b"x", "1700000000")));
        assert_eq!(headers[1], (TIMESTAMP_HEADER.to_owned(), "1700000000".to_owned()));
    }

    #[test]
    fn slash_command_in_a_guild_has_member_and_typed_options() {
        let value = slash_command(SlashCommand {
            options: vec![("query".into(), json!("https://x/a.mp3")), ("volume".into(), json!(70))],
            ..SlashCommand::default()
        });
        assert_eq!(value["type"], 2);
        assert_eq!(value["member"]["user"]["id"], "1500000000000000001");
        assert!(value.get("user").is_none());
        assert_eq!(value["data"]["options"][0], json!({"name": "query", "type": 3, "value": "https://x/a.mp3"}));
        assert_eq!(value["data"]["options"][1]["type"], 4);
    }

    #[test]
    fn slash_command_in_a_dm_has_user_and_no_guild() {
        let value = slash_command(SlashCommand { guild_id: None, ..SlashCommand::default() });
        assert!(value.get("guild_id").is_none());
        assert!(value.get("member").is_none());
        assert_eq!(value["user"]["id"], "1500000000000000001");
    }

    #[test]
    fn ping_is_type_one() {
        assert_eq!(ping()["type"], 1);
    }
}
