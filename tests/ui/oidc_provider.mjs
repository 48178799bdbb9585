// A real OpenID Provider for the login tests (npm oidc-provider): discovery, JWKS, the
// authorization code flow with PKCE, its own login page, RP-initiated logout. Test accounts
// only; the login name is the account id and any password is taken.
//
//   node oidc_provider.mjs <port> <redirect_uri> <post_logout_redirect_uri>
import Provider from 'oidc-provider';

const [port, redirectUri, postLogoutUri] = process.argv.slice(2);

// Claims the register maps: the agency (a slug of its registry) and the roles.
const accounts = {
  'anna.oidc': { name: 'Anna Lindqvist', agency: 'socialtjanst-orebro', roles: ['social_secretary'] },
  'okand.oidc': { name: 'Okänd Verksamhet', agency: 'ingen-sadan', roles: ['social_secretary'] },
  'utan.roll': { name: 'Utan Roll', agency: 'socialtjanst-orebro', roles: ['superuser'] },
};

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [{
    client_id: 'sig-register',
    client_secret: 'only-for-the-tests',
    redirect_uris: [redirectUri],
    post_logout_redirect_uris: [postLogoutUri],
    grant_types: ['authorization_code'],
    response_types: ['code'],
  }],
  claims: { openid: ['sub'], profile: ['name', 'agency', 'roles'] },
  // The register reads the claims from the ID token, as it does from Entra ID.
  conformIdTokenClaims: false,
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
  cookies: { keys: ['only-for-the-tests'] },
  async findAccount(ctx, id) {
    return { accountId: id, async claims() { return { sub: id, ...(accounts[id] || {}) }; } };
  },
  // A first-party client: no consent screen, as at a municipality's own provider.
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile');
    grant.addOIDCClaims(['name', 'agency', 'roles']);
    await grant.save();
    return grant;
  },
});

provider.listen(Number(port), '127.0.0.1', () => {
  console.log(`ready http://127.0.0.1:${port}`);
});
