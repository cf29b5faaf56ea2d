"""datasette-apifetch: the apifetch SQLite extension in every connection of
a Datasette instance, with the instance's limits applied and locked.

    datasette data.db -m metadata.json

    # metadata.json
    {"plugins": {"datasette-apifetch": {
        "allow_hosts": ["api.example.com"],
        "profiles": {"ex": {"base_url": "https://api.example.com/v1/", "rate": 10}},
        "defaults": {"cache": "/var/cache/datasette/apifetch.db", "cache_mode": "ttl",
                     "cache_ttl_ms": 300000}}}}

Safe by default: with no configuration nothing can be fetched (no host is
allowed, private addresses are blocked, no environment variable may be read)
and the limits are locked.  Datasette runs queries on a pool of connections;
prepare_connection runs for each one, so every connection gets the same
limits, profiles and defaults.  defaults are the options every query starts
from: a cache named there is the one cache SQL may use (the connections are
locked), shared by every pooled connection when it is a file, and also used
by wide tables stored in the database files.  With no cache named there,
the plugin names one of its own (own_cache): a page view reads a stored wide
table dozens of times, and each read would fetch every URL again.  SQL load_extension() is
switched off again on every connection, also when Datasette's
--load-extension switched it on.
"""
import atexit
import json
import os
import shutil
import sqlite3
import tempfile
import threading

import apifetch
import click
from datasette import hookimpl

PLUGIN = "datasette-apifetch"

# What a connection gets when the configuration does not say otherwise.
DEFAULTS = {
    "allow_hosts": [],            # no host: each must be named (or UNSAFE_allow_any_host)
    "block_private": True,        # no loopback, private, link-local (cloud metadata) addresses
    "allow_env": [],              # ${env:NAME} reads nothing
    "max_requests": 1000,         # per query, retries and redirects included
    "max_total_bytes": 50000000,  # per query, body bytes
    "max_query_ms": 30000,        # per query; Datasette's own sql_time_limit_ms still applies
    "max_concurrency": 20,        # transfers in flight per query, on each pooled connection
}
# The other settings api_fetch_config takes, passed through as given.
PASSED = {"disabled", "ca_file", "defaults"}
UNSAFE_ANY_HOST = "UNSAFE_allow_any_host"
# The policy of the plugin's own cache, when the configuration's defaults
# name no cache: long enough that the many reads of one page view (the count,
# the rows, a few per column for facet suggestions) fetch each URL once, short
# enough that the next page view, a few seconds later, asks the API again.
OWN_CACHE_POLICY = {"cache_mode": "ttl", "cache_ttl_ms": 10000}

_own_cache = None
_own_cache_lock = threading.Lock()


def own_cache():
    """The path of the plugin's own cache file, one per process so that every
    pooled connection shares it.  It lives in a folder of its own made by
    mkdtemp (mode 0700: other users of the machine cannot read the responses)
    and removed when the process exits.  The guard still applies to it as to
    any cache (docs/security.md, "The cache's place in this"): a hit is only
    what the connection's allow_hosts and block_private allow now, and the key
    holds the credentials sent."""
    global _own_cache
    with _own_cache_lock:
        if _own_cache is None:
            folder = tempfile.mkdtemp(prefix="datasette-apifetch-")
            atexit.register(shutil.rmtree, folder, True)
            _own_cache = os.path.join(folder, "cache.db")
        return _own_cache


def settings_from(plugin_config):
    """(config, profiles) for apifetch.load from the plugin's configuration:
    the defaults, what the configuration sets, and always "lock": true.
    Raises ValueError naming what is wrong."""
    if not isinstance(plugin_config or {}, dict):
        raise ValueError(f"{PLUGIN}: the configuration must be an object")
    given = dict(plugin_config or {})
    # A null would pass as "not set" here and as api_fetch_config's null
    # there, which for allow_hosts is every host: opening every host is
    # UNSAFE_allow_any_host's, by name, and no setting means it by a null.
    for name, value in given.items():
        if value is None:
            raise ValueError(f"{PLUGIN}: {name} is null; leave it out for its default"
                             + (f" (every host is {UNSAFE_ANY_HOST}: true)"
                                if name == "allow_hosts" else ""))
    profiles = given.pop("profiles", None)
    unsafe_any_host = given.pop(UNSAFE_ANY_HOST, False)
    if "lock" in given:
        raise ValueError(f"{PLUGIN}: lock is not a setting here: the limits are always locked, "
                         "so that SQL run in Datasette cannot change them")
    unknown = sorted(set(given) - set(DEFAULTS) - PASSED)
    if unknown:
        raise ValueError(f"{PLUGIN}: unknown setting {unknown[0]!r} (known: "
                         f"{', '.join(list(DEFAULTS) + sorted(PASSED))}, profiles, "
                         f"{UNSAFE_ANY_HOST})")
    if not isinstance(unsafe_any_host, bool):      # 1 == True: only true itself opens
        raise ValueError(f"{PLUGIN}: {UNSAFE_ANY_HOST} must be true or false")
    if unsafe_any_host and "allow_hosts" in given:
        raise ValueError(f"{PLUGIN}: give allow_hosts or {UNSAFE_ANY_HOST}, not both")
    if profiles is not None and not isinstance(profiles, dict):
        raise ValueError(f"{PLUGIN}: profiles must be an object of name: options")
    if not isinstance(given.get("defaults", {}), dict):
        raise ValueError(f"{PLUGIN}: defaults must be an object of options (a cache, say: "
                         '{"cache": "/var/cache/datasette/apifetch.db", "cache_mode": "ttl"})')
    config = {**DEFAULTS, **given}
    # A cache bounds what a page view costs; "cache": null in the defaults
    # goes without one, by name.
    defaults = config.get("defaults", {})
    if "cache" not in defaults:
        config["defaults"] = {"cache": own_cache(), **OWN_CACHE_POLICY, **defaults}
    if unsafe_any_host:
        config["allow_hosts"] = None
    config["lock"] = True
    return config, profiles


def load_locked(conn, plugin_config):
    """apifetch on conn with the configuration's limits, locked.  If they
    cannot be applied, apifetch.load has switched fetching off on conn
    before the error, so a connection never keeps apifetch without its
    limits."""
    config, profiles = settings_from(plugin_config)
    try:
        apifetch.load(conn, config=config, profiles=profiles)
    except sqlite3.Error as e:
        raise ValueError(f"{PLUGIN}: {e}") from e


def check_cache(conn):
    """Opens the cache that the configuration's defaults name, if any, so
    that a cache file that cannot be made or read (a missing folder, no
    write permission, not a cache) stops the server at start."""
    settings = json.loads(conn.execute("SELECT api_fetch_config()").fetchone()[0])
    if settings.get("cache") is None:
        return
    try:
        # An empty list fetches nothing but opens the cache, as any query
        # would (api_fetch_cache() itself is refused once locked).
        conn.execute("SELECT count(*) FROM api_fetch('[]')").fetchone()
    except sqlite3.Error as e:
        raise ValueError(f"{PLUGIN}: defaults: {e}") from e


@hookimpl
def startup(datasette):
    # A configuration mistake stops the server here, with its message,
    # instead of failing every query later: as a ClickException, which
    # `datasette serve` prints as one line, "Error: ...", where a
    # ValueError came at the end of a traceback of hundreds of lines.
    for database in [None] + list(datasette.databases):
        plugin_config = datasette.plugin_config(PLUGIN, database=database)
        conn = sqlite3.connect(":memory:")
        try:
            load_locked(conn, plugin_config)
            check_cache(conn)
        except ValueError as e:
            raise click.ClickException(str(e)) from None
        finally:
            conn.close()


@hookimpl
def prepare_connection(conn, database, datasette):
    load_locked(conn, datasette.plugin_config(PLUGIN, database=database))
