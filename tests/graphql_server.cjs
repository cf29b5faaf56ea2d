// tests/graphql_server.cjs - json-graphql-server (npm, by marmelab) on
// 127.0.0.1, an ephemeral port, for tests/py/graphql.py.
//
//   node tests/graphql_server.cjs DATA.json
//
// Prints the port on its first line once it listens.  The package's own
// bin takes a port but cannot say which one an ephemeral 0 became; this is
// the bin's few lines with listen(0), nothing else of ours.
const path = require('path');
const mods = path.join(__dirname, 'npm', 'node_modules');
const express = require(path.join(mods, 'express'));
const { jsonGraphqlExpress } = require(path.join(mods, 'json-graphql-server', 'dist',
                                                 'json-graphql-server-node.cjs'));
const data = require(path.resolve(process.argv[2]));
const app = express();
app.use('/', jsonGraphqlExpress(data));
const server = app.listen(0, '127.0.0.1', () => {
  console.log(server.address().port);
});
