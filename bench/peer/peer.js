// The peer of the voice benchmark (docs/performance.md): N @discordjs/voice
// connections in this one Node process, each with its own AudioPlayer (one
// player per guild, as Muse and most bots run it), all playing the same file
// into the benchmark's sink.
//
// Usage: node peer.js --endpoint 127.0.0.1:PORT --streams N --file F
//                     --input passthrough|transcoded
// The sink's TLS certificate is trusted through NODE_EXTRA_CA_CERTS.
//
// It speaks the same line protocol as `voice-bench bot`: prints `hello`; on
// `connect` joins guilds 1..=N and prints `connected <ok> <failed>`; on
// `play` starts every player and prints `playing`; `quit` exits.
'use strict';

const fs = require('node:fs');
const readline = require('node:readline');
const {
  joinVoiceChannel,
  createAudioPlayer,
  createAudioResource,
  entersState,
  NoSubscriberBehavior,
  StreamType,
  VoiceConnectionStatus,
} = require('@discordjs/voice');

const BOT_USER_ID = '4242';
// The same limit as the songbird side: handshakes set up at once.
const CONNECT_CONCURRENCY = 32;
// A canonical WAV header: the transcoded input is the PCM after it.
const WAV_HEADER_LEN = 44;

function parseArgs(argv) {
  const args = {};
  for (let i = 0; i < argv.length; i += 2) {
    const key = argv[i];
    const value = argv[i + 1];
    if (!key.startsWith('--') || value === undefined) throw new Error(`bad argument ${key}`);
    args[key.slice(2)] = value;
  }
  for (const needed of ['endpoint', 'streams', 'file', 'input']) {
    if (!args[needed]) throw new Error(`--${needed} is required`);
  }
  args.streams = Number.parseInt(args.streams, 10);
  if (!(args.streams > 0)) throw new Error('--streams must be a positive number');
  if (!['passthrough', 'transcoded'].includes(args.input)) throw new Error('--input is passthrough or transcoded');
  return args;
}

// A gateway adapter with no gateway: when the connection asks to join
// (op 4), it is handed the VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE that
// Discord would send, pointing at the sink.
function adapterFor(guildId, endpoint) {
  return (methods) => ({
    sendPayload(payload) {
      if (payload.op === 4 && payload.d.channel_id) {
        setImmediate(() => {
          methods.onVoiceStateUpdate({
            guild_id: guildId,
            channel_id: payload.d.channel_id,
            user_id: BOT_USER_ID,
            session_id: `peer-session-${guildId}`,
            deaf: false,
            mute: false,
            self_deaf: false,
            self_mute: false,
            self_video: false,
            suppress: false,
            request_to_speak_timestamp: null,
          });
          // `<secret>.<channel id>`: the sink reads the channel (DAVE's MLS
          // group id) from the token.
          methods.onVoiceServerUpdate({ guild_id: guildId, token: `peer${guildId}.${payload.d.channel_id}`, endpoint });
        });
      }
      return true;
    },
    destroy() {},
  });
}

async function connectAll(args) {
  const connections = new Array(args.streams);
  let next = 0;
  let ok = 0;
  async function worker() {
    while (next < args.streams) {
      const index = next++;
      const guildId = String(index + 1);
      const connection = joinVoiceChannel({
        guildId,
        channelId: guildId,
        selfDeaf: false,
        adapterCreator: adapterFor(guildId, args.endpoint),
      });
      connection.on('error', (error) => console.error(`guild ${guildId}: ${error.message}`));
      try {
        await entersState(connection, VoiceConnectionStatus.Ready, 60_000);
        connections[index] = connection;
        ok++;
      } catch (error) {
        console.error(`guild ${guildId} did not connect: ${error.message}`);
        connection.destroy();
      }
    }
  }
  await Promise.all(Array.from({ length: CONNECT_CONCURRENCY }, worker));
  return { connections, ok };
}

function resource(args) {
  if (args.input === 'passthrough') {
    return createAudioResource(fs.createReadStream(args.file), { inputType: StreamType.OggOpus });
  }
  // Raw PCM (s16le, 48 kHz, stereo): @discordjs/voice encodes it to Opus
  // with prism-media (opusscript here, as no native @discordjs/opus build
  // can be fetched offline).
  return createAudioResource(fs.createReadStream(args.file, { start: WAV_HEADER_LEN }), { inputType: StreamType.Raw });
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  let connections = [];
  const players = [];
  const input = readline.createInterface({ input: process.stdin });
  console.log('hello');
  for await (const line of input) {
    const command = line.trim();
    if (command === 'connect') {
      const result = await connectAll(args);
      connections = result.connections;
      console.log(`connected ${result.ok} ${args.streams - result.ok}`);
    } else if (command === 'play') {
      for (const connection of connections) {
        if (!connection) continue;
        const player = createAudioPlayer({ behaviors: { noSubscriber: NoSubscriberBehavior.Play } });
        player.on('error', (error) => console.error(`player: ${error.message}`));
        connection.subscribe(player);
        player.play(resource(args));
        players.push(player);
      }
      console.log('playing');
    } else if (command === 'quit') {
      break;
    } else {
      console.log(`error: unknown command ${JSON.stringify(command)}`);
    }
  }
  for (const player of players) player.stop(true);
  for (const connection of connections) connection?.destroy();
  process.exit(0);
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
