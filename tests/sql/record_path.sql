-- record_path picks the array of records inside each response.
.load ./apifetch
.headers on
SELECT record_index, data FROM api_fetch('["$BASE/wrap?n=3"]', 1, '{"record_path": "data.items"}');
-- The same as an array of keys (for keys that contain dots).
SELECT count(*) FROM api_fetch('["$BASE/wrap?n=3"]', 1, '{"record_path": ["data", "items"]}');
-- A top-level array: the path is followed in each element, records numbered across them.
SELECT record_index, data FROM api_fetch(
  '["$BASE/raw?body=%5B%7B%22r%22%3A%5B1%2C2%5D%7D%2C%7B%22r%22%3A%5B3%5D%7D%5D"]', 1,
  '{"record_path": "r"}');
-- A missing path or one that is not an array gives an error row, not a silent drop.
SELECT url_index, error, data FROM api_fetch('["$BASE/wrap?n=1", "$BASE/wrap?n=1"]', 1,
  '{"record_path": "data.nothing"}') ORDER BY url_index;
SELECT error FROM api_fetch('["$BASE/wrap?n=1"]', 1, '{"record_path": "meta"}');
SELECT error FROM api_fetch('["$BASE/wrap?n=1"]', 1, '{"record_path": "meta.page.x"}');
SELECT error FROM api_fetch(
  '["$BASE/raw?body=%5B%7B%22r%22%3A%5B1%5D%7D%2C%7B%7D%5D"]', 1, '{"record_path": "r"}');
-- Through an array on the way, as json_normalize does: the items of every group.
SELECT data FROM api_fetch('["$BASE/raw?body={\"g\":[{\"i\":[1,2]},{\"i\":null},{\"i\":[3]}]}"]', 1,
  '{"record_path": "g.i"}');
