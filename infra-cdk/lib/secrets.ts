// The application's secrets. Their values never appear in the template: each
// is created with a random placeholder, and the deployer writes the real value
// afterwards with `aws secretsmanager put-secret-value` (see README).

import { RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';

function setValueHint(what: string): string {
  return (
    `timmybot: ${what}. Created with a random placeholder: set the real value with ` +
    '`aws secretsmanager put-secret-value --secret-id <this secret> --secret-string <value>`.'
  );
}

export class BotSecrets extends Construct {
  readonly discordToken: secretsmanager.Secret;
  readonly discordPublicKey: secretsmanager.Secret;
  readonly tokenEncryptionKey: secretsmanager.Secret;
  /** The deployer's Spotify app (`-c spotify=true`); undefined otherwise. */
  readonly spotify?: { readonly clientId: secretsmanager.Secret; readonly clientSecret: secretsmanager.Secret };

  constructor(scope: Construct, id: string, props: { readonly spotify: boolean } = { spotify: false }) {
    super(scope, id);
    if (props.spotify) {
      // Two secrets, not one JSON secret: the gateway reads each by id, the
      // same way on Secrets Manager as from the local secrets file.
      this.spotify = {
        clientId: new secretsmanager.Secret(this, 'SpotifyClientId', {
          description: setValueHint("your Spotify app's client id (Spotify developer dashboard)"),
          generateSecretString: {},
        }),
        clientSecret: new secretsmanager.Secret(this, 'SpotifyClientSecret', {
          description: setValueHint("your Spotify app's client secret (Spotify developer dashboard)"),
          generateSecretString: {},
        }),
      };
    }

    this.discordToken = new secretsmanager.Secret(this, 'DiscordToken', {
      description: setValueHint('the Discord bot token (developer portal, Bot tab)'),
      generateSecretString: {},
    });
    this.discordPublicKey = new secretsmanager.Secret(this, 'DiscordPublicKey', {
      description: setValueHint('the Discord application public key, 64 hex characters (developer portal, General Information)'),
      generateSecretString: {},
    });
    // A real random key from the start: nothing needs to overwrite it.
    this.tokenEncryptionKey = new secretsmanager.Secret(this, 'TokenEncryptionKey', {
      description:
        'timmybot: key that encrypts stored OAuth tokens (64 random characters, generated at creation). ' +
        'Keep it: data encrypted with it is unreadable without it.',
      generateSecretString: { passwordLength: 64, excludePunctuation: true },
      // The tables are retained with the stack's data; so is the key that
      // decrypts parts of it.
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
