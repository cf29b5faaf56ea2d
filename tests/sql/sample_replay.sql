-- CREATE's sampled responses are given to the first scan in place of fetching
-- them again, but only those that match the scan's own first requests: when
-- url_query's rows changed between CREATE and the scan, none match, and none
-- is given (a stale response of another URL under url_index 0 was).
.load ./apifetch
CREATE TABLE ids(id INTEGER);
INSERT INTO ids VALUES (1), (2);
CREATE VIRTUAL TABLE temp.posts USING api_fetch(
  url_query='SELECT ''$BASE/obj?id='' || id FROM ids ORDER BY id', sample=1);
UPDATE ids SET id = 7 WHERE id = 1;
SELECT _url_index, id FROM temp.posts ORDER BY _url_index;
-- When they still match, the sampled one is given, as ever.
CREATE VIRTUAL TABLE temp.same USING api_fetch(
  url_query='SELECT ''$BASE/obj?id='' || id FROM ids ORDER BY id', sample=1);
SELECT _url_index, id FROM temp.same ORDER BY _url_index;
