#!/bin/bash
# Kill an import of FILE after SECONDS (kill -9 of its process group, the phone helper too), run the same
# command again, and print what a correct resume must show (docs/benchmarks.md, "Session 7").
#
#   bench/import_kill_check.sh SECONDS [FILE]     e.g. bench/import_kill_check.sh 30
#
# Uses a throwaway database kill_check_SECONDS on the PostgreSQL server at PGHOST/PGPORT (default
# 127.0.0.1:5432, user postgres), and drops it at the end (KEEP_DB=1 keeps it).
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=$1
file=${2:-bench/out/channel_1000000_200000_7.csv}
host=${PGHOST:-127.0.0.1} port=${PGPORT:-5432}
db=kill_check_$seconds
sql() { psql -X -q -At -h "$host" -p "$port" -U postgres "$@"; }
export DEBUG=1 DATABASE_URL="postgresql://postgres@$host:$port/$db"
sql -d postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" -c "CREATE DATABASE $db"
.venv/bin/python manage.py migrate -v0
.venv/bin/python manage.py create_source bench --kind web > /dev/null 2>&1

setsid .venv/bin/python manage.py import_channel_data "$file" --source bench > /dev/null 2>&1 &
pid=$!
sleep "$seconds"
echo "killed after $seconds s, during: $(sql -d "$db" -c "SELECT stage FROM profiles_importjob")"
kill -9 -- "-$pid"
wait "$pid" 2>/dev/null || true
sql -d "$db" -c "SELECT 'committed: ' || (SELECT count(*) FROM profiles_touchpoint) || ' touchpoints, '
  || (SELECT count(*) FROM profiles_customer) || ' customers, ' || (SELECT count(*) FROM profiles_identifier)
  || ' identifiers'"

.venv/bin/python manage.py import_channel_data "$file" --source bench | tail -1
sql -d "$db" <<'SQL'
SELECT 'job ' || status || ', counts add up: ' || (rows = imported + updated + duplicates + rejected) FROM profiles_importjob;
SELECT 'touchpoints ' || count(*) || ', distinct events ' || count(DISTINCT (source_id, external_id)) FROM profiles_touchpoint;
SELECT 'live customers ' || count(*) || ', identifiers ' || (SELECT count(*) FROM profiles_identifier)
  FROM profiles_customer WHERE merged_into_id IS NULL;
SELECT 'touchpoints without customer ' || count(*) FROM profiles_touchpoint t
  WHERE NOT EXISTS (SELECT 1 FROM profiles_customer c WHERE c.id = t.customer_id);
SELECT 'identifiers without customer ' || count(*) FROM profiles_identifier i
  WHERE NOT EXISTS (SELECT 1 FROM profiles_customer c WHERE c.id = i.customer_id);
SELECT 'customers without identifier ' || count(*) FROM profiles_customer c
  WHERE NOT EXISTS (SELECT 1 FROM profiles_identifier i WHERE i.customer_id = c.id);
SELECT 'live customers without summary ' || count(*) FROM profiles_customer c
  WHERE merged_into_id IS NULL AND NOT EXISTS (SELECT 1 FROM profiles_customersummary s WHERE s.customer_id = c.id);
SELECT 'orders / visits in the summaries ' || sum(order_count) || ' / ' || sum(visit_count) FROM profiles_customersummary;
SQL
[ "${KEEP_DB:-}" = 1 ] || sql -d postgres -c "DROP DATABASE $db WITH (FORCE)"
