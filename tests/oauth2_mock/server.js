// The OAuth2 server of tests/py/oauth2_mock.py: oauth2-mock-server (the npm
// package, pinned in package-lock.json beside this file, installed by
// `make deps`), on 127.0.0.1 at an ephemeral port.
//
//   node tests/oauth2_mock/server.js TTL_SECONDS
//
// Prints "PORT <n> <issuer URL>" once listening, then "TOKEN <json>" for each token it
// issues: how the client authenticated (basic or body), its id and secret,
// the scope asked.  Its tokens are JWTs that expire after TTL_SECONDS, and
// its answers say so in expires_in.
const { OAuth2Server } = require('oauth2-mock-server');
const basicAuth = require('basic-auth');

const ttl = Number(process.argv[2] || 3600);

(async () => {
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  server.service.on('beforeTokenSigning', (token) => {
    token.payload.exp = Math.floor(Date.now() / 1000) + ttl;
  });
  server.service.on('beforeResponse', (response, req) => {
    const basic = basicAuth(req);
    response.body.expires_in = ttl;
    console.log('TOKEN ' + JSON.stringify({
      auth: basic ? 'basic' : 'body',
      client_id: basic ? basic.name : req.body.client_id,
      client_secret: basic ? basic.pass : req.body.client_secret,
      scope: req.body.scope,
    }));
  });
  await server.start(0, '127.0.0.1');
  console.log('PORT ' + server.address().port + ' ' + server.issuer.url);
})().catch((e) => { console.error(e); process.exit(1); });
