//! DAVE, Discord's end-to-end encryption for voice, on the server's side.
//!
//! A real voice server relays MLS messages between the members of a call
//! and is the group's *external sender*: it proposes who joins and leaves,
//! the members commit. This fake plays the server and, as [`DaveCall`], one
//! virtual listener ([`LISTENER_USER_ID`]) who decrypts what the bot sends,
//! plus an optional guest ([`GUEST_USER_ID`]) a test adds and removes to
//! force new epochs mid-song.
//!
//! The handshake, as songbird 0.6.1 (davey 0.1.5) expects it, after op4
//! announced `dave_protocol_version: 1`:
//!
//! 1. the bot sends op26, its key package (binary);
//! 2. the server sends op25, the external sender (a fresh P-256 key), then
//!    op11 `ClientsConnect` naming the listener (songbird only commits Add
//!    proposals for users it has seen), then op27 with an external Add
//!    proposal of the listener's key package at epoch 0;
//! 3. the bot sends op28, its commit and the Welcome for the listener;
//! 4. the listener joins through the Welcome, and the server announces the
//!    commit to the bot with op29 `[transition id][commit]`; with a non-zero
//!    id the bot answers op23 (ready) and the server executes with op22.
//!
//! From its commit on, songbird encrypts every Opus frame but silence; a
//! DAVE frame ends in the magic marker `FA FA`.

use std::num::NonZeroU16;

use davey::{DaveSession, MediaType};
use openmls::prelude::{
    BasicCredential, Ciphersuite, ExternalProposal, ExternalSender, GroupEpoch, GroupId, KeyPackageIn, MlsMessageIn,
    OpenMlsProvider as _, ProtocolVersion, SenderExtensionIndex,
    tls_codec::{Deserialize as _, Serialize as _, VLBytes},
};
use openmls_basic_credential::SignatureKeyPair;
use openmls_rust_crypto::OpenMlsRustCrypto;

/// The user id of the virtual listener that decrypts the bot's frames.
pub const LISTENER_USER_ID: u64 = 424_242_424_242_424_242;
/// The user id of the guest a test adds and removes mid-song.
pub const GUEST_USER_ID: u64 = 525_252_525_252_525_252;
/// The last two bytes of every DAVE-encrypted frame.
pub const DAVE_MAGIC: [u8; 2] = [0xFA, 0xFA];

/// The MLS ciphersuite DAVE protocol version 1 uses.
const CIPHERSUITE: Ciphersuite = Ciphersuite::MLS_128_DHKEMP256_AES128GCM_SHA256_P256;

/// An error of the server-side DAVE bookkeeping; the text is for traces.
#[derive(Debug)]
pub struct DaveError(String);

impl std::fmt::Display for DaveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DaveError {}

fn fail(what: &str, error: impl std::fmt::Debug) -> DaveError {
    DaveError(format!("{what}: {error:?}"))
}

/// Returns whether `payload` (after transport decryption) is a DAVE frame.
pub fn is_dave_frame(payload: &[u8]) -> bool {
    payload.len() > DAVE_MAGIC.len() && payload.ends_with(&DAVE_MAGIC)
}

/// What changed the group, for the bot to commit: what op27 carries.
pub(crate) struct Proposal {
    /// The op27 frame body after the opcode: `[operation = append][VLBytes]`.
    pub(crate) body: Vec<u8>,
    /// User ids to announce with op11 before it (empty for a removal).
    pub(crate) connect: Vec<u64>,
}

/// One call's DAVE state on the server: the external sender and the
/// virtual members.
pub(crate) struct DaveCall {
    channel_id: u64,
    bot_user_id: u64,
    signer: SignatureKeyPair,
    external_sender: Vec<u8>,
    listener: DaveSession,
    guest: Option<DaveSession>,
    /// What the bot is being asked to commit, so its op28 is routed right.
    pending: Pending,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    Nothing,
    ListenerJoin,
    GuestJoin,
    GuestLeave,
}

impl std::fmt::Debug for DaveCall {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DaveCall")
            .field("channel_id", &self.channel_id)
            .field("bot_user_id", &self.bot_user_id)
            .field("epoch", &self.epoch())
            .field("guest", &self.guest.is_some())
            .finish_non_exhaustive()
    }
}

fn version_1() -> NonZeroU16 {
    NonZeroU16::MIN
}

impl DaveCall {
    /// Starts a call's group state: a fresh external sender key, and the
    /// listener's pending session.
    pub(crate) fn new(channel_id: u64, bot_user_id: u64) -> Result<Self, DaveError> {
        let signer =
            SignatureKeyPair::new(CIPHERSUITE.signature_algorithm()).map_err(|e| fail("external sender key", e))?;
        let external_sender = ExternalSender::new(signer.public().into(), BasicCredential::new(vec![0]).into())
            .tls_serialize_detached()
            .map_err(|e| fail("external sender", e))?;
        let listener = member(LISTENER_USER_ID, channel_id, &external_sender)?;
        Ok(Self { channel_id, bot_user_id, signer, external_sender, listener, guest: None, pending: Pending::Nothing })
    }

    /// The op25 payload: the serialized external sender.
    pub(crate) fn external_sender(&self) -> &[u8] {
        &self.external_sender
    }

    /// The group's epoch as the listener sees it; `None` before it joined.
    pub(crate) fn epoch(&self) -> Option<u64> {
        self.listener.epoch().map(|epoch| epoch.as_u64())
    }

    /// Whether the listener is in the group (it can decrypt).
    pub(crate) fn listener_ready(&self) -> bool {
        self.listener.is_ready()
    }

    /// Whether a guest is in the group or joining.
    #[cfg(test)]
    pub(crate) fn has_guest(&self) -> bool {
        self.guest.is_some()
    }

    /// The proposal that adds the listener to the bot's new group (epoch 0),
    /// answering the bot's first key package (op26).
    pub(crate) fn propose_listener(&mut self) -> Result<Proposal, DaveError> {
        // A reinit (the bot sent a new key package) starts over at epoch 0.
        self.listener = member(LISTENER_USER_ID, self.channel_id, &self.external_sender)?;
        self.guest = None;
        let key_package = self.listener.create_key_package().map_err(|e| fail("listener key package", e))?;
        let body = self.add_proposal(&key_package, 0)?;
        self.pending = Pending::ListenerJoin;
        Ok(Proposal { body, connect: vec![LISTENER_USER_ID] })
    }

    /// The proposal that adds a guest at the current epoch.
    pub(crate) fn propose_guest_join(&mut self) -> Result<Proposal, DaveError> {
        let epoch =
            self.epoch().filter(|_| self.listener_ready()).ok_or_else(|| DaveError("no group to join yet".into()))?;
        let mut guest = member(GUEST_USER_ID, self.channel_id, &self.external_sender)?;
        let key_package = guest.create_key_package().map_err(|e| fail("guest key package", e))?;
        let body = self.add_proposal(&key_package, epoch)?;
        self.member_sees(&body)?;
        self.guest = Some(guest);
        self.pending = Pending::GuestJoin;
        Ok(Proposal { body, connect: vec![GUEST_USER_ID] })
    }

    /// The proposal that removes the guest at the current epoch.
    pub(crate) fn propose_guest_leave(&mut self) -> Result<Proposal, DaveError> {
        let epoch = self.epoch().filter(|_| self.listener_ready()).ok_or_else(|| DaveError("no group yet".into()))?;
        let leaf = self
            .guest
            .as_ref()
            .and_then(DaveSession::own_leaf_index)
            .ok_or_else(|| DaveError("no guest in the group".into()))?;
        let message = ExternalProposal::new_remove::<OpenMlsRustCrypto>(
            leaf,
            GroupId::from_slice(&self.channel_id.to_be_bytes()),
            GroupEpoch::from(epoch),
            &self.signer,
            SenderExtensionIndex::new(0),
        )
        .map_err(|e| fail("remove proposal", e))?;
        let body = append(message.tls_serialize_detached().map_err(|e| fail("remove proposal", e))?)?;
        self.member_sees(&body)?;
        self.pending = Pending::GuestLeave;
        Ok(Proposal { body, connect: Vec::new() })
    }

    /// Takes the bot's op28 (`[commit][welcome?]`, after the opcode): the
    /// members it concerns process it; returns the commit to announce to
    /// the bot with op29.
    pub(crate) fn commit_welcome(&mut self, body: &[u8]) -> Result<Vec<u8>, DaveError> {
        let mut rest = body;
        MlsMessageIn::tls_deserialize(&mut rest).map_err(|e| fail("commit", e))?;
        let (commit, welcome) = body.split_at(body.len() - rest.len());
        let pending = std::mem::replace(&mut self.pending, Pending::Nothing);
        match pending {
            Pending::ListenerJoin => {
                self.listener.process_welcome(welcome).map_err(|e| fail("listener welcome", e))?;
            }
            Pending::GuestJoin => {
                self.listener.process_commit(commit).map_err(|e| fail("listener commit", e))?;
                let guest = self.guest.as_mut().ok_or_else(|| DaveError("guest vanished".into()))?;
                guest.process_welcome(welcome).map_err(|e| fail("guest welcome", e))?;
            }
            Pending::GuestLeave => {
                self.listener.process_commit(commit).map_err(|e| fail("listener commit", e))?;
                self.guest = None;
            }
            Pending::Nothing => return Err(DaveError("a commit nobody asked for".into())),
        }
        Ok(commit.to_vec())
    }

    /// Decrypts a DAVE frame from the bot as the listener; the Opus frame.
    pub(crate) fn decrypt(&mut self, frame: &[u8]) -> Result<Vec<u8>, DaveError> {
        self.listener.decrypt(self.bot_user_id, MediaType::AUDIO, frame).map_err(|e| fail("dave frame", e))
    }

    /// The listener, a member already, receives the proposals too: the
    /// bot's commit refers to them, and a member cannot apply a commit
    /// whose proposals it never saw. (davey also prepares a commit of the
    /// listener's own, which applying the bot's discards.)
    fn member_sees(&mut self, body: &[u8]) -> Result<(), DaveError> {
        self.listener
            .process_proposals(davey::ProposalsOperationType::APPEND, &body[1..], None)
            .map_err(|e| fail("listener proposals", e))?;
        Ok(())
    }

    fn add_proposal(&self, key_package: &[u8], epoch: u64) -> Result<Vec<u8>, DaveError> {
        let provider = OpenMlsRustCrypto::default();
        let key_package = KeyPackageIn::tls_deserialize_exact(key_package)
            .map_err(|e| fail("key package", e))?
            .validate(provider.crypto(), ProtocolVersion::Mls10)
            .map_err(|e| fail("key package", e))?;
        let message = ExternalProposal::new_add::<OpenMlsRustCrypto>(
            key_package,
            GroupId::from_slice(&self.channel_id.to_be_bytes()),
            GroupEpoch::from(epoch),
            &self.signer,
            SenderExtensionIndex::new(0),
        )
        .map_err(|e| fail("add proposal", e))?;
        append(message.tls_serialize_detached().map_err(|e| fail("add proposal", e))?)
    }
}

/// A member's session that knows the external sender, ready to join.
fn member(user_id: u64, channel_id: u64, external_sender: &[u8]) -> Result<DaveSession, DaveError> {
    let mut session = DaveSession::new(version_1(), user_id, channel_id, None).map_err(|e| fail("session", e))?;
    session.set_external_sender(external_sender).map_err(|e| fail("external sender", e))?;
    Ok(session)
}

/// op27's body: operation `append` (0), then the messages as `VLBytes`.
fn append(messages: Vec<u8>) -> Result<Vec<u8>, DaveError> {
    let mut body = vec![0];
    body.extend(VLBytes::new(messages).tls_serialize_detached().map_err(|e| fail("proposals", e))?);
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOT: u64 = 111;
    const CHANNEL: u64 = 999;

    /// What songbird does on its side, with davey, for each server message.
    fn bot_commits(bot: &mut DaveSession, proposal: &Proposal) -> Vec<u8> {
        let mut ids = vec![BOT];
        ids.extend(&proposal.connect);
        ids.extend([LISTENER_USER_ID, GUEST_USER_ID]);
        let commit =
            bot.process_proposals(davey::ProposalsOperationType::APPEND, &proposal.body[1..], Some(&ids)).unwrap();
        let commit = commit.expect("a commit");
        let mut wire = commit.commit;
        wire.extend(commit.welcome.unwrap_or_default());
        wire
    }

    #[test]
    fn the_listener_joins_decrypts_and_follows_a_guest_in_and_out() {
        let mut call = DaveCall::new(CHANNEL, BOT).unwrap();
        let mut bot = DaveSession::new(version_1(), BOT, CHANNEL, None).unwrap();
        bot.create_key_package().unwrap();
        bot.set_external_sender(call.external_sender()).unwrap();

        let proposal = call.propose_listener().unwrap();
        assert_eq!(proposal.body[0], 0, "append");
        let wire = bot_commits(&mut bot, &proposal);
        let commit = call.commit_welcome(&wire).unwrap();
        bot.process_commit(&commit).unwrap();
        assert!(bot.is_ready() && call.listener_ready());
        assert_eq!(call.epoch(), Some(1));

        let opus = [0x78u8, 1, 2, 3, 4, 5, 6, 7];
        let frame = bot.encrypt_opus(&opus).unwrap().into_owned();
        assert!(is_dave_frame(&frame));
        assert_eq!(call.decrypt(&frame).unwrap(), opus);

        // A guest joins: a new epoch, and the listener still decrypts.
        let wire = bot_commits(&mut bot, &call.propose_guest_join().unwrap());
        bot.process_commit(&call.commit_welcome(&wire).unwrap()).unwrap();
        assert_eq!(call.epoch(), Some(2));
        assert!(call.has_guest());
        let frame = bot.encrypt_opus(&opus).unwrap().into_owned();
        assert_eq!(call.decrypt(&frame).unwrap(), opus);

        // The guest leaves: another epoch; the commit has no Welcome.
        let wire = bot_commits(&mut bot, &call.propose_guest_leave().unwrap());
        bot.process_commit(&call.commit_welcome(&wire).unwrap()).unwrap();
        assert_eq!(call.epoch(), Some(3));
        assert!(!call.has_guest());
        let frame = bot.encrypt_opus(&opus).unwrap().into_owned();
        assert_eq!(call.decrypt(&frame).unwrap(), opus);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        let mut call = DaveCall::new(CHANNEL, BOT).unwrap();
        assert!(call.commit_welcome(&[1, 2, 3]).is_err());
        assert!(call.commit_welcome(&[]).is_err());
        assert!(call.decrypt(&[0xF8, 0xFA, 0xFA]).is_err(), "not in a group yet");
        assert!(call.propose_guest_leave().is_err(), "no guest");
        assert!(call.propose_guest_join().is_err(), "no group");
        assert!(!is_dave_frame(&DAVE_MAGIC), "the marker alone is not a frame");
        assert!(!is_dave_frame(&[0xF8, 0xFF, 0xFE]));
    }
}
