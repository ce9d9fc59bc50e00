/*
 * Rollups and retention, scheduled by the server's tick and run on a REST
 * worker (with its connection) so that a long one never holds up the loop. The 1-minute rollup is
 * recomputed for the last minutes and for any older span new samples landed
 * in (agents replaying their outbox after an outage), the 1-hour rollup from
 * the 1-minute one; both are upserts, so running them again changes nothing.
 * Retention drops raw samples (whole day partitions on PostgreSQL) and old
 * rollups.
 */
#include <string.h>

#include "server/internal.h"

#define MINUTE 60000ll
#define HOUR 3600000ll
#define DAY 86400000ll
/* recompute at least this far back on every run */
#define RECENT (10 * MINUTE)

void csf__rollup_touch(csf_server *s, int64_t ts)
{
	int64_t cur = __atomic_load_n(&s->rollup_dirty_from, __ATOMIC_RELAXED);

	while (ts < cur &&
	       !__atomic_compare_exchange_n(&s->rollup_dirty_from, &cur, ts, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED))
		;
}

static int run(csf__db *db, const char *sql, int64_t from, int64_t to)
{
	csf__stmt *st;
	int rc = csf__db_stmt(db, &st, sql);

	if (rc)
		return rc;
	csf__db_bind_i64(st, 1, from);
	csf__db_bind_i64(st, 2, to);
	return csf__db_run(st);
}

int csf__rollup_run(csf_server *s, csf__db *db, int64_t now)
{
	static const char *const q_1m =
		"INSERT INTO agent_metrics_1m (agent_id, organization_id, bucket, samples, cpu_avg, cpu_max, "
		"mem_used_avg, mem_used_max, mem_total_max, disk_used_avg, disk_used_max, disk_total_max, net_rx_max, "
		"net_tx_max) SELECT agent_id, organization_id, (\"timestamp\" / 60000) * 60000, count(*), "
		"avg(cpu_usage_percent), max(cpu_usage_percent), avg(memory_used_bytes), max(memory_used_bytes), "
		"max(memory_total_bytes), avg(disk_used_bytes), max(disk_used_bytes), max(disk_total_bytes), "
		"max(network_rx_bytes), max(network_tx_bytes) FROM agent_metrics "
		"WHERE \"timestamp\" >= $1 AND \"timestamp\" < $2 "
		"GROUP BY agent_id, organization_id, (\"timestamp\" / 60000) * 60000 "
		"ON CONFLICT (agent_id, bucket) DO UPDATE SET samples = excluded.samples, cpu_avg = excluded.cpu_avg, "
		"cpu_max = excluded.cpu_max, mem_used_avg = excluded.mem_used_avg, mem_used_max = excluded.mem_used_max, "
		"mem_total_max = excluded.mem_total_max, disk_used_avg = excluded.disk_used_avg, "
		"disk_used_max = excluded.disk_used_max, disk_total_max = excluded.disk_total_max, "
		"net_rx_max = excluded.net_rx_max, net_tx_max = excluded.net_tx_max";
	static const char *const q_1h =
		"INSERT INTO agent_metrics_1h (agent_id, organization_id, bucket, samples, cpu_avg, cpu_max, "
		"mem_used_avg, mem_used_max, mem_total_max, disk_used_avg, disk_used_max, disk_total_max, net_rx_max, "
		"net_tx_max) SELECT agent_id, organization_id, (bucket / 3600000) * 3600000, sum(samples), "
		"sum(cpu_avg * samples) / sum(samples), max(cpu_max), sum(mem_used_avg * samples) / sum(samples), "
		"max(mem_used_max), max(mem_total_max), sum(disk_used_avg * samples) / sum(samples), max(disk_used_max), "
		"max(disk_total_max), max(net_rx_max), max(net_tx_max) FROM agent_metrics_1m "
		"WHERE bucket >= $1 AND bucket < $2 GROUP BY agent_id, organization_id, (bucket / 3600000) * 3600000 "
		"ON CONFLICT (agent_id, bucket) DO UPDATE SET samples = excluded.samples, cpu_avg = excluded.cpu_avg, "
		"cpu_max = excluded.cpu_max, mem_used_avg = excluded.mem_used_avg, mem_used_max = excluded.mem_used_max, "
		"mem_total_max = excluded.mem_total_max, disk_used_avg = excluded.disk_used_avg, "
		"disk_used_max = excluded.disk_used_max, disk_total_max = excluded.disk_total_max, "
		"net_rx_max = excluded.net_rx_max, net_tx_max = excluded.net_tx_max";
	int64_t dirty = __atomic_exchange_n(&s->rollup_dirty_from, INT64_MAX, __ATOMIC_RELAXED);
	int64_t to = now / MINUTE * MINUTE; /* complete minutes only */
	int64_t from = to - RECENT;
	int64_t kept = now - (int64_t)s->o.retention_raw_days * DAY;
	int rc;

	if (dirty < from)
		from = dirty / MINUTE * MINUTE;
	/* not before the raw samples retention keeps, nor in the minute their
	 * cutoff falls in: retention may have taken part of it, and its rollup
	 * would lose those samples */
	if (from < kept)
		from = (kept + MINUTE - 1) / MINUTE * MINUTE;
	rc = csf__db_begin(db);
	if (!rc)
		rc = run(db, q_1m, from, to);
	/* the hours those minutes belong to, the current one included */
	if (!rc)
		rc = run(db, q_1h, from / HOUR * HOUR, (to / HOUR + 1) * HOUR);
	if (!rc)
		rc = csf__db_commit(db);
	if (rc) {
		csf__db_abort(db);
		if (dirty != INT64_MAX)
			csf__rollup_touch(s, dirty); /* try that span again next time */
	}
	return rc;
}

int csf__rollup_resume(csf_server *s)
{
	static const char *const q =
		"SELECT (SELECT max(bucket) FROM agent_metrics_1m), (SELECT min(\"timestamp\") FROM agent_metrics)";
	csf__stmt *st;
	int rc = csf__db_stmt(s->db, &st, q);

	if (!rc && (rc = csf__db_step(st)) == 1) {
		/* from the last minute rolled up before the stop (it may have
		 * missed samples), or from the start if nothing was */
		if (!csf__db_col_null(st, 0))
			csf__rollup_touch(s, csf__db_col_i64(st, 0));
		else if (!csf__db_col_null(st, 1))
			csf__rollup_touch(s, csf__db_col_i64(st, 1));
		rc = 0;
	}
	csf__db_reset(st);
	return rc;
}

int csf__retention_run(csf_server *s, csf__db *db, int64_t now)
{
	static const char *const q_1m = "DELETE FROM agent_metrics_1m WHERE bucket < $1 AND $2 > 0";
	static const char *const q_1h = "DELETE FROM agent_metrics_1h WHERE bucket < $1 AND $2 > 0";
	int dropped = 0;
	int rc;

	/* partitions for today and the next days exist before rows need them */
	rc = csf__db_metrics_partitions_ensure(db, now, 3);
	if (!rc)
		rc = csf__db_metrics_partitions_drop_before(db, now - (int64_t)s->o.retention_raw_days * DAY, &dropped);
	if (!rc)
		rc = run(db, q_1m, now - (int64_t)s->o.retention_1m_days * DAY, 1);
	if (!rc)
		rc = run(db, q_1h, now - (int64_t)s->o.retention_1h_days * DAY, 1);
	if (!rc && dropped)
		csf__log(CSF_LOG_INFO, "server", "retention: dropped %d day(s) of raw metrics", dropped);
	return rc;
}

/* One turn of upkeep on a worker: what the tick found due. */
typedef struct upkeep {
	csf__pool_job base;
	csf_server *s;
	int64_t now;
	int rollup, retention;
} upkeep;

static void upkeep_run(csf__pool_job *base, void *worker)
{
	upkeep *u = (upkeep *)base;

	if (u->rollup && csf__rollup_run(u->s, worker, u->now) != 0)
		csf__log(CSF_LOG_WARN, "server", "rollup: %s", csf_error_last()->message);
	if (u->retention && csf__retention_run(u->s, worker, u->now) != 0)
		csf__log(CSF_LOG_WARN, "server", "retention: %s", csf_error_last()->message);
}

static void upkeep_finish(csf__pool_job *base, int dropped)
{
	upkeep *u = (upkeep *)base;

	if (!dropped)
		u->s->upkeep_running = 0;
	csf__free(u);
}

void csf__upkeep_tick(csf_server *s, uint64_t mono, int64_t now)
{
	int rollup = mono - s->last_rollup_ms >= 60000;
	int retention = !s->last_retention_ms || mono - s->last_retention_ms >= 3600000;
	upkeep *u;

	if (s->upkeep_running || !(rollup || retention))
		return; /* one turn at a time: a long one delays the next */
	u = csf__calloc(1, sizeof(*u));
	if (!u)
		return; /* the next tick tries again */
	u->base.run = upkeep_run;
	u->base.finish = upkeep_finish;
	u->s = s;
	u->now = now;
	u->rollup = rollup;
	u->retention = retention;
	if (rollup)
		s->last_rollup_ms = mono;
	if (retention)
		s->last_retention_ms = mono;
	s->upkeep_running = 1;
	csf__net_server_submit(s->http, &u->base);
}
