// A real OpenID Provider issuing API access tokens (npm oidc-provider): the client credentials
// grant, JWT access tokens (RFC 9068, `typ: at+jwt`) for the register's audience carrying the
// claims API.md §2 names, its signing keys from a file, and `Cache-Control` on its JWKS as a
// provider in production sends it. Rotating its keys = starting it again with a new first key.
//
//   node oidc_keys_provider.mjs new-key <kid>          # prints a private Ed25519 JWK
//   node oidc_keys_provider.mjs serve <port> <keys.json> <audience>
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import Provider from 'oidc-provider';

const [mode, ...args] = process.argv.slice(2);

if (mode === 'new-key') {
  const jwk = generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });
  console.log(JSON.stringify({ ...jwk, kid: args[0], alg: 'EdDSA', use: 'sig' }));
  process.exit(0);
}

const [port, keysPath, audience] = args;
// The first key signs; the others are published for tokens signed before.
const keys = JSON.parse(readFileSync(keysPath, 'utf8'));

const provider = new Provider(`http://127.0.0.1:${port}`, {
  jwks: { keys },
  clients: [{
    client_id: 'polisens-system',
    client_secret: 'only-for-the-tests',
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
  }],
  enabledJWA: { idTokenSigningAlgValues: ['EdDSA'] },
  clientDefaults: { id_token_signed_response_alg: 'EdDSA' },
  features: {
    devInteractions: { enabled: false },
    clientCredentials: { enabled: true },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => audience,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({
        scope: 'api',
        audience,
        accessTokenFormat: 'jwt',
        accessTokenTTL: 900,
        jwt: { sign: { alg: 'EdDSA' } },
      }),
    },
  },
  // The register's claims (API.md §2); `nbf` too, which it requires.
  async extraTokenClaims() {
    return {
      nbf: Math.floor(Date.now() / 1000) - 5,
      name: 'Per Polis',
      agency: 'polisen-orebro',
      roles: ['police_officer'],
    };
  },
});

provider.use(async (ctx, next) => {
  await next();
  if (ctx.path === '/jwks') ctx.set('Cache-Control', 'public, max-age=600');
});

provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`ready http://127.0.0.1:${port}`);
});
