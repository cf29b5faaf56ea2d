"""apifetch: the apifetch SQLite extension, for Python's sqlite3.

    import sqlite3, apifetch
    conn = sqlite3.connect(":memory:")
    apifetch.load(conn)
    conn.execute("SELECT api_fetch_version()").fetchone()

    # limits for SQL that is not yours, and named options, locked:
    apifetch.load(conn, config={"allow_hosts": ["api.example.com"], "block_private": True,
                                "max_requests": 1000, "lock": True},
                  profiles={"crm": {"base_url": "https://api.example.com/v1/", "rate": 10}})

The module in this package links the system's libcurl (Debian 12:
apt-get install libcurl4) and carries its own libcjson (apifetch.libs/).
"""
import json
import os
import sqlite3

from ._version import __version__

__all__ = ["__version__", "loadable_path", "load"]


def loadable_path():
    """The path of the compiled module, for sqlite3's load_extension(), or
    for hosts that take a path: datasette --load-extension,
    sqlite-utils --load-extension, better-sqlite3's loadExtension()."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "apifetch.so")


def load(conn, config=None, profiles=None):
    """Loads apifetch into conn (a sqlite3.Connection), then applies config
    (the connection's limits: allow_hosts, block_private, max_requests, ...,
    "lock": True to freeze them) and profiles ({name: options}) in one call of
    api_fetch_config().

    Loading needs SQLite's extension loading switched on for a moment: it is
    switched off again afterwards, also when loading fails, so SQL run on the
    connection later cannot call load_extension() (if you need it on, turn it
    on again yourself).

    A config or profiles that is not a dict raises TypeError before anything
    is loaded.  A bad setting raises sqlite3.OperationalError with
    api_fetch_config's message, and leaves the connection unable to fetch:
    the module is loaded by then and cannot be unloaded, so fetching is
    switched off and the settings locked ({"disabled": true, "lock": true})
    before the error is raised, rather than leaving apifetch there without
    the limits asked for.  (A connection whose settings were locked before,
    by an earlier load() or APIFETCH_CONFIG, keeps those.)"""
    for name, value in (("config", config), ("profiles", profiles)):
        if value is not None and not isinstance(value, dict):
            raise TypeError(f"apifetch.load: {name} must be a dict or None, "
                            f"not {type(value).__name__}")
    conn.enable_load_extension(True)
    try:
        conn.load_extension(loadable_path())
    except Exception as e:
        if "cannot open shared object file" in str(e) and "apifetch.so" not in str(e):
            raise type(e)(f"{e} (the apifetch module links the system's libcurl: "
                          "on Debian, apt-get install libcurl4)") from e
        raise
    finally:
        conn.enable_load_extension(False)
    settings = dict(config or {})
    if profiles is not None:
        settings["profiles"] = profiles
    if config is None and profiles is None:
        return
    try:
        conn.execute("SELECT api_fetch_config(?)", (json.dumps(settings),)).fetchone()
    except Exception:
        # Not json.dumps' errors alone: anything that stops the settings
        # from applying leaves the connection fetching nothing.
        try:
            conn.execute("""SELECT api_fetch_config('{"disabled": true, "lock": true}')""")
        except sqlite3.Error:
            pass            # locked already: the limits are the ones that locked it
        raise
