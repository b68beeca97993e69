// A real, certified OpenID Provider (npm `oidc-provider`) for trygg-oidc's
// integration tests. Test use only: never expose it.
//
//   node provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI [ID_TOKEN_ALG]
//
// Each argument may instead come from the environment: PROVIDER_PORT,
// PROVIDER_CLIENT_ID, PROVIDER_CLIENT_SECRET, PROVIDER_REDIRECT_URI,
// PROVIDER_ID_TOKEN_ALG (RS256, PS256, ES256 or EdDSA; default RS256).
// PORT 0 takes any free port. Once ready it prints `LISTENING <issuer>` on
// stdout. With PROVIDER_EXIT_WITH_STDIN=1 it exits when its standard input
// closes, so a test that dies cannot leave it behind.
//
// Signing keys are generated at start; none is committed. The login page is
// a minimal custom interaction a test drives with plain HTTP:
//
//   GET  /interaction/:uid         the login form (after the authorization request)
//   POST /interaction/:uid/login   login=<account id>[&acr=<acr URI>]
//
// The account id (e.g. `19121212-1212`) becomes the subject and, without
// its '-', `https://id.oidc.se/claim/personalIdentityNumber`. `acr` is the
// first requested `acr_values` entry this provider supports unless the form
// names another. Consent is granted without a page (first-party client).

import { createServer } from 'node:http';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const LOA = [
  'http://id.elegnamnden.se/loa/1.0/loa2',
  'http://id.elegnamnden.se/loa/1.0/loa3',
  'http://id.elegnamnden.se/loa/1.0/loa4',
];
const PIN = 'https://id.oidc.se/claim/personalIdentityNumber';
const COORDINATION = 'https://id.oidc.se/claim/coordinationNumber';
const NATURAL_PERSON_NUMBER = 'https://id.oidc.se/scope/naturalPersonNumber';

const args = process.argv.slice(2);
const port = Number(args[0] ?? process.env.PROVIDER_PORT ?? 0);
const clientId = args[1] ?? process.env.PROVIDER_CLIENT_ID ?? 'trygg';
const clientSecret = args[2] ?? process.env.PROVIDER_CLIENT_SECRET;
const redirectUri = args[3] ?? process.env.PROVIDER_REDIRECT_URI;
const idTokenAlg = args[4] ?? process.env.PROVIDER_ID_TOKEN_ALG ?? 'RS256';

if (!Number.isInteger(port) || !clientSecret || !redirectUri) {
  console.error('usage: node provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI [ID_TOKEN_ALG]');
  process.exit(2);
}

function signingKeys() {
  const kid = (prefix) => `${prefix}-${randomBytes(6).toString('hex')}`;
  const jwk = (type, options) => generateKeyPairSync(type, options).privateKey.export({ format: 'jwk' });
  return [
    // No `alg` on the RSA key: it signs both RS256 and PS256.
    { ...jwk('rsa', { modulusLength: 2048 }), kid: kid('rsa'), use: 'sig' },
    { ...jwk('ec', { namedCurve: 'P-256' }), kid: kid('ec'), use: 'sig', alg: 'ES256' },
    { ...jwk('ed25519'), kid: kid('ed'), use: 'sig', alg: 'EdDSA' },
  ];
}

async function findAccount(ctx, id) {
  return {
    accountId: id,
    async claims() {
      const digits = id.replace(/[^0-9]/g, '');
      const number = digits.length === 12 ? digits : undefined;
      // Day + 60 makes a samordningsnummer.
      const coordination = number && Number(number.slice(6, 8)) > 60;
      return {
        sub: id,
        given_name: 'Tolvan',
        family_name: 'Tolvansson',
        name: 'Tolvan Tolvansson',
        ...(number && !coordination ? { [PIN]: number } : {}),
        ...(coordination ? { [COORDINATION]: number } : {}),
      };
    },
  };
}

function readForm(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => {
      body += chunk;
      if (body.length > 16384) reject(new Error('form too large'));
    });
    req.on('end', () => resolve(new URLSearchParams(body)));
    req.on('error', reject);
  });
}

const escape = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

async function interaction(provider, req, res) {
  const path = new URL(req.url, 'http://localhost').pathname;
  const details = await provider.interactionDetails(req, res);
  const { uid, prompt, params } = details;

  if (prompt.name === 'login') {
    if (req.method === 'POST' && path === `/interaction/${uid}/login`) {
      const form = await readForm(req);
      const login = form.get('login');
      if (!login) {
        res.writeHead(400, { 'content-type': 'text/plain' }).end('login missing');
        return;
      }
      const requested = (params.acr_values ?? '').split(' ').filter((v) => LOA.includes(v));
      const acr = form.get('acr') || requested[0] || LOA[1];
      await provider.interactionFinished(req, res, {
        login: { accountId: login, acr, amr: ['pwd'] },
      }, { mergeWithLastSubmission: false });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
    res.end(`<!doctype html><title>Test login</title>
<form method="post" action="/interaction/${escape(uid)}/login">
<input name="login" value="19121212-1212"><button>Log in</button></form>`);
    return;
  }

  if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    const missing = prompt.details;
    if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
    if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    await provider.interactionFinished(req, res, { consent: { grantId } }, { mergeWithLastSubmission: true });
    return;
  }

  res.writeHead(501, { 'content-type': 'text/plain' }).end(`prompt ${prompt.name} not implemented`);
}

const server = createServer();
server.listen(port, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: [{
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: idTokenAlg,
    }],
    jwks: { keys: signingKeys() },
    acrValues: LOA,
    scopes: ['openid', 'profile', NATURAL_PERSON_NUMBER],
    claims: {
      acr: null,
      auth_time: null,
      sid: null,
      iss: null,
      openid: ['sub'],
      profile: ['given_name', 'family_name', 'name'],
      [NATURAL_PERSON_NUMBER]: [PIN, COORDINATION],
    },
    // Put the scopes' claims in the ID token, as Swedish e-ID brokers do.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, i) => `/interaction/${i.uid}` },
    cookies: { keys: [randomBytes(32).toString('base64url')] },
    findAccount,
    renderError(ctx, out) {
      ctx.type = 'json';
      ctx.body = out;
    },
  });
  const callback = provider.callback();
  server.on('request', (req, res) => {
    if (req.url.startsWith('/interaction/')) {
      interaction(provider, req, res).catch((err) => {
        console.error('interaction failed:', err);
        if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(String(err?.message ?? err));
      });
    } else {
      callback(req, res);
    }
  });
  provider.on('server_error', (ctx, err) => console.error('server_error:', err));
  console.log(`LISTENING ${issuer}`);
});

if (process.env.PROVIDER_EXIT_WITH_STDIN === '1') {
  process.stdin.on('end', () => process.exit(0));
  process.stdin.resume();
}
process.on('SIGTERM', () => process.exit(0));
