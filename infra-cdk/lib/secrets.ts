// The application's secrets: ONE Secrets Manager secret whose value is a JSON
// object of named entries, the same names as the local secrets file
// (`discord-token`, `discord-public-key`, `token-encryption-key`, …). One
// secret costs $0.40 a month, one per value three times that.
//
// No real value ever appears in the template: the secret is generated from a
// template of placeholders, and the deployer writes the real entries
// afterwards (docs/deploy.md, "Set the secret values").

import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

/** Entry names inside the application secret, as the Rust readers spell them. */
export const APP_SECRET_ENTRIES = {
  discordToken: 'discord-token',
  discordPublicKey: 'discord-public-key',
  tokenEncryptionKey: 'token-encryption-key',
  spotifyClientId: 'spotify-client-id',
  spotifyClientSecret: 'spotify-client-secret',
} as const;

/**
 * What an entry holds until the deployer sets it. Not a value the readers
 * accept: the public key is not 64 hex characters and Discord refuses the
 * token, so a forgotten entry fails loudly instead of half working.
 */
export function placeholder(entry: string): string {
  return `set-me:${entry}`;
}

export class BotSecrets extends Construct {
  /** The application secret; every component reads its entries from it. */
  readonly app: secretsmanager.Secret;
  /** Whether the template lists the Spotify app's entries (`-c spotify=true`). */
  readonly spotify: boolean;

  constructor(scope: Construct, id: string, props: { readonly spotify: boolean } = { spotify: false }) {
    super(scope, id);
    this.spotify = props.spotify;
    const e = APP_SECRET_ENTRIES;
    const template: Record<string, string> = {
      [e.discordToken]: placeholder(e.discordToken),
      [e.discordPublicKey]: placeholder(e.discordPublicKey),
    };
    if (props.spotify) {
      // Blank until set: the gateway reads a blank entry as "Spotify not set up".
      template[e.spotifyClientId] = '';
      template[e.spotifyClientSecret] = '';
    }
    this.app = new secretsmanager.Secret(this, 'App', {
      description:
        'timmybot: the application secrets, one JSON object (discord-token, discord-public-key, ' +
        'token-encryption-key' +
        (props.spotify ? ', spotify-client-id, spotify-client-secret' : '') +
        '). Created with placeholders and a generated token-encryption-key: set the other entries ' +
        'with `aws secretsmanager put-secret-value` or the console (docs/deploy.md), keeping token-encryption-key.',
      generateSecretString: {
        secretStringTemplate: JSON.stringify(template),
        // A real random key from the start: nothing needs to overwrite it.
        generateStringKey: e.tokenEncryptionKey,
        passwordLength: 64,
        excludePunctuation: true,
      },
      // The tables are retained with the stack's data; so is the key that
      // decrypts parts of it, which lives in this secret.
      removalPolicy: RemovalPolicy.RETAIN,
    });

    Validations.of(this).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'No automatic rotation: the Discord token and public key are issued by Discord and changed by hand in its ' +
        'developer portal (no API a rotation Lambda could call); rotating the token-encryption key needs a ' +
        're-encryption of stored tokens that the application does not implement yet.',
    });
  }
}
