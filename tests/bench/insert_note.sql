-- pgbench script of the benchmark (tests/bench/run.sh): the ceiling of
-- create_note.  One transaction, one statement: the API child's create of a
-- note (src/api/api_sql.c, sql_create) with the uid and time it would be given
-- and the payload create_note sends.  pgbench -D owner=<app_user id>.
-- (chr(58) is ":", which pgbench would take for a variable.)
\set n random(1, 1000000000)
WITH n AS (SELECT ('{"title":"Bench note ' || :n || '","content":"A note written by the benchmark, '
    || 'about as long as a short real one. A note written by the benchmark, about as long as a '
    || 'short real one. A note written by the benchmark, about as long as a short real one. "}')::jsonb
    || jsonb_build_object('uid', g.u::text,
      'updatedTs', to_char(timestamp 'epoch' + g.ms * interval '1 millisecond',
        'YYYY-MM-DD"T"HH24' || chr(58) || 'MI' || chr(58) || 'SS.MS"Z"'),
      'sync', jsonb_build_object('version', 1, 'isDeleted', false)) AS p, g.u, g.ms
    FROM (SELECT gen_random_uuid() AS u,
      (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms) g),
  c AS (SELECT p, u, ms, false AS missing, NULL AS pkind, NULL AS puid FROM n),
  ins AS (INSERT INTO note (uid, owner_id, updated_at_ms, version, payload_json, created_at)
    SELECT u, :owner::uuid, ms, 1, p, now() FROM c WHERE NOT missing
    ON CONFLICT (owner_id, uid) DO NOTHING
    RETURNING uid::text, version, updated_at_ms, deleted_at_ms, payload_json::text)
SELECT c.missing, c.pkind, c.puid, ins.* FROM c LEFT JOIN ins ON true;
